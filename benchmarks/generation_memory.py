"""Peak memory and time of one Monte-Carlo solve phase, with and without a token bound per
generate call (`rollout.batch_tokens`).

A self-play step's largest generation is the Monte-Carlo phase: every valid proposal solved
`mc_rollouts` times, up to `rollout.batch_size` completions per call, each holding its padded
prompt and its new tokens in the KV cache. This benchmark builds that phase from the main
config's environment (notes, tool prompts for calculations, guided calls and options, 13 tasks
x 4 rollouts, 128 new tokens at most), runs it once per bound, each in a fresh process, one after
the other, and prints the process's peak resident set above the loaded model, the phase's time,
and the ratios to the first variant.

    .venv/bin/python benchmarks/generation_memory.py                    # bounds 0 (none), 24576, 12288
    .venv/bin/python benchmarks/generation_memory.py --bounds 0 16384 --tasks 13 --rollouts 4

Run time: about a minute per variant with native bf16 on 2 cores. Other load on the machine moves
the times: compare figures of one run only. Limits: one phase, sampled at temperature 1, so the
variants' completions (and how early rows finish) differ; the peak is VmHWM (Linux).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_flags  # noqa: E402


def phase(bound: int, tasks: int, rollouts: int, batch_size: int, config: str) -> dict:
    """One Monte-Carlo phase in this process: peak RSS above the loaded model, and seconds."""
    import torch

    from azmed.envs import make_env
    from azmed.generation import generate
    from azmed.memory import process_memory, release_memory
    from azmed.model import load_policy
    from azmed.selfplay.config import load_config

    cfg = load_config(config)
    torch.manual_seed(0)
    policy = load_policy(cfg.model, lora=cfg.lora, trainable=True)
    env = make_env("clinical", **cfg.envs["clinical"].options)
    rng = random.Random(0)
    picked = env.sample_tasks("calculation", tasks - tasks // 3, rng) + env.sample_tasks("diagnosis", tasks // 3, rng)
    prompts = [policy.chat(env.solve_prompt(t)) for t in picked]
    guides = [env.solve_guide(t) for t in picked]
    release_memory()
    base = process_memory()["rss_mb"]
    t0 = time.perf_counter()
    outs = generate(policy, prompts, max_new_tokens=128, temperature=1.0, batch_size=batch_size, repeats=rollouts,
                    guides=guides, batch_tokens=bound)
    dt = time.perf_counter() - t0
    return {"bound": bound, "seconds": round(dt, 1), "peak_above_model_mb": process_memory()["peak_rss_mb"] - base,
            "model_rss_mb": base, "completions": len(outs),
            "prompt_tokens_max": max(len(o.prompt_ids) for o in outs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "clinical.yaml"))
    ap.add_argument("--bounds", type=int, nargs="+", default=[0, 24576, 12288])
    ap.add_argument("--tasks", type=int, default=13)
    ap.add_argument("--rollouts", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=48)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a variant, in a child process
    a = ap.parse_args()
    if a.one is not None:
        print(json.dumps(phase(a.one, a.tasks, a.rollouts, a.batch_size, a.config)))
        return
    print(f"CPU flags: {cpu_flags() or 'none'}; {a.tasks} tasks x {a.rollouts} rollouts, "
          f"batch_size {a.batch_size}, config {Path(a.config).name}")
    rows = []
    for bound in a.bounds:
        out = subprocess.run([sys.executable, __file__, "--one", str(bound), "--tasks", str(a.tasks), "--rollouts",
                              str(a.rollouts), "--batch-size", str(a.batch_size), "--config", a.config],
                             check=True, cwd=ROOT, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    first = rows[0]
    print(f"{'batch_tokens':>12} {'peak above model MB':>20} {'x':>6} {'seconds':>8} {'x':>6}")
    for r in rows:
        print(f"{r['bound'] or 'none':>12} {r['peak_above_model_mb']:>20} "
              f"{r['peak_above_model_mb'] / max(first['peak_above_model_mb'], 1):>6.2f} {r['seconds']:>8} "
              f"{r['seconds'] / first['seconds']:>6.2f}")
    print(f"model loaded: {first['model_rss_mb']} MB; longest prompt {first['prompt_tokens_max']} tokens")


if __name__ == "__main__":
    main()
