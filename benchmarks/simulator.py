"""Simulator throughput on one core: validated cases per second (generation including the
physiology couplings and the durable-rules engine check), the split of time between sampling,
rule engine and serialisation, the cost of the physiology couplings (the same draws sampled side
by side with the couplings switched off), and proposal validations per second. Prints the CPU
flags.

    .venv/bin/python benchmarks/simulator.py [--n 5000]

Run it pinned to one core for the per-core figure: `taskset -c 0 .venv/bin/python benchmarks/simulator.py`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `simulator` package it measures.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import cpu_flags  # noqa: E402
from simulator.core import Simulator
from simulator.generator import draw
from simulator.physiology import Physiology


def validated_per_second(sim, n: int) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    lines = [sim.generate(seed).dumps(sim.registry, reveal=True) for seed in range(n)]
    return n / (time.perf_counter() - t0), lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    sim = Simulator.load()
    reg = sim.registry
    for dx in sim.diagnoses:  # plans are built once per diagnosis; keep that out of the timing
        sim.plan(dx)

    print(f"CPU flags: {cpu_flags()}")
    # end to end: seed -> accepted, engine-confirmed case -> JSON line; then the same seeds with the
    # physiology couplings switched off, side by side
    rate, lines = validated_per_second(sim, args.n)
    print(f"validated cases/s (one process, incl. couplings, engine check and JSON): {rate:,.0f}")

    # split: sampling, engine, serialisation, measured separately on the same draws
    rng = random.Random(0)
    plans = [sim.plan(sim.choose_diagnosis(rng)) for _ in range(args.n)]
    t0 = time.perf_counter()
    cases = [draw(p, sim, rng) for p in plans]
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in cases:
        sim.engine.label(c.facts())
    t_engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in cases:
        c.dumps(reg)
    t_json = time.perf_counter() - t0
    # the same draws without the couplings (labels would differ: only the sampling time is compared)
    coupled, sim.physiology = sim.physiology, Physiology([], reg)
    rng = random.Random(0)
    plans = [sim.plan(sim.choose_diagnosis(rng)) for _ in range(args.n)]
    t0 = time.perf_counter()
    for p in plans:
        draw(p, sim, rng)
    t_plain = time.perf_counter() - t0
    sim.physiology = coupled
    parts = t_sample + t_engine + t_json
    print(f"time split per draw: sampling {t_sample / args.n * 1e6:.0f} us ({t_sample / parts:.0%}) | "
          f"rule engine {t_engine / args.n * 1e6:.0f} us ({t_engine / parts:.0%}) | "
          f"serialisation {t_json / args.n * 1e6:.0f} us ({t_json / parts:.0%})")
    print(f"sampling with the physiology couplings vs without, same draws: {t_sample / args.n * 1e6:.0f} vs "
          f"{t_plain / args.n * 1e6:.0f} us per draw (ratio {t_sample / t_plain:.2f})")

    # proposal validation: JSON text -> parse, units, limits, derived, constraints, engine label
    props = lines[: min(args.n, 2000)]
    t0 = time.perf_counter()
    for text in props:
        sim.check(text)
    dt = time.perf_counter() - t0
    print(f"proposal validations/s: {len(props) / dt:,.0f}")


if __name__ == "__main__":
    main()
