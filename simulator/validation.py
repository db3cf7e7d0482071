"""Validation of a proposed case (the proposer's JSON): parse -> schema -> names -> units ->
hard limits -> derived values -> cross-variable constraints -> physiology couplings -> engine label.

Returns a `Case` whose label the engine derived, or a `Rejection` whose `reason` is a short
category (counted in training metrics) and whose `detail` tells a person what to fix:

    parse             not JSON / no JSON object found
    schema            missing or mistyped field (age, sex, measurements, findings), or a value
                      reported without those measured with it (a pH without PaCO2 and bicarbonate)
    unknown-variable  a measurement name the registry does not know (with a suggestion)
    unknown-finding   a symptom/history/test name the registry does not know
    unit              a unit the variable does not accept (lists the accepted ones)
    implausible       a value outside hard physiological limits, a broken constraint, or a broken
                      physiology coupling (simulator/physiology.py) that the engine's diagnosis does
                      not declare as a departure (a PaCO2 off Winter's formula in a metabolic
                      acidosis, a pH off Henderson-Hasselbalch, fever at 36.8 C, ...)
    inconsistent      a derived value (MAP, anion gap, eGFR, BMI) that disagrees with its inputs
    no-diagnosis      no diagnostic rule fires
    ambiguous         several incompatible rules fire

Input is lenient where a person or a small model would be: measurements may be a number (in
the canonical unit), {"value": x, "unit": u}, [x, u] or a string "140 mmol/L"; sex may be
M/F/male/female; findings may come in `symptoms`, `history`, `tests` or `findings` lists.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from simulator.case import Case, Rejection
from simulator.errors import UnitError
from simulator.render import display_unit, parse_lines, unit_code

_SEX = {"m": "M", "male": "M", "man": "M", "f": "F", "female": "F", "woman": "F"}
_NUM_UNIT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
FINDING_FIELDS = ("symptoms", "history", "tests", "findings", "signs")
DERIVED_TOLERANCE = 0.05  # a stated derived value may differ from the recomputed one by 5 %


def extract_json(text: str) -> Any:
    """The first JSON object in `text` (```json fences and surrounding prose allowed)."""
    if not isinstance(text, str):
        return text
    m = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidates = [m.group(1)] if m else []
    start = text.find("{")
    if start != -1:
        depth = 0
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    candidates.append(text[start:i + 1])
                    break
    for c in candidates:
        try:
            return json.loads(c)
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON object found" if not candidates else "the JSON object is malformed")


def read_proposal(text: str) -> dict:
    """A proposal text as a dict: a JSON object if there is one, else the line format."""
    if "{" in text:
        try:
            return extract_json(text)
        except ValueError:
            pass
    return parse_lines(text)


def apply_edit(reference: dict, edit: dict, registry) -> dict:
    """A proposal written as changes to a reference case: `edit`'s lines replace the reference's
    lines of the same name (measurements matched through the registry's names and synonyms, so
    'Sodium' replaces 'sodium'), new names are added and everything else is kept. Both are
    proposal dicts (`read_proposal`). A complete case written out in full is its own edit."""
    out = {k: v for k, v in reference.items() if k != "measurements"}
    for k, v in edit.items():
        if k != "measurements":
            out[k] = v  # age, sex, calculator, mask, and whole finding lists
    meas = dict(reference.get("measurements") or {})
    by_id = {registry.resolve(str(n)) or n: n for n in meas}
    for name, value in (edit.get("measurements") or {}).items():
        vid = registry.resolve(str(name)) or name
        if vid in by_id:
            meas.pop(by_id[vid], None)
        by_id[vid] = name
        meas[name] = value
    out["measurements"] = meas
    return out


def _measurement(raw: Any) -> tuple[float, str | None]:
    if isinstance(raw, bool):
        raise ValueError("a measurement must be a number, not true/false")
    if isinstance(raw, (int, float)):
        return float(raw), None
    if isinstance(raw, dict) and "value" in raw:
        v, u = raw["value"], raw.get("unit")
        if isinstance(v, str):
            v2, u2 = _measurement(v)
            return v2, u or u2
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"value {v!r} is not a number")
        return float(v), u
    if isinstance(raw, (list, tuple)) and len(raw) == 2:
        return _measurement({"value": raw[0], "unit": raw[1]})
    if isinstance(raw, str):
        m = _NUM_UNIT.match(raw)
        if m:
            return float(m.group(1)), (m.group(2) or None)
    raise ValueError(f"{raw!r} is not a number, {{\"value\": x, \"unit\": u}} or \"x unit\"")


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(str(name).lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def parse_case(sim, proposal: Any, lenient: bool = False, physiology: bool = True) -> Case | Rejection:
    """Steps up to and including units, limits, derived values, constraints and (unless
    `physiology` is False) the physiology couplings, none excepted (no engine).

    With `lenient`, names the registry does not know (a stray 'name: Captain' line, a misspelt
    finding) are dropped instead of rejecting the case, as long as they are a minority of what
    was written; `Case.ignored` lists them. Training uses this so a small model's mostly-right
    edits of a reference case count; `azmed case check` stays strict.
    """
    reg = sim.registry
    try:
        data = read_proposal(proposal) if isinstance(proposal, str) else proposal
    except ValueError as exc:
        return Rejection("parse", f"{exc}; write the case as 'name: value' lines or one JSON object")
    if not isinstance(data, dict):
        return Rejection("schema", "the case must be a JSON object with age, sex, measurements and symptoms")
    # demographics
    age = data.get("age")
    if isinstance(age, str) and re.match(r"^\s*\d+", age):
        age = int(re.match(r"^\s*(\d+)", age).group(1))
    if isinstance(age, bool) or not isinstance(age, (int, float)):
        return Rejection("schema", "'age' is missing or not a number; give the age in years, e.g. \"age\": 64")
    if not 18 <= age <= 105:
        return Rejection("implausible", f"age {age:g} is outside the adult range 18-105 years the packs cover")
    sex = _SEX.get(str(data.get("sex", "")).strip().lower())
    if sex is None:
        return Rejection("schema", "'sex' is missing or not one of M/F; write \"sex\": \"M\" or \"F\"")
    # findings
    findings: set[str] = set()
    ignored: list[str] = []
    for key in FINDING_FIELDS:
        items = data.get(key, [])
        if items in (None, ""):
            continue
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            return Rejection("schema", f"'{key}' must be a list of strings")
        for item in items:
            fid = reg.resolve(str(item))
            if fid is None or fid not in reg.findings:
                if lenient:
                    ignored.append(f"{key}: {item}")
                    continue
                return Rejection("unknown-finding", f"{key}: '{item}' is not a known finding{_suggest(item, reg.findings)}")
            findings.add(fid)
    # measurements
    meas = data.get("measurements", {})
    if not isinstance(meas, dict) or not meas:
        return Rejection("schema", "'measurements' must be an object of variable -> {\"value\": x, \"unit\": u}")
    values: dict[str, float] = {}
    units: dict[str, str] = {}
    shown: dict[str, float] = {}
    stated_derived: dict[str, float] = {}
    for name, raw in meas.items():
        vid = reg.resolve(str(name))
        if vid is None or vid not in reg.variables:
            if lenient:
                ignored.append(str(name))
                continue
            return Rejection("unknown-variable", f"'{name}' is not a known variable{_suggest(name, reg.variables)}")
        var = reg.variables[vid]
        try:
            value, unit = _measurement(raw)
            canonical = var.to_canonical(value, unit)
        except UnitError as exc:
            return Rejection("unit", str(exc))
        except ValueError as exc:
            return Rejection("schema", f"measurements.{name}: {exc}")
        if var.derive:
            stated_derived[vid] = canonical
            continue
        lo, hi = var.limits
        if not lo <= canonical <= hi:
            return Rejection("implausible", f"{var.name} {value:g} {display_unit(unit or var.unit)} is outside the "
                             f"physiological limits {lo:g}-{hi:g} {display_unit(var.unit)}; no living patient has it")
        values[vid] = canonical
        code = unit_code(var, unit) or unit  # 'mmHg' is the canonical mm[Hg], spelled for people
        if code != var.unit:
            units[vid], shown[vid] = code, value
    if ignored and len(ignored) >= max(1, len(values) + len(stated_derived) + len(findings)):
        return Rejection("unknown-variable", f"most names are unknown ({', '.join(ignored[:4])}); "
                         "use the variable and finding names of the reference cases")
    if not values:
        return Rejection("schema", "no known measurement given; write lines like 'sodium: 140 mmol/L'")
    order = sim.variable_order
    case = Case(age=int(round(age)), sex=sex, values=dict(sorted(values.items(), key=lambda kv: order[kv[0]])),
                findings=[f for f in reg.findings if f in findings], pack=str(data.get("pack", "") or ""),
                units=units, shown=shown, ignored=ignored)
    sim.add_derived(case)
    for vid, stated in stated_derived.items():
        if vid not in case.values:
            continue  # inputs missing: the stated value is ignored, never trusted
        computed = case.values[vid]
        if abs(stated - computed) > max(1.0, DERIVED_TOLERANCE * abs(computed)):
            var = reg.variables[vid]
            return Rejection("inconsistent", f"{var.name} is given as {stated:g} but its inputs give {computed:g} "
                             f"{display_unit(var.unit)} ({var.derive}); remove it or fix the inputs")
    case.values = dict(sorted(case.values.items(), key=lambda kv: order[kv[0]]))
    failure = sim.constraint_failure(case)
    if failure:
        return Rejection("implausible", failure)
    missing = sim.physiology.missing_inputs(case.values)
    if missing:
        return Rejection("schema", missing)
    if physiology:
        breaks = sim.physiology_breaks(case)
        if breaks:
            return Rejection("implausible", breaks[0].message)
    return case


def validate_case(sim, proposal: Any, lenient: bool = False) -> Case | Rejection:
    """Full validation: `parse_case`, then the engine decides the label; a broken physiology
    coupling is allowed only when the label's diagnosis declares that departure."""
    case = parse_case(sim, proposal, lenient, physiology=False)
    if isinstance(case, Rejection):
        return case
    outcome = sim.engine.label(case.facts())
    breaks = sim.physiology_breaks(case)
    if breaks:
        allowed = set(sim.diagnoses[outcome.label].departures) if outcome.ok else set()
        unexplained = [b for b in breaks if b.coupling not in allowed]
        if unexplained:
            return Rejection("implausible", unexplained[0].message)
    if outcome.reason == "no-rule":
        return Rejection("no-diagnosis", "no diagnostic rule fires on these findings; make the values meet "
                         "one diagnosis's criteria (see `azmed packs list`)")
    if outcome.reason == "ambiguous":
        names = ", ".join(f"{d} ({sim.diagnoses[d].name})" for d in outcome.fired)
        return Rejection("ambiguous", f"several diagnoses fit: {names}; change values so only one does")
    case.label, case.label_name = outcome.label, sim.diagnoses[outcome.label].name
    if not case.pack:
        case.pack = sim.pack_of[outcome.label]
    return case
