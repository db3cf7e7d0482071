"""`azmed simulate`: write generated cases as JSONL (label only with --reveal).

With --out, the file appears only once every case is written (an existing file is kept
when generation fails); an output path that cannot be written exits 2 with a one-line reason.
"""

from __future__ import annotations

import sys

from azmed.commands.common import cannot_write, fail, load_simulator, open_out


def run(args) -> int:
    sim = load_simulator(args.packs_dir)
    if sim is None:
        return 2
    if args.pack != "all" and args.pack not in sim.packs:
        return fail(f"no pack named {args.pack!r}; installed: {', '.join(sorted(sim.packs))}")
    if args.n < 1:
        return fail("--n must be at least 1")
    from simulator.errors import SimulatorError

    try:
        dx = sim.find_diagnosis(args.diagnosis) if args.diagnosis else None
        with open_out(args.out) as out:
            for i in range(args.n):
                case = sim.generate(args.seed + i, pack=args.pack, diagnosis=dx)
                out.write(case.dumps(sim.registry, reveal=args.reveal) + "\n")
    except SimulatorError as exc:
        return fail(str(exc))
    except OSError as exc:
        if args.out in ("-", ""):  # stdout (a closed pipe is handled by the CLI)
            raise
        return cannot_write(args.out, exc)
    if args.out != "-":
        print(f"wrote {args.n} cases to {args.out}", file=sys.stderr)
    return 0
