"""`azmed calc`: evaluate a clinical calculator from the shell, or list the calculators.

    azmed calc                                            # every calculator with its inputs
    azmed calc anion_gap sodium=140 chloride=104 bicarbonate=24
    azmed calc ckd_epi_2021 age=60 sex=F creatinine=106umol/L
    azmed calc centor temperature=101.3degF tonsillar_exudate=yes cough=no --json
    azmed calc "SIRS Criteria" --entities '{"Temperature": [100.4, "degrees fahrenheit"],
        "Heart Rate or Pulse": [96, "beats per minute"], "White blood cell count": [11000, "µL"]}'
    azmed calc 13 --entities row_entities.json           # MedCalc-Bench Calculator ID, entities in a file

Each input is `name=value`, with a unit glued to a number when it is not the canonical one
(`simulator.calculators.inputs.read_number` converts it exactly and names the accepted units
when one is not). Findings take yes/no, sex takes M/F, graded inputs take their label or number
(see the listing). `--entities` takes MedCalc-Bench's form instead: its entity names with
`[value, "unit"]` pairs, as JSON, as the Python-literal text of its CSV column, or in a file
(`simulator.calculators.medcalc`). Calculator names are ids, aliases or MedCalc-Bench names,
any case, or MedCalc-Bench Calculator IDs.
Bad input prints one line saying what was wrong and exits 2; nothing is guessed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from azmed.commands.common import fail
from simulator import calculators as calc
from simulator.calculators import Calculator, CalculatorInputError, Input, medcalc
from simulator.calculators.inputs import read_number
from simulator.render import display_unit


def run(args: argparse.Namespace) -> int:
    try:
        if not args.name:
            _print_listing(args.json)
            return 0
        calculator = calc.get(args.name)
        if getattr(args, "entities", None) is not None:
            if args.inputs:
                raise CalculatorInputError("give the inputs either as key=value or as --entities, not both")
            result = medcalc.evaluate_entities(calculator, read_entities(args.entities))
        else:
            result = calculator.compute(parse_inputs(calculator, args.inputs))
    except CalculatorInputError as e:
        return fail(" ".join(str(e).split()))
    if args.json:
        print(json.dumps({**result.to_json(), "unit": display_unit(result.unit), "name": calculator.name,
                          "integer": calculator.integer, "kind": calculator.kind, "medcalc_id": calculator.medcalc_id,
                          "reference": calculator.reference}, indent=2, ensure_ascii=False))
    else:
        unit = "" if calculator.output != "number" else f" {display_unit(result.unit)}"
        print(f"{calculator.name}: {calculator.answer_text(result.answer)}{unit}".rstrip())
        print(result.explanation)
        print(f"Reference: {calculator.reference}")
    return 0


def read_entities(text: str) -> str:
    """--entities' value: the text of a file when it names one, else the text itself."""
    stripped = text.strip()
    if stripped[:1] not in ("{", "") and len(stripped) < 4096:
        path = Path(stripped)
        if not path.is_file():
            raise CalculatorInputError(f"--entities {stripped!r} is neither a JSON object nor a file; give "
                                       f"'{{\"Sodium\": [140, \"mmol/L\"]}}' or the path of a file holding one")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CalculatorInputError(f"--entities file {stripped}: cannot be read ({e})") from None
    return text


# ---- parsing key=value[unit] ------------------------------------------------------------------

def parse_inputs(calculator: Calculator, tokens: list[str]) -> dict[str, Any]:
    """`name=value[unit]` tokens -> values in canonical units (numbers converted, the rest as
    text for the calculator to coerce)."""
    values: dict[str, Any] = {}
    for token in tokens:
        name, sep, raw = token.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise CalculatorInputError(f"{token!r} is not name=value (e.g. creatinine=1.2mg/dL, "
                                       f"hypertension=yes)")
        inp = calculator.input(name)
        if name in values:
            raise CalculatorInputError(f"{name} is given twice")
        values[name] = read_number(inp, raw) if inp.kind == "number" else raw.strip()
    return values


# ---- listing -----------------------------------------------------------------------------------

def describe_input(inp: Input) -> str:
    """One input as the listing shows it: `creatinine (mg/dL)`, `[cough] (yes/no)`."""
    if inp.kind == "number":
        what = display_unit(inp.unit) or "no unit"
    elif inp.kind == "bool":
        what = "yes/no"
    elif inp.kind == "date":
        what = "MM/DD/YYYY"
    else:
        what = " | ".join(f"{v}={label}" for v, label in inp.options.items())
    name = inp.name if inp.required else f"[{inp.name}]"
    return f"{name} ({what})"


def _print_listing(as_json: bool) -> None:
    if as_json:
        print(json.dumps([{
            "id": c.id, "name": c.name, "aliases": list(c.aliases), "unit": display_unit(c.unit), "integer": c.integer,
            "kind": c.kind, "medcalc_id": c.medcalc_id,
            "reference": c.reference,
            "inputs": [{"name": i.name, "kind": i.kind, "description": i.description, "required": i.required,
                        "unit": display_unit(i.unit) or None, "range": [i.low, i.high] if i.kind == "number" else None,
                        "choices": {str(v): label for v, label in i.options.items()} or None}
                       for i in c.inputs],
        } for c in calc.CALCULATORS.values()], indent=2, ensure_ascii=False))
        return
    print(f"{len(calc.CALCULATORS)} calculators (usage: azmed calc NAME name=value[unit] ...; "
          f"[optional] inputs default to absent):")
    for c in calc.CALCULATORS.values():
        print(f"\n{c.id}  {c.name} [{display_unit(c.unit) or 'no unit'}]")
        print("    " + ", ".join(describe_input(i) for i in c.inputs))
