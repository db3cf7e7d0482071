"""Reading a calculator's inputs back from a note and its question, and the one mapping from a
patient's facts to a calculator's inputs that both the sampler and the reader use.

    from simulator.vignettes import read_inputs
    read_inputs(sim, "mme", note.text, question)
    # {'oxycodone_dose': 10.0, 'oxycodone_doses_per_day': 4, 'age': 61, 'sex': 'M', ...}

What is read, with the note reader's words (the registry extended with the calculators' inputs):
- values and findings as `simulator.notes.scan` reads them (names, aliases, units, negation);
- a graded input from the finding of one of its options (no option stated: its default);
- a yes/no item that means "none of these" (no cough or coryza) from those findings' absence;
- prescriptions: a drug name, a dose with its unit, a route and a frequency ("oxycodone 10 mg PO
  q6h", "transdermal fentanyl 25 mcg/h", "methylprednisolone 125 mg IV"); the drug's name and
  route pick the drug (dexamethasone PO or IV), the frequency gives the doses a day;
- dates after their labels ("LMP 02/14/2024", "last menstrual period: 14 February 2024");
- the question's own inputs (the date of a gestational age, the target steroid) from the question.

Limits: a prescription must be written name, dose and unit in that order; a date must follow its
label in the same line; only the first prescription of each drug and the first date of each label
count.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.calculators import Calculator, CalculatorInputError
from simulator.calculators.dates import find_dates
from simulator.notes.lexicon import lexicon
from simulator.notes.reader import scan
from simulator.vignettes.kit import Kit, option_key

DATE_WINDOW = 80  # characters after a date's label in which its date is looked for


def calculator_inputs(kit: Kit, calc: Calculator, values: dict[str, float], findings: set[str],
                      details: dict[str, Any], shown, age: int | None, sex: str | None) -> dict[str, Any]:
    """The calculator's inputs that the facts state. `shown`: derived values that are stated (a
    derived value counts only when written); `details`: regimen, date and question inputs."""
    reg = kit.sim.registry
    out: dict[str, Any] = {}
    for inp in calc.inputs:
        name, w = inp.name, kit.spec.wording_of(inp.name)
        if name == "age":
            out[name] = age
        elif name == "sex":
            out[name] = sex
        elif name in details:
            out[name] = details[name]
        elif w.options:
            stated = [opt for opt, fid in w.options.items() if fid in findings]
            if len(stated) > 1:
                raise CalculatorInputError(f"{name}: the note states several options at once ({', '.join(stated)})")
            if stated:
                out[name] = option_key(inp, stated[0])
        elif w.negation_of:
            out[name] = not (set(w.negation_of) & findings)
        elif inp.kind == "bool":
            out[name] = name in findings
        elif name in values and (not reg.variables[name].derive or shown is None or name in shown):
            out[name] = values[name]
    return {k: v for k, v in out.items() if v is not None}


def read_inputs(sim, calculator: str, text: str, question: str = "") -> dict[str, Any]:
    """The inputs of `calculator` that note `text` (and its question) state, canonical units."""
    from simulator import calculators

    kit = Kit.of(sim)
    calc = calculators.get(calculator)
    facts = scan(lexicon(kit.sim), text)
    values = {}
    for vid, (number, unit) in facts.values.items():
        var = kit.sim.registry.variables[vid]
        values[vid] = var.round(var.to_canonical(number, unit))
    details = {**read_regimens(kit, calc, text), **read_dates(kit, calc, text), **read_question(kit, calc, question)}
    return calculator_inputs(kit, calc, values, set(facts.present), details, None, facts.age, facts.sex)


# ---- prescriptions ---------------------------------------------------------------------------------

def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _regimen_inputs(kit: Kit, calc: Calculator):
    """(dose input, Regimen) for the calculator's prescribed inputs."""
    return [(i.name, kit.spec.wording_of(i.name).regimen) for i in calc.inputs
            if kit.spec.wording_of(i.name).regimen is not None]


def regimen_drugs(kit: Kit, calc: Calculator) -> list[str]:
    """Drug ids a calculator's prescriptions may name."""
    out = []
    for _, r in _regimen_inputs(kit, calc):
        out += [r.drug] if r.drug else [str(o) for o in calc.input(r.drug_from).options if str(o) in kit.spec.drugs]
    return out


