"""`azmed simulate`: write generated cases as JSONL (default), in the editable line format, or as
clinical notes (label only with --reveal); with --calculator, calculator vignettes.

    azmed simulate --pack cardiology --n 5 --seed 1                 # JSONL
    azmed simulate --n 3 --format note --style triage --reveal      # notes, hidden label shown
    azmed simulate --calculator mme --n 2 --format note --reveal    # vignettes, answer and call shown

`lines` and `note` print one block per case, each headed by a `# seed=S pack=P` comment line (with
the style for notes, and `# diagnosis: ID (name)` with --reveal) and followed by a blank line.
A case whose note would have to name its diagnosis (see `simulator.notes`) is reported on stderr
and skipped; the exit status is then 1.

Vignettes (`simulator.vignettes`): `note` prints `# seed=S calculator=C style=T`, the note and a
`Question:` line; --reveal adds `# answer:`, `# call:` (the calculator call in the note's units that
gives the answer) and `# setting:` (the pack diagnosis the patient was drawn from, if any). `json`
writes the patient (case schema), its `details` (dates, doses) and `question`, and with --reveal
`answer`, `inputs`, `setting` and `call`.

With --out, the file appears only once every case is written (an existing file is kept
when generation fails); an output path that cannot be written exits 2 with a one-line reason.
"""

from __future__ import annotations

import json
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
    if getattr(args, "calculator", None):
        return _vignettes(sim, args, fmt, style)
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


def _vignettes(sim, args, fmt: str, style: str | None) -> int:
    """Calculator vignettes as notes or JSONL."""
    from simulator import calculators
    from simulator.errors import SimulatorError
    from simulator.vignettes import calculator_case, demonstration, render_vignette
    from simulator.vignettes.kit import Kit

    if fmt == "lines":
        return fail("--format lines is for pack cases; use --format note or json with --calculator")
    if args.pack != "all" or args.diagnosis:
        return fail("--pack and --diagnosis choose pack cases; a vignette's patient is chosen by its calculator's "
                    "spec (knowledge/calculators/vignettes.yaml)")
    try:
        calc = calculators.get(args.calculator)
        registry = Kit.of(sim).sim.registry
        with open_out(args.out) as out:
            for i in range(args.n):
                cc = calculator_case(sim, calc.id, args.seed + i)
                if fmt == "json":
                    row = cc.to_json(registry, reveal=args.reveal)
                    if args.reveal:
                        row["call"] = demonstration(sim, cc)
                    out.write(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")) + "\n")
                    continue
                note = render_vignette(sim, cc, style=style)
                block = [f"# seed={cc.seed} calculator={calc.id} style={note.style}", note.text, f"Question: {cc.question}"]
                if args.reveal:
                    setting = f"{cc.setting} ({sim.diagnoses[cc.setting].name})" if cc.setting else "none"
                    block += [f"# answer: {cc.answer_text(calc)}", f"# call: {demonstration(sim, cc, note)}",
                              f"# setting: {setting}"]
                out.write("\n".join(block) + "\n\n")
    except (SimulatorError, calculators.CalculatorInputError) as exc:
        return fail(str(exc))
    except OSError as exc:
        if args.out in ("-", ""):
            raise
        return cannot_write(args.out, exc)
    if args.out != "-":
        print(f"wrote {args.n} vignettes of {calc.id} to {args.out}", file=sys.stderr)
    return 0


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
