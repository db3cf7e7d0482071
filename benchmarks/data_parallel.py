"""Data-parallel self-play: N processes against one process on the same work, side by side.

    .venv/bin/python benchmarks/data_parallel.py
    .venv/bin/python benchmarks/data_parallel.py --config configs/clinical-smoke.yaml --steps 4 --threads 2
    .venv/bin/python benchmarks/data_parallel.py --model /path/to/tiny-model --steps 2    # a quick look

Runs `azmed train` twice from the same config, seed and step count (its held-out check off):
1. one process with `--threads` torch threads;
2. `accelerate launch --multi_gpu --num_processes N` (`--processes`, default 2; on a CPU machine
   `--multi_gpu` selects accelerate's multi-process launcher, the backend is gloo), each process
   with threads / N threads, so both use the same cores.
Both do the same global work per step (the config's proposals, rollouts and answers; the ranks
split it). From each run's metrics.jsonl it prints the mean step time and its split
(generation, validation, verification, update), the tokens generated per second, the peak memory
of one process, the wall time of the whole command (start-up and model loading included), and
the ratios of one process to N. The first step is left out of the means when there are more.

Limits: each run samples its own completions (N ranks draw from N sampling streams), so the
tokens generated differ a little between the two runs; tokens per second is the fairer figure
for generation. CPU timings move with other load on the machine: compare figures from the same
invocation, and quote them with the CPU flags it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_flags  # noqa: E402


def run(processes: int, threads: int, args, out: Path) -> dict:
    """One `azmed train` run; its per-step figures and its wall time."""
    overrides = [f"run.out_dir={out}", f"trainer.steps={args.steps}", "eval.at_end=false", "run.progress=false",
                 "run.checkpoint_every=100000", f"model.threads={threads}", *args.overrides]
    if args.model:
        overrides.append(f"model.name={args.model}")
    train = ["-m", "azmed.cli", "train", "--config", str(args.config), *overrides]
    if processes == 1:
        cmd = [sys.executable, *train]
    else:
        cmd = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu",
               "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--num_cpu_threads_per_process", str(threads),
               "--main_process_port", str(args.port), *train]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])} ... failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    timed = rows[1:] if len(rows) > 1 else rows
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return {"processes": processes, "threads": threads, "wall": wall, "world_size": rows[-1]["world_size"],
            "step": mean([r["time"]["total"] for r in timed]),
            **{k: mean([r["time"][k] for r in timed]) for k in ("generate", "validate", "verify", "update")},
            "tokens": mean([r["tokens"]["generated"] for r in timed]),
            "tok_s": mean([r["tokens"]["per_s"] for r in timed]),
            "peak_mb": max(r["memory"].get("peak_rss_mb", 0) for r in rows), "timed": len(timed)}


def line(r: dict) -> str:
    return (f"{r['processes']} process{'es' if r['processes'] > 1 else ''} x {r['threads']} thread(s): "
            f"step {r['step']:.1f} s (generate {r['generate']:.1f}, validate {r['validate']:.2f}, "
            f"verify {r['verify']:.2f}, update {r['update']:.1f}) | {r['tokens']:.0f} tokens, {r['tok_s']:.0f} tokens/s | "
            f"peak RSS {r['peak_mb']} MB a process | wall {r['wall']:.0f} s")


def ratio(a: float, b: float) -> str:
    """`a / b` as '1.23x', or 'n/a' when either is too small to time (under 10 ms).

    >>> ratio(3.0, 2.0), ratio(0.0, 1.0)
    ('1.50x', 'n/a')
    """
    return f"{a / b:.2f}x" if min(a, b) >= 0.01 else "n/a"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "clinical-smoke.yaml", help="the run config")
    p.add_argument("--steps", type=int, default=3, help="self-play steps per run (the first is not timed)")
    p.add_argument("--processes", type=int, default=2, help="processes of the data-parallel run")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                   help="torch threads in all: the single process gets them all, each rank threads / processes")
    p.add_argument("--model", default=None, help="model.name for both runs (default: the config's)")
    p.add_argument("--port", type=int, default=29533, help="rendezvous port of the data-parallel run")
    p.add_argument("overrides", nargs="*", help="key=value overrides for both runs")
    args = p.parse_args()
    if args.processes < 2 or args.threads < args.processes:
        p.error("--processes must be at least 2 and --threads at least --processes")
    tmp = Path(tempfile.mkdtemp(prefix="azmed-dp-bench-"))
    try:
        print(f"CPU flags: {cpu_flags()} | {os.cpu_count()} CPUs | config {args.config.name} | "
              f"{args.steps} steps, mean of the last {max(1, args.steps - 1)}", flush=True)
        one = run(1, args.threads, args, tmp / "one")
        print(line(one), flush=True)
        many = run(args.processes, args.threads // args.processes, args, tmp / "many")
        print(line(many), flush=True)
        assert many["world_size"] == args.processes, "the launcher did not start the processes asked for"
        print(f"ratio (1 process / {args.processes}): step time {ratio(one['step'], many['step'])}, "
              f"generation time {ratio(one['generate'], many['generate'])}, "
              f"update time {ratio(one['update'], many['update'])}, "
              f"tokens/s {ratio(many['tok_s'], one['tok_s'])}, wall {ratio(one['wall'], many['wall'])}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
