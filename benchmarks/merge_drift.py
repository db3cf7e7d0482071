"""Do the frozen fp32 base weights stay exact when the LoRA is merged in and out around every
generation (`azmed.generation.merged_lora`) while the adapter changes, as it does in a run?

    .venv/bin/python benchmarks/merge_drift.py [--adapter docs/results/clinical/adapter] [--merges 200]

Loads the model with the adapter, keeps a copy of every LoRA-wrapped base weight, then merges and
unmerges `--merges` times, scaling the adapter's B matrices by 1 + 0.001 k before merge k (an
adapter that moves a little each step), and prints the largest change of a base weight and how
many changed. With a fixed adapter one merge changes some weights by one float32 step and later
merges change nothing more; with a moving one the changes accumulate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from azmed.generation import merged_lora
    from azmed.model import ModelSpec, load_policy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adapter", default=str(ROOT / "docs" / "results" / "clinical" / "adapter"))
    ap.add_argument("--merges", type=int, default=200)
    args = ap.parse_args()
    policy = load_policy(ModelSpec(), adapter=args.adapter)
    base = {n: t.detach().clone() for n, t in policy.model.named_parameters() if "base_layer.weight" in n}
    lora_b = [t for n, t in policy.model.named_parameters() if "lora_B" in n]
    orig = [t.detach().clone() for t in lora_b]
    total = sum(t.numel() for t in base.values())
    marks = {1, 10, 50, args.merges}
    for k in range(1, args.merges + 1):
        with torch.no_grad():
            for t, o in zip(lora_b, orig):
                t.copy_(o * (1 + 0.001 * k))
        with merged_lora(policy):
            pass
        if k in marks:
            worst = max((policy.model.get_parameter(n) - t).abs().max().item() for n, t in base.items())
            changed = sum((policy.model.get_parameter(n) != t).sum().item() for n, t in base.items())
            print(f"[drift] after {k} merges with a moving adapter: largest change of a base weight {worst:.3g}, "
                  f"base weights changed {changed:,} of {total:,}")


if __name__ == "__main__":
    main()
