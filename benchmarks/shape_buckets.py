"""Resident memory and step time over a short run, with and without padding to a multiple.

On a CPU with native bf16, torch runs bf16 matmuls through oneDNN, which builds (and caches) a
kernel for every distinct input shape; a run whose prompts and micro-batches come in every
length makes new ones at every step, and the process's resident set grows step after step.
`model.pad_multiple` pads every prompt batch (generation) and every micro-batch (update) to a
multiple of that many positions, so the same few shapes recur. This benchmark runs the real
trainer (`azmed train`, the main config, the embedded model) for a few warm-up steps and a few
self-play steps once per variant, each in a fresh process, one after the other, and prints each
step's resident set (after the step's release of freed memory), the process's peak and the step
time, side by side, with the ratios to the first variant.

    .venv/bin/python benchmarks/shape_buckets.py                      # pad_multiple 1 vs 64
    .venv/bin/python benchmarks/shape_buckets.py --warmup 4 --selfplay 3 --multiples 1,32,64

Run time: (warm-up + self-play steps) x variants main-config steps (about a minute each with
native bf16, 2 cores), plus a model load per variant. Other load on the machine moves the times:
compare figures of one run only.

Limits: a short run; the growth it shows over a few steps is what a long run would keep adding
until oneDNN's cache (1,024 kernels by default) is full. The steps of the variants draw the same
seeds, but padding changes bf16 rounding, so their samples, and so their later steps' work, can
differ slightly.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_flags  # noqa: E402


def run_variant(multiple: int, warmup: int, selfplay: int, config: str, overrides: list[str]) -> tuple[list[dict], float]:
    """metrics.jsonl records of a short run with `model.pad_multiple=multiple`, and its wall time."""
    with tempfile.TemporaryDirectory(prefix=f"shape-buckets-{multiple}-") as out:
        cmd = [sys.executable, "-m", "azmed.cli", "train", "--env", "clinical", "--config", config,
               f"run.out_dir={out}", f"model.pad_multiple={multiple}", f"selfplay.warmup.steps={warmup}",
               f"trainer.steps={warmup + selfplay}", "eval.at_end=false", "trainer.time_budget_min=null",
               f"run.checkpoint_every={warmup + selfplay + 1}", *overrides]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        return [json.loads(line) for line in Path(out, "metrics.jsonl").read_text().splitlines()], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "clinical.yaml"))
    ap.add_argument("--warmup", type=int, default=3, help="warm-up steps (demonstrations) per variant")
    ap.add_argument("--selfplay", type=int, default=2, help="self-play steps per variant")
    ap.add_argument("--multiples", default="1,64", help="model.pad_multiple of each variant, the first is the baseline")
    ap.add_argument("overrides", nargs="*", help="dotted overrides for every variant")
    args = ap.parse_args()
    multiples = [int(m) for m in args.multiples.split(",")]
    print(f"CPU flags: {cpu_flags()}; {args.warmup} warm-up + {args.selfplay} self-play steps per variant; "
          f"config {Path(args.config).name}")
    results = {m: run_variant(m, args.warmup, args.selfplay, args.config, args.overrides) for m in multiples}
    print(f"\n{'step':>4} {'phase':>9} " + " ".join(f"{'pad ' + str(m) + ': rss MB / s':>24}" for m in multiples))
    for k in range(args.warmup + args.selfplay):
        cells = []
        for m in multiples:
            r = results[m][0][k]
            cells.append(f"{r['memory']['rss_mb']:>14} / {r['time']['total']:>6.1f}")
        print(f"{k + 1:>4} {results[multiples[0]][0][k]['phase']:>9} " + " ".join(f"{c:>24}" for c in cells))
    base = multiples[0]
    print()
    for m in multiples:
        recs, wall = results[m]
        rss = [r["memory"]["rss_mb"] for r in recs]
        peak = max(r["memory"]["peak_rss_mb"] for r in recs)
        warm = [r["time"]["total"] for r in recs if r["phase"] == "warmup"]
        play = [r["time"]["total"] for r in recs if r["phase"] != "warmup"]
        b_recs, b_wall = results[base]
        b_peak = max(r["memory"]["peak_rss_mb"] for r in b_recs)
        b_warm = sum(r["time"]["total"] for r in b_recs if r["phase"] == "warmup")
        print(f"pad_multiple {m}: RSS first step {rss[0]} MB, last {rss[-1]} MB (growth {rss[-1] - rss[0]:+} MB); "
              f"peak {peak} MB ({peak / b_peak:.2f}x pad {base}); warm-up steps {sum(warm):.1f} s "
              f"({sum(warm) / b_warm:.2f}x); self-play steps {sum(play):.1f} s; wall {wall:.0f} s")


if __name__ == "__main__":
    main()
