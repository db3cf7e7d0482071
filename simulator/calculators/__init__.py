"""Clinical calculators: scores and formulas computed from a case's values, with explanations.

    from simulator import calculators as calc
    calc.get("CHA2DS2-VASc score").id                    # 'cha2ds2_vasc' (ids and aliases, any case)
    calc.evaluate("anion_gap", {"sodium": 140, "chloride": 104, "bicarbonate": 24})
    # CalcResult(calculator='anion_gap', answer=12.0, unit='mmol/L', explanation='anion gap = ...')
    calc.get("Estimated Due Date").id, calc.get(13).id     # MedCalc-Bench names and Calculator IDs: 'due_date'
    calc.applicable(values)                              # calculators whose required inputs are present
    calc.within_tolerance(answer, truth, integer)        # the grading rule for numbers (exact / ±5 %)
    calc.answer_correct(answer, truth, calc.get(13).kind) # ... for every kind (dates, weeks and days)

`values` is a flat mapping of input name -> value in canonical units: a case's measurements
and findings plus its `age` and `sex` ("M"/"F"). Extra keys are ignored. From the shell:
`azmed calc NAME key=value[unit] ...` (units converted by `inputs.to_canonical`), or
`azmed calc NAME --entities JSON|FILE` with MedCalc-Bench's entities (`medcalc.import_entities`).

Families (one module each): `body` (BMI, BSA, ideal, adjusted and target weight), `chemistry`
(anion gaps, delta gaps and ratios, corrected calcium and sodium, osmolality, free water deficit,
LDL, HOMA-IR), `renal` (CKD-EPI 2021, MDRD, Cockcroft-Gault, FENa), `cardiology` (MAP, QTc,
CHA2DS2-VASc, HAS-BLED, HEART, RCRI, Framingham hard CHD), `thrombosis` (Wells PE/DVT, PERC,
Caprini), `acute_care` (SIRS, CURB-65, PSI, GCS, Centor, McIsaac, FeverPAIN), `liver`
(Child-Pugh, MELD-Na, FIB-4, Glasgow-Blatchford), `critical_care` (APACHE II, SOFA),
`comorbidity` (Charlson), `dosing` (MME, steroid conversion, maintenance fluids), `obstetrics`
(due date, conception date, gestational age). Every MedCalc-Bench calculator (55) is here; all
of them carry its Calculator ID (`medcalc_id`).
Each module's docstring states its conventions and where MedCalc-Bench differs.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Mapping

from simulator.calculators import (acute_care, body, cardiology, chemistry, comorbidity, critical_care, dosing,
                                   liver, obstetrics, renal, thrombosis)
from simulator.calculators.base import CalcResult, Calculator, answer_correct, within_tolerance
from simulator.calculators.inputs import CalculatorInputError, Input
from simulator.calculators.medcalc_entities import MEDCALC_NAMES

__all__ = ["CALCULATORS", "CalcResult", "Calculator", "CalculatorInputError", "Input", "UnknownCalculatorError",
           "answer_correct", "applicable", "by_medcalc_id", "evaluate", "get", "within_tolerance"]

FAMILIES = (body, chemistry, renal, cardiology, thrombosis, acute_care, liver, critical_care, comorbidity, dosing,
            obstetrics)


class UnknownCalculatorError(CalculatorInputError):
    """No calculator has the requested id or alias."""


def _name_key(name: str) -> str:
    """Ids and aliases match ignoring case, spaces and punctuation: 'CHA2DS2-VASc' == 'cha2ds2_vasc'."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def _build() -> tuple[dict[str, Calculator], dict[str, str], dict[int, str]]:
    calculators: dict[str, Calculator] = {}
    names: dict[str, str] = {}
    medcalc: dict[int, str] = {}
    for module in FAMILIES:
        for c in module.CALCULATORS:
            if c.id in calculators:
                raise ValueError(f"calculator id {c.id!r} is declared twice")
            calculators[c.id] = c
            for n in (c.id, c.name, *c.aliases):
                k = _name_key(n)
                if names.setdefault(k, c.id) != c.id:
                    raise ValueError(f"calculator name {n!r} of {c.id!r} already names {names[k]!r}")
            if c.medcalc_id is not None:
                if medcalc.setdefault(c.medcalc_id, c.id) != c.id or c.medcalc_id not in MEDCALC_NAMES:
                    raise ValueError(f"MedCalc-Bench Calculator ID {c.medcalc_id} of {c.id!r} is unknown or "
                                     f"already {medcalc[c.medcalc_id]!r}'s")
                k = _name_key(MEDCALC_NAMES[c.medcalc_id])
                if names.setdefault(k, c.id) != c.id:
                    raise ValueError(f"MedCalc-Bench's name of {c.id!r} already names {names[k]!r}")
    if set(medcalc) != set(MEDCALC_NAMES):
        raise ValueError(f"no calculator for MedCalc-Bench IDs {sorted(set(MEDCALC_NAMES) - set(medcalc))}")
    return calculators, names, medcalc


CALCULATORS, _NAMES, _MEDCALC_IDS = _build()


def by_medcalc_id(calculator_id: int | str) -> Calculator:
    """The calculator with MedCalc-Bench's Calculator ID `calculator_id` (2 ... 69)."""
    try:
        cid = _MEDCALC_IDS.get(int(str(calculator_id).strip()))
    except ValueError:
        cid = None
    if cid is None:
        raise UnknownCalculatorError(f"no calculator has MedCalc-Bench Calculator ID {calculator_id!r}; the IDs are "
                                     f"{', '.join(str(i) for i in sorted(_MEDCALC_IDS))}")
    return CALCULATORS[cid]


def get(name: str | int) -> Calculator:
    """The calculator with this id, name or alias (case and punctuation ignored), or with this
    MedCalc-Bench Calculator ID (an int, or digits such as "13")."""
    if isinstance(name, int) or str(name).strip().isdigit():
        return by_medcalc_id(name)
    cid = _NAMES.get(_name_key(name))
    if cid is None:
        close = difflib.get_close_matches(_name_key(name), list(_NAMES), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(sorted({_NAMES[c] for c in close}))}?" if close else ""
        raise UnknownCalculatorError(f"no calculator named {name!r}.{hint} Known calculators: "
                                     f"{', '.join(CALCULATORS)}")
    return CALCULATORS[cid]


def applicable(values: Mapping[str, Any]) -> list[Calculator]:
    """Calculators whose required inputs are all present in `values`. A calculator made only of
    optional findings (Wells DVT) applies when at least one of its findings is given, so a case
    that says nothing about a score does not get it."""
    out = []
    for c in CALCULATORS.values():
        given = [i.name for i in c.inputs if values.get(i.name) is not None]
        if all(values.get(n) is not None for n in c.required) and (c.required or given):
            out.append(c)
    return out


def evaluate(name: str, values: Mapping[str, Any]) -> CalcResult:
    """Run calculator `name` on `values`; CalculatorInputError says what is missing or invalid."""
    return get(name).compute(values)
