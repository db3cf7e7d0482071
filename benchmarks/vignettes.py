"""Calculator vignette throughput on one core: vignettes per second (the patient with the answer;
with its note; with the note read back and the demonstration call executed), side by side with the
baseline the simulator already had (a pack case and its note), per calculator family and overall.
Prints the CPU flags.

    .venv/bin/python benchmarks/vignettes.py [--seeds 20]

Pin it to one core for the per-core figure: `taskset -c 0 .venv/bin/python benchmarks/vignettes.py`.
The first vignette of a simulator builds its extended registry and lexicon (`kit` below), once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `simulator` package it measures.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import cpu_flags  # noqa: E402
from simulator import calculators, tools  # noqa: E402
from simulator.core import Simulator  # noqa: E402
from simulator.notes import NoteError, render_note  # noqa: E402
from simulator.vignettes import calculator_case, demonstration, read_inputs, render_vignette  # noqa: E402
from simulator.vignettes.kit import Kit  # noqa: E402


def rate(work, n: int) -> float:
    t0 = time.perf_counter()
    work()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds per calculator (default 20)")
    args = ap.parse_args()
    sim = Simulator.load()
    t0 = time.perf_counter()
    Kit.of(sim)
    print(f"CPU flags: {cpu_flags()}")
    print(f"kit (extended registry, spec check): {time.perf_counter() - t0:.2f} s once per simulator")
    ids = list(calculators.CALCULATORS)
    seeds = range(args.seeds)
    n = len(ids) * args.seeds
    for cid in ids:  # warm the lexicon, plans and regular expressions
        render_vignette(sim, calculator_case(sim, cid, 10_000))

    cases = rate(lambda: [calculator_case(sim, c, s) for c in ids for s in seeds], n)

    def with_notes():
        for c in ids:
            for s in seeds:
                render_vignette(sim, calculator_case(sim, c, s))

    def round_trip():
        for c in ids:
            for s in seeds:
                cc = calculator_case(sim, c, s)
                note = render_vignette(sim, cc)
                read_inputs(sim, c, note.text, cc.question)
                tools.execute_call(demonstration(sim, cc, note))

    def baseline():
        for s in range(n):
            try:
                render_note(sim, sim.generate(s))
            except NoteError:
                pass

    noted = rate(with_notes, n)
    full = rate(round_trip, n)
    base = rate(baseline, n)
    print(f"vignettes/s, {n} ({args.seeds} seeds x {len(ids)} calculators):")
    print(f"  case with its answer:                      {cases:8,.0f}")
    print(f"  case and note:                             {noted:8,.0f}")
    print(f"  case, note, read back, demonstration run:  {full:8,.0f}")
    print(f"baseline, pack case and note (same process): {base:8,.0f}   ratio case+note / baseline: {noted / base:.2f}")
    print("case and note per calculator family (vignettes/s):")
    for module in calculators.FAMILIES:
        fam = [c.id for c in module.CALCULATORS]
        r = rate(lambda: [render_vignette(sim, calculator_case(sim, c, s)) for c in fam for s in seeds],
                 len(fam) * args.seeds)
        print(f"  {module.__name__.rsplit('.', 1)[1]:<14}{r:8,.0f}  ({', '.join(fam)})")


if __name__ == "__main__":
    main()
