"""`azmed case check FILE`: validate one proposed case.

    azmed case check case.json                      # one JSON object (`azmed simulate` writes them)
    azmed simulate --n 1 --format lines | azmed case check -
    printf 'age: 64\nsex: M\nsodium: 118 mmol/L\n...' | azmed case check -

The case is one JSON object or the editable 'name: value unit' line format (as in the Case lab
and `azmed simulate --format lines`; '#' comment lines are ignored). Prints the engine's
diagnosis (exit 0), or the rejection reason (exit 1); unreadable input (a missing file, text
that is neither JSON nor 'name: value' lines) exits 2.
"""

from __future__ import annotations

import json
import sys

from azmed.commands.common import fail, load_simulator


def run(args) -> int:
    where = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc.strerror}")
    except UnicodeDecodeError as exc:
        return fail(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start}); save the case as UTF-8")
    from simulator.validation import read_proposal

    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).strip()
    if body.startswith("{"):  # meant as JSON: say where it breaks rather than trying lines
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            return fail(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); a case is "
                        "one JSON object, or 'name: value unit' lines")
    else:
        try:
            data = read_proposal(body)
        except ValueError as exc:
            return fail(f"{where} is neither one JSON object nor 'name: value unit' lines ({exc}); see "
                        "`azmed simulate --n 1` and `azmed simulate --n 1 --format lines` for both forms")
    sim = load_simulator(args.packs_dir)
    if sim is None:
        return 2
    from simulator.case import Rejection

    result = sim.check(data)
    if isinstance(result, Rejection):
        print(f"rejected ({result.reason}): {result.detail}")
        return 1
    print(f"valid: {result.label} {result.label_name} (pack {sim.pack_of[result.label]})")
    return 0
