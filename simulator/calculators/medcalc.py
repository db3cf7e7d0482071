"""MedCalc-Bench's entity form -> AZ-Med calculator values in canonical units.

    from simulator.calculators import medcalc
    medcalc.import_entities("SIRS Criteria", {"Temperature": [100.4, "degrees fahrenheit"],
                                              "Heart Rate or Pulse": [96, "beats per minute"],
                                              "White blood cell count": [11000, "µL"]})
    # {'temperature': 38.0, 'heart_rate': 96.0, 'wbc': 11.0}
    medcalc.evaluate_entities(51, "{'Temperature': [38.5, 'degrees celsius'], ...}")   # a CalcResult

    python -m simulator.calculators.medcalc [CSV]     # agreement with a MedCalc-Bench CSV, per calculator

Entities are MedCalc-Bench's "Relevant Entities" (its names, or the `medcalc-bench` package's
snake_case keys, or AZ-Med's own input names) with `[value, "unit"]` pairs, yes/no values,
labels or dates; a dict, a JSON object or the Python-literal text of the CSV column. Numbers
are converted by `inputs.to_canonical` (exact, every unit spelling it knows); MedCalc-Bench's
own unit quirks are read as it means them: a count "per µL" written as "µL" (or "mm^3", and
"m^3", which the package reads as per mm³), "[5, 'ft', 10, 'in']" as a sum of parts. Each
value is checked by the calculator's input, so a bad entity fails here, naming the entity and
the fix (numbers against physiological limits; a calculator's own narrower range, such as
McIsaac's age from 3, is checked when it runs). Entities the calculator does not use are refused,
or skipped with `unknown="skip"` (their names are appended to `skipped`), never guessed.

`check_rows(rows)` runs every row of a MedCalc-Bench CSV through the importer and the
calculator and compares the answer with the row's ground truth (`answer_correct`); the module's
command prints the agreement per calculator. Where our answer differs, the calculator's module
docstring says which published rule MedCalc-Bench departs from.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping

from simulator.calculators.base import CalcResult, Calculator, answer_correct
from simulator.calculators.inputs import QUANTITIES, CalculatorInputError, Input, to_canonical
from simulator.calculators.medcalc_entities import ENTITIES, MEDCALC_NAMES, UNUSED, Entity

# MedCalc-Bench writes a count per volume with the volume alone ("µL"), and per mm³ as "m^3".
COUNT_VOLUMES = {"ul": "/uL", "mm3": "/mm3", "mm^3": "/mm3", "m^3": "/mm3", "cumm": "/mm3", "l": "/L",
                 "ml": "/mL", "dl": "/dL"}
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def entity_key(name: str) -> str:
    """Names match ignoring case, subscripts and punctuation: 'FiO₂' == 'fio2' == 'FiO2'."""
    return re.sub(r"[^a-z0-9]+", " ", str(name).translate(_SUBSCRIPTS).lower()).strip()


_BY_NAME: dict[str, list[Entity]] = defaultdict(list)
for _e in ENTITIES:
    for _n in {_e.name, _e.package}:
        if _e not in _BY_NAME[entity_key(_n)]:
            _BY_NAME[entity_key(_n)].append(_e)


def _calculator(name: Calculator | str | int) -> Calculator:
    if isinstance(name, Calculator):
        return name
    from simulator.calculators import get  # the registry imports this package's modules
    return get(name)


def parse_entities(entities: Mapping[str, Any] | str) -> dict[str, Any]:
    """A dict of entities from a dict, a JSON object or MedCalc-Bench's Python-literal text."""
    if isinstance(entities, Mapping):
        return dict(entities)
    text = str(entities).strip()
    for parse in (json.loads, ast.literal_eval):
        try:
            data = parse(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(data, dict):
            return data
    raise CalculatorInputError(f"entities must be a JSON object such as {{\"Sodium\": [140, \"mmol/L\"], "
                               f"\"age\": [67, \"years\"]}}; got {text[:80]!r}")


def entity_for(calculator: Calculator | str | int, name: str) -> Entity | None:
    """The table entry that `name` means for this calculator, or None."""
    c = _calculator(calculator)
    have = {i.name for i in c.inputs}
    for ent in _BY_NAME.get(entity_key(name), []):
        if ent.input in have:
            return ent
    if entity_key(name).replace(" ", "_") in have:  # AZ-Med's own input name
        own = entity_key(name).replace(" ", "_")
        return Entity(name, own, own)
    return None


def entity_names(calculator: Calculator | str | int) -> list[str]:
    """MedCalc-Bench's names for the inputs of this calculator, for messages and listings."""
    c = _calculator(calculator)
    have = {i.name for i in c.inputs}
    return sorted({ent.name for ent in ENTITIES if ent.input in have})


def import_entities(calculator: Calculator | str | int, entities: Mapping[str, Any] | str, *,
                    unknown: str = "error", skipped: list[str] | None = None) -> dict[str, Any]:
    """MedCalc-Bench entities -> this calculator's input values, coerced and in canonical units.

    `unknown="error"` (default) refuses an entity the calculator does not use; "skip" leaves it
    out and appends its name to `skipped` when a list is given.
    """
    c = _calculator(calculator)
    if unknown not in ("error", "skip"):
        raise ValueError(f"unknown={unknown!r}: use 'error' or 'skip'")
    unused = {entity_key(n) for n in UNUSED.get(c.medcalc_id or -1, ())}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, raw in parse_entities(entities).items():
        ent = entity_for(c, name)
        if ent is None:
            if entity_key(name) in unused or unknown == "skip":
                if skipped is not None and entity_key(name) not in unused:
                    skipped.append(name)
                continue
            raise CalculatorInputError(
                f"entity {name!r} is not an input of {c.id} ({c.name}); its entities are "
                f"{', '.join(entity_names(c)) or ', '.join(i.name for i in c.inputs)}")
        for input_name, value in _read(c, ent, name, raw):
            _merge(c, values, origin, input_name, value, name)
    return values


def evaluate_entities(calculator: Calculator | str | int, entities: Mapping[str, Any] | str, *,
                      unknown: str = "error") -> CalcResult:
    """Import the entities and run the calculator on them."""
    c = _calculator(calculator)
    return c.compute(import_entities(c, entities, unknown=unknown))


# ---- reading one entity ------------------------------------------------------------------------------

def _fix(name: str, inp: Input) -> str:
    """How to write the entity: MedCalc-Bench's [value, "unit"] for a number, else what the input expects."""
    if inp.kind == "number":
        return f"give it as [value, \"unit\"], e.g. {json.dumps({name: [1, inp.unit]}, ensure_ascii=False)}"
    return f"give {inp.expects()}"


def _read(c: Calculator, ent: Entity, name: str, raw: Any) -> list[tuple[str, Any]]:
    """[(input, coerced value)] from one entity's raw value; errors name the entity."""
    inp = c.input(ent.input)
    try:
        if ent.read == "steroid":
            drug, dose, unit = _steroid(raw)
            return [(ent.input, inp.coerce(drug)),
                    ("steroid_dose", c.input("steroid_dose").coerce(_quantity(c.input("steroid_dose"), [dose, unit],
                                                                                ent)))]
        if ent.read == "black":
            return [(ent.input, str(raw).strip().lower() in ("black", "african american", "true", "yes"))]
        if ent.read == "not":
            return [(ent.input, not inp.coerce(raw))]
        if inp.kind == "number":  # plausible for anyone here; the calculator checks its own narrower range
            return [(ent.input, _plausible(inp).coerce(_quantity(inp, raw, ent)))]
        if isinstance(raw, str) and ent.labels:
            labels = {entity_key(k): v for k, v in ent.labels.items()}
            raw = labels.get(entity_key(raw), raw)
        return [(ent.input, inp.coerce(raw))]
    except CalculatorInputError as e:
        raise CalculatorInputError(f"entity {name!r} ({c.id} input {ent.input}): {e}; {_fix(name, inp)}") from None


def _plausible(inp: Input) -> Input:
    """The input with the physiological limits of its quantity (a McIsaac age of 2 years imports;
    McIsaac itself, valid from age 3, refuses it when computed)."""
    q = QUANTITIES.get(inp.quantity or inp.name)
    return inp if q is None else dataclasses.replace(inp, low=q.low, high=q.high)


def _steroid(raw: Any) -> tuple[str, Any, str]:
    if isinstance(raw, (list, tuple)) and len(raw) == 3 and isinstance(raw[0], str):
        return raw[0], raw[1], str(raw[2])
    raise CalculatorInputError(f"{raw!r} is not [\"drug and route\", dose, \"unit\"], e.g. [\"PredniSONE PO\", 40, \"mg\"]")


def _quantity(inp: Input, raw: Any, ent: Entity) -> float:
    """A number in the input's canonical unit from a bare number, [value, "unit"] or a flat list
    of (value, unit) parts that add up ([5, "ft", 10, "in"])."""
    if isinstance(raw, bool):
        raise CalculatorInputError(f"{raw!r} is a yes/no, not a number")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            raise CalculatorInputError(f"{raw!r} is not a number") from None
    if isinstance(raw, (list, tuple)) and raw and len(raw) % 2 == 0:
        total = 0.0
        for value, unit in zip(raw[0::2], raw[1::2]):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(unit, str):
                raise CalculatorInputError(f"{list(raw)!r} is not [value, \"unit\"] pairs")
            total += to_canonical(inp, value, _medcalc_unit(inp, unit, ent))
        return total
    raise CalculatorInputError(f"{raw!r} is not a number or [value, \"unit\"]")


def _medcalc_unit(inp: Input, unit: str, ent: Entity) -> str:
    """MedCalc-Bench's spelling of a unit, as it means it."""
    if unit in ent.units:
        return ent.units[unit]
    from simulator.variables import count_per_litre, unit_key
    if count_per_litre(inp.unit) is not None:
        for volume, per in COUNT_VOLUMES.items():
            if unit_key(unit) == unit_key(volume):
                return per
    return unit


def _merge(c: Calculator, values: dict[str, Any], origin: dict[str, str], input_name: str, value: Any,
           name: str) -> None:
    """Several entities may fill one input: yes/no ones are or-ed, others must agree."""
    if input_name not in values:
        values[input_name], origin[input_name] = value, name
    elif c.input(input_name).kind == "bool":
        values[input_name] = values[input_name] or value
    elif values[input_name] != value:
        raise CalculatorInputError(f"entities {origin[input_name]!r} and {name!r} both give {c.id} input "
                                   f"{input_name} but disagree ({values[input_name]!r} vs {value!r}); keep one")


# ---- agreement with a MedCalc-Bench CSV ------------------------------------------------------------------

def check_rows(rows: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    """For each row: calculator id, row number, status ("agree", "differ", "refused" with the
    error), our answer and the ground truth."""
    out = []
    for row in rows:
        c = _calculator(int(row["Calculator ID"]))
        truth = (row.get("Ground Truth Answer") or "").strip()
        item = {"calculator": c.id, "medcalc_id": c.medcalc_id, "row": row.get("Row Number"), "truth": truth}
        try:
            result = evaluate_entities(c, row["Relevant Entities"])
        except CalculatorInputError as e:
            out.append({**item, "status": "refused", "answer": None, "error": str(e)})
            continue
        if c.kind in ("integer", "decimal"):
            lo, hi = sorted((float(row["Lower Limit"]), float(row["Upper Limit"])))
            ok = lo - 1e-9 * max(1, abs(hi)) <= float(result.answer) <= hi + 1e-9 * max(1, abs(hi))
        else:
            ok = answer_correct(result.answer, truth, c.kind)
        out.append({**item, "status": "agree" if ok else "differ", "answer": result.answer})
    return out


def agreement_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: per calculator, rows, agreeing, differing, refused."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by[r["calculator"]].append(r)
    lines = ["| ID | calculator | rows | agree | differ | refused |", "|---:|---|---:|---:|---:|---:|"]
    for cid, rs in sorted(by.items(), key=lambda kv: kv[1][0]["medcalc_id"]):
        n = {s: sum(r["status"] == s for r in rs) for s in ("agree", "differ", "refused")}
        lines.append(f"| {rs[0]['medcalc_id']} | {cid} | {len(rs)} | {n['agree']} | {n['differ']} | {n['refused']} |")
    total = {s: sum(r["status"] == s for r in results) for s in ("agree", "differ", "refused")}
    lines.append(f"| | all | {len(results)} | {total['agree']} | {total['differ']} | {total['refused']} |")
    return "\n".join(lines)


def sources_table() -> str:
    """A Markdown table of MedCalc-Bench's calculators: Calculator ID, its name, AZ-Med's id and
    the published source (the README's table)."""
    from simulator.calculators import CALCULATORS
    lines = ["| ID | MedCalc-Bench calculator | AZ-Med id | source |", "|---:|---|---|---|"]
    for c in sorted((c for c in CALCULATORS.values() if c.medcalc_id), key=lambda c: c.medcalc_id):
        lines.append(f"| {c.medcalc_id} | {MEDCALC_NAMES[c.medcalc_id]} | `{c.id}` | {c.reference} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "azmed/eval/data/medcalc_bench_dev.csv"
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, newline="", encoding="utf-8") as fh:
        results = check_rows(csv.DictReader(fh))
    print(agreement_table(results))
    for r in results:
        if r["status"] != "agree":
            print(f"row {r['row']} {r['calculator']}: {r['status']}: ours {r['answer']!r}, truth {r['truth']!r}"
                  + (f" ({r['error']})" if r.get("error") else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