def prescription_regex(kit: Kit, drugs: list[str]) -> re.Pattern:
    spec = kit.spec
    names = [n for d in drugs for n in spec.drugs[d].names]
    routes = [w for ws in spec.routes.values() for w in ws]
    units = [u for us in spec.unit_spellings.values() for u in us]
    freqs = [f for fs in spec.frequencies.values() for f in fs]
    route = f"(?:{_alternation(routes)})(?![A-Za-z])" if routes else "(?!)"
    return re.compile(
        rf"(?<![A-Za-z])(?P<name>{_alternation(names)})(?![A-Za-z])\s+(?:(?P<r1>{route})\s+)?"
        rf"(?P<dose>\d+(?:\.\d+)?)\s*(?P<unit>{_alternation(units)})(?![A-Za-z/])"
        rf"(?:\s+(?P<r2>{route}))?(?:\s+(?P<freq>{_alternation(freqs)})(?![A-Za-z]))?", re.I)


def read_prescriptions(kit: Kit, drugs: list[str], text: str) -> list[tuple[str, float, int | None]]:
    """(drug id, dose in the drug's unit, doses a day or None) for each prescription in `text`."""
    spec = kit.spec
    route_of = {w.lower(): r for r, ws in spec.routes.items() for w in ws}
    unit_of = {u.lower(): uid for uid, us in spec.unit_spellings.items() for u in us}
    per_day_of = {f.lower(): n for n, fs in spec.frequencies.items() for f in fs}
    out = []
    for m in prescription_regex(kit, drugs).finditer(text):
        name, unit = m.group("name").lower(), unit_of[m.group("unit").lower()]
        route = route_of.get((m.group("r1") or m.group("r2") or "").lower())
        found = [d for d in drugs if name in (n.lower() for n in spec.drugs[d].names) and spec.drugs[d].unit == unit
                 and (route is None or spec.drugs[d].route == route)]
        if len(set(found)) == 1:
            freq = m.group("freq")
            out.append((found[0], float(m.group("dose")), per_day_of[freq.lower()] if freq else None))
    return out


def read_regimens(kit: Kit, calc: Calculator, text: str) -> dict[str, Any]:
    drugs = regimen_drugs(kit, calc)
    if not drugs:
        return {}
    found: dict[str, tuple[float, int | None]] = {}
    for drug, dose, per_day in read_prescriptions(kit, drugs, text):
        found.setdefault(drug, (dose, per_day))
    out: dict[str, Any] = {}
    for dose_input, r in _regimen_inputs(kit, calc):
        if r.drug and r.drug in found:
            out[dose_input] = found[r.drug][0]
            if r.per_day and found[r.drug][1] is not None:
                out[r.per_day] = found[r.drug][1]
        elif r.drug_from:
            inp = calc.input(r.drug_from)
            for option in inp.options:
                if str(option) in found:
                    out[r.drug_from], out[dose_input] = option, found[str(option)][0]
                    break
    return out


# ---- dates and the question ------------------------------------------------------------------------

def read_dates(kit: Kit, calc: Calculator, text: str) -> dict[str, Any]:
    out = {}
    for inp in calc.inputs:
        labels = kit.spec.wording_of(inp.name).date
        if inp.kind != "date" or not labels:
            continue
        for m in re.finditer(rf"(?i)(?<![A-Za-z])(?:{_alternation(labels)})(?![A-Za-z])", text):
            window = text[m.end():m.end() + DATE_WINDOW].split("\n")[0]
            dates = find_dates(window)
            if dates:
                out[inp.name] = dates[0][1]
                break
    return out


def read_question(kit: Kit, calc: Calculator, question: str) -> dict[str, Any]:
    """The question's own inputs, read by matching the question template of the calculator."""
    asked = kit.question_inputs(calc)
    if not asked or not question:
        return {}
    cs = kit.spec.calculators[calc.id]
    template = cs.question or ("What is the patient's {quantity} in {unit}?" if cs.unit
                               else "What is the patient's {quantity}?")
    template = template.replace("{quantity}", cs.quantity).replace("{unit}", cs.unit or "")
    pattern = re.escape(template)
    for inp in asked:
        pattern = pattern.replace(re.escape("{" + inp.name + "}"), f"(?P<{inp.name}>.+?)", 1)
    m = re.fullmatch(pattern, question.strip())
    if m is None:
        return {}
    out = {}
    for inp in asked:
        try:
            out[inp.name] = inp.coerce(m.group(inp.name))
        except CalculatorInputError:
            continue
    return out
