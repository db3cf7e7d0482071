"""`azmed simulate`: write generated cases as JSONL (default), in the editable line format, or as
clinical notes (label only with --reveal).

    azmed simulate --pack cardiology --n 5 --seed 1                 # JSONL
    azmed simulate --n 3 --format note --style triage --reveal      # notes, hidden label shown

`lines` and `note` print one block per case, each headed by a `# seed=S pack=P` comment line (with
the style for notes, and `# diagnosis: ID (name)` with --reveal) and followed by a blank line.
A case whose note would have to name its diagnosis (see `simulator.notes`) is reported on stderr
and skipped; the exit status is then 1.

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
    style = getattr(args, "style", None)
    fmt = getattr(args, "format", None) or ("note" if style else "json")
    from simulator.errors import SimulatorError
    from simulator.notes import STYLES, NoteError

    if style is not None and fmt != "note":
        return fail("--style only applies to --format note")
    if style is not None and style not in STYLES:
        return fail(f"unknown note style {style!r}; use one of {', '.join(STYLES)}")
    try:
        dx = sim.find_diagnosis(args.diagnosis) if args.diagnosis else None
    except SimulatorError as exc:
        return fail(str(exc))
    if dx is not None and args.pack != "all" and sim.pack_of[dx] != args.pack:
        return fail(f"--diagnosis {args.diagnosis} ({sim.diagnoses[dx].name}) is in pack {sim.pack_of[dx]}, not "
                    f"{args.pack}; use --pack {sim.pack_of[dx]} or leave --pack out")
    skipped = 0
    try:
        with open_out(args.out) as out:
            for i in range(args.n):
                case = sim.generate(args.seed + i, pack=args.pack, diagnosis=dx)
                if fmt == "json":
                    out.write(case.dumps(sim.registry, reveal=args.reveal) + "\n")
                    continue
                try:
                    out.write(_block(sim, case, fmt, style, args.reveal))
                except NoteError as exc:
                    skipped += 1
                    print(f"seed {case.seed}: skipped: {exc}", file=sys.stderr)
    except SimulatorError as exc:
        return fail(str(exc))
    except OSError as exc:
        if args.out in ("-", ""):  # stdout (a closed pipe is handled by the CLI)
            raise
        return cannot_write(args.out, exc)
    if args.out != "-":
        print(f"wrote {args.n - skipped} cases to {args.out}", file=sys.stderr)
    return 1 if skipped else 0


def _block(sim, case, fmt: str, style: str | None, reveal: bool) -> str:
    """One case as a text block: a header comment, the case, a blank line."""
    from simulator.notes import render_note
    from simulator.render import to_lines

    head = f"# seed={case.seed} pack={case.pack}"
    if fmt == "note":
        note = render_note(sim, case, style=style)
        head, body = f"{head} style={note.style}", note.text
    else:
        body = to_lines(case, sim.registry)
    if reveal:
        head += f"\n# diagnosis: {case.label} ({case.label_name})"
    return f"{head}\n{body}\n\n"
