"""Sandbox throughput: trivial-program runs per second, against one `python -c` per run.

    .venv/bin/python benchmarks/sandbox.py                 # defaults: 3000 runs, 120 baseline
    .venv/bin/python benchmarks/sandbox.py --runs 10000 --workers 2 --json

Both sides run the same trivial program (`def f(a): return a`, called on a different
integer each time) with the same parallelism (one process per worker, all at once) in the
same invocation, alternating in `--rounds` rounds, so a busy machine slows both alike. The sandbox side uses the warm pool
with every layer active here; the baseline starts a fresh interpreter per run
(`sys.executable -c "...; print(repr(f(i)))"`), the simplest isolation there is. Warm-up
runs (pool start, first forks) are not timed. Prints one line per figure, then the layers:

    sandbox: 812.3 runs/s | baseline python -c: 34.1 runs/s | ratio: 23.8x
    cpu per run: sandbox 1.62 ms | baseline python -c 24.9 ms | ratio: 15.4x
    layers: rlimits, seccomp, unprivileged, ast-import-check, audit-hook, bwrap
    cpu: 2 cores | flags: avx2 avx512_bf16

The CPU line adds up the CPU time of every process involved (this one, the workers and
their children; the baseline's subprocesses) per run: unlike wall-clock rates it does not
depend on what else the machine runs. Workers inside bwrap hide their CPU time, so that
line needs `--no-bwrap`.

Limits: wall-clock throughput on whatever else the machine is doing; run it a few times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azmed.sandbox import Job, Sandbox  # noqa: E402
from benchmarks.machine import cpu_flags  # noqa: E402

PROGRAM = "def f(a):\n    return a\n"


def sandbox_seconds(box: Sandbox, runs: int) -> float:
    """Seconds the warm pool takes for `runs` trivial jobs (all must succeed)."""
    jobs = [Job(PROGRAM, call=f"f({i})") for i in range(runs)]
    start = time.perf_counter()
    results = box.run_many(jobs)
    elapsed = time.perf_counter() - start
    bad = [r for r in results if not r.ok]
    if bad:
        raise SystemExit(f"sandbox benchmark: {len(bad)} runs failed, first: {bad[0]}")
    if [r.value for r in results] != [repr(i) for i in range(runs)]:
        raise SystemExit("sandbox benchmark: wrong values returned")
    return elapsed


def _baseline_run(i: int) -> str:
    code = PROGRAM + f"print(repr(f({i})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def baseline_seconds(pool: ThreadPoolExecutor, runs: int) -> float:
    """Seconds for `runs` fresh `python -c` runs on the thread pool (one subprocess each)."""
    start = time.perf_counter()
    values = list(pool.map(_baseline_run, range(runs)))
    elapsed = time.perf_counter() - start
    if values != [repr(i) for i in range(runs)]:
        raise SystemExit("baseline benchmark: wrong values returned")
    return elapsed


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of this process, its waited-for children, and the live processes `pids`
    with their waited-for children (from /proc/PID/stat)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3000, help="sandbox runs to time (default 3000)")
    p.add_argument("--baseline-runs", type=int, default=120, help="python -c runs to time (default 120)")
    p.add_argument("--workers", type=int, default=None, help="sandbox workers and baseline parallelism "
                                                               "(default: the sandbox's, one per core)")
    p.add_argument("--rounds", type=int, default=3, help="alternate the two sides this many times (default 3)")
    p.add_argument("--no-bwrap", action="store_true", help="run the workers outside bubblewrap "
                                                           "(needed for the CPU line when bwrap is installed)")
    p.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = p.parse_args(argv)
    if min(args.runs, args.baseline_runs, args.rounds) < 1 or (args.workers or 1) < 1:
        p.error("--runs, --baseline-runs, --rounds and --workers must be positive")

    options = {"workers": args.workers} if args.workers else {}
    if args.no_bwrap:
        options["bwrap"] = "off"
    with Sandbox(**options) as box:
        layers = box.layers
        workers = box.config.workers
        pids = [] if "bwrap" in layers else box.worker_pids
        sandbox_s = baseline_s = sandbox_cpu = baseline_cpu = 0.0
        with ThreadPoolExecutor(workers) as pool:
            sandbox_seconds(box, 50)  # warm-up: first forks, page cache
            baseline_seconds(pool, workers)
            for r in range(args.rounds):
                cpu = _cpu_seconds(pids)
                sandbox_s += sandbox_seconds(box, args.runs // args.rounds + (r < args.runs % args.rounds))
                cpu, sandbox_cpu = _cpu_seconds(pids), sandbox_cpu + _cpu_seconds(pids) - cpu
                baseline_s += baseline_seconds(pool, args.baseline_runs // args.rounds
                                               + (r < args.baseline_runs % args.rounds))
                baseline_cpu += _cpu_seconds(pids) - cpu
    sandbox, baseline = args.runs / sandbox_s, args.baseline_runs / baseline_s
    ratio = sandbox / baseline
    figures = {"sandbox_runs_per_s": round(sandbox, 1), "baseline_runs_per_s": round(baseline, 1),
               "ratio": round(ratio, 2), "workers": workers, "layers": layers}
    print(f"sandbox: {sandbox:.1f} runs/s | baseline python -c: {baseline:.1f} runs/s | ratio: {ratio:.1f}x")
    if pids:
        per_run, per_baseline = sandbox_cpu / args.runs * 1000, baseline_cpu / args.baseline_runs * 1000
        figures.update(sandbox_cpu_ms_per_run=round(per_run, 3), baseline_cpu_ms_per_run=round(per_baseline, 2))
        print(f"cpu per run: sandbox {per_run:.2f} ms | baseline python -c {per_baseline:.1f} ms | "
              f"ratio: {per_baseline / per_run:.1f}x")
    else:
        print("cpu per run: not measurable inside bwrap (use --no-bwrap)")
    print(f"workers: {workers} | runs: {args.runs} sandbox, {args.baseline_runs} baseline")
    print(f"layers: {', '.join(layers)}")
    cores = len(os.sched_getaffinity(0))
    print(f"cpu: {cores} cores | flags: {cpu_flags()}")
    figures.update(cores=cores, cpu_flags=cpu_flags())
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
