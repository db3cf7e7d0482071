"""Evaluation throughput: items per second of the `sim-heldout` and `medcalc` suites at the
harness's batch size against one-at-a-time generation, in the same process, on the same items.

    .venv/bin/python benchmarks/eval_throughput.py [--items 32] [--batch-size 16] [--model embedded]

Each suite runs through `azmed.eval.harness.run_suite` exactly as `azmed eval` runs it
(length-sorted batches, greedy decoding, scoring included), once with `--batch-size` (default:
the harness's `EvalConfig.batch_size`) and once with batch 1; the order alternates by suite so
neither setting always runs on a warmer machine. It also reports how many answers differ
between the two (greedy decoding can flip on near-ties when padding changes the numerics).

Limits: CPU threads as torch sets them; on a machine shared with other jobs the figures move
with the load, so compare the two columns of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path and benchmarks/simulator.py would shadow
# the `simulator` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from azmed.eval.config import EvalConfig  # noqa: E402
from azmed.eval.harness import make_suite, run_suite  # noqa: E402
from azmed.model import ModelSpec, load_policy  # noqa: E402


def measure(suite, policy, items, batch_size: int, max_batch_tokens: int) -> tuple[float, list[str], dict]:
    """(items per second, the raw answers in item order, the suite summary)."""
    t0 = time.perf_counter()
    run = run_suite(suite, policy, limit=None, batch_size=batch_size, max_batch_tokens=max_batch_tokens,
                    progress=False, items=items)
    seconds = time.perf_counter() - t0
    return len(items) / seconds, [r["raw_answer"] for r in run.records], run.summary


def main() -> None:
    defaults = EvalConfig()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=32, help="items per suite (default 32)")
    ap.add_argument("--batch-size", type=int, default=defaults.batch_size,
                    help=f"batched setting (default: the harness's, {defaults.batch_size})")
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--suites", nargs="+", default=["sim-heldout", "medcalc"])
    a = ap.parse_args()
    cfg = EvalConfig(model=ModelSpec(name=a.model), limit=a.items, progress=False)
    policy = load_policy(cfg.model)
    print(f"model {a.model}, {a.items} items per suite, batch {a.batch_size} vs 1, "
          f"max_batch_tokens {cfg.max_batch_tokens}", flush=True)
    for k, name in enumerate(a.suites):
        suite = make_suite(name, cfg)
        try:
            items = suite.items(a.items)
            run_suite(suite, policy, limit=None, batch_size=a.batch_size, max_batch_tokens=cfg.max_batch_tokens,
                      progress=False, items=items[:2])  # warm-up: first-call allocations
            order = [a.batch_size, 1] if k % 2 == 0 else [1, a.batch_size]
            rates, answers = {}, {}
            for bs in order:
                rates[bs], answers[bs], summary = measure(suite, policy, items, bs, cfg.max_batch_tokens)
                metric, value = next(iter(summary["metrics"].items()))
                print(f"{name:12s} batch {bs:3d}: {rates[bs]:6.3f} items/s  ({len(items)} items, prompt "
                      f"{summary['prompt_tokens_mean']:.0f} tokens mean, {summary['generate_seconds']:.1f}s "
                      f"generating, {metric} {value:.3f})", flush=True)
            differ = sum(x != y for x, y in zip(answers[a.batch_size], answers[1]))
            print(f"{name:12s} speed-up batch {a.batch_size} / batch 1: {rates[a.batch_size] / rates[1]:.2f}x; "
                  f"{differ} of {len(items)} answers differ between the two", flush=True)
        finally:
            suite.close()


if __name__ == "__main__":
    main()
