"""`azmed calc`: evaluate a clinical calculator from the shell, or list the calculators.

    azmed calc                                            # every calculator with its inputs
    azmed calc anion_gap sodium=140 chloride=104 bicarbonate=24
    azmed calc ckd_epi_2021 age=60 sex=F creatinine=106umol/L
    azmed calc centor temperature=101.3degF tonsillar_exudate=yes cough=no --json

Each input is `name=value`, with a unit glued to a number when it is not the canonical one;
units are converted through the variable registry (`simulator.calculators.inputs.read_number`),
which names the accepted units when one is not. Findings take yes/no, sex takes M/F, graded inputs take their
label or number (see the listing). Calculator names are ids or aliases, any case.
Bad input prints one line saying what was wrong and exits 2; nothing is guessed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simulator import calculators as calc
from simulator.calculators import Calculator, CalculatorInputError, Input
from simulator.calculators.base import fmt
from simulator.calculators.inputs import read_number


def run(args: argparse.Namespace) -> int:
    try:
        if not args.name:
            _print_listing(args.json)
            return 0
        calculator = calc.get(args.name)
        result = calculator.compute(parse_inputs(calculator, args.inputs))
    except CalculatorInputError as e:
        print(f"azmed calc: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**result.to_json(), "name": calculator.name, "integer": calculator.integer,
                          "reference": calculator.reference}, indent=2, ensure_ascii=False))
    else:
        print(f"{calculator.name}: {fmt(result.answer)} {result.unit}")
        print(result.explanation)
        print(f"Reference: {calculator.reference}")
    return 0


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
        what = inp.unit
    elif inp.kind == "bool":
        what = "yes/no"
    else:
        what = " | ".join(f"{v}={label}" for v, label in inp.options.items())
    name = inp.name if inp.required else f"[{inp.name}]"
    return f"{name} ({what})"


def _print_listing(as_json: bool) -> None:
    if as_json:
        print(json.dumps([{
            "id": c.id, "name": c.name, "aliases": list(c.aliases), "unit": c.unit, "integer": c.integer,
            "reference": c.reference,
            "inputs": [{"name": i.name, "kind": i.kind, "description": i.description, "required": i.required,
                        "unit": i.unit or None, "range": [i.low, i.high] if i.kind == "number" else None,
                        "choices": {str(v): label for v, label in i.options.items()} or None}
                       for i in c.inputs],
        } for c in calc.CALCULATORS.values()], indent=2, ensure_ascii=False))
        return
    print(f"{len(calc.CALCULATORS)} calculators (usage: azmed calc NAME name=value[unit] ...; "
          f"[optional] inputs default to absent):")
    for c in calc.CALCULATORS.values():
        print(f"\n{c.id}  {c.name} [{c.unit}]")
        print("    " + ", ".join(describe_input(i) for i in c.inputs))
