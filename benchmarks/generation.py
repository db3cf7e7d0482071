"""Generation throughput of the embedded model: tokens/s at several batch sizes, fp32 vs
bf16 autocast, and with a LoRA merged vs unmerged during generation.

    .venv/bin/python benchmarks/generation.py [--batches 1 32] [--new 128] [--prompt-tokens 150]

Every sequence is forced to its full length (eos suppressed) so the figures measure the
decoder, not where the model happens to stop. Limits: CPU threads as torch sets them.
"""

from __future__ import annotations

import argparse
import time

import torch

from azmed.model import LoraSpec, ModelSpec, load_policy
from azmed.generation import merged_lora


def bench(policy, batch: int, prompt_tokens: int, new: int, merge: bool) -> float:
    ids = torch.randint(100, 20000, (batch, prompt_tokens))
    mask = torch.ones_like(ids)
    ctx = merged_lora(policy) if merge else torch.no_grad()
    with ctx, torch.inference_mode(), policy.autocast():
        t0 = time.perf_counter()
        out = policy.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new,
                                    do_sample=True, top_k=0, temperature=1.0,
                                    pad_token_id=policy.tokenizer.pad_token_id)
        dt = time.perf_counter() - t0
    return batch * (out.shape[1] - prompt_tokens) / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=150)
    ap.add_argument("--lora", action="store_true", help="also measure a LoRA r=16 merged vs unmerged")
    a = ap.parse_args()
    for dtype in ("float32", "bfloat16"):
        policy = load_policy(ModelSpec(dtype=dtype))
        bench(policy, 2, 16, 4, merge=False)  # warm-up
        for b in a.batches:
            print(f"{dtype:9s} batch {b:3d}: {bench(policy, b, a.prompt_tokens, a.new, False):7.1f} tok/s", flush=True)
        if a.lora:
            policy = load_policy(ModelSpec(dtype=dtype), lora=LoraSpec(), trainable=True)
            for b in a.batches:
                for merge in (False, True):
                    tps = bench(policy, b, a.prompt_tokens, a.new, merge)
                    print(f"{dtype:9s} batch {b:3d} LoRA {'merged  ' if merge else 'unmerged'}: {tps:7.1f} tok/s",
                          flush=True)


if __name__ == "__main__":
    main()
