"""Intensive-care severity scores: APACHE II and SOFA.

    from simulator.calculators import evaluate
    evaluate("apache_ii", {"age": 70, "temperature": 39.2, "sbp": 90, "dbp": 50, "heart_rate": 120,
                           "resp_rate": 28, "fio2": 40, "pao2": 65, "ph": 7.30, "sodium": 132,
                           "potassium": 4.0, "creatinine": 2.1, "hematocrit": 35, "wbc": 18,
                           "gcs": 13}).answer                                               # 22
    evaluate("sofa", {"pao2": 80, "fio2": 50, "platelets": 90, "total_bilirubin": 2.5,
                      "creatinine": 1.5, "gcs": 14}).answer                                 # 8

Temperature in °C, pressures in mm Hg, FiO2 in %, electrolytes in mmol/L, creatinine and
bilirubin in mg/dL, hematocrit in %, WBC and platelets in 10^3/µL, vasopressors in µg/kg/min,
urine output in mL/day. MAP is taken from `map` when given, else (SBP + 2 DBP) / 3.

APACHE II (Knaus 1985): the worst values of the first 24 h, each scored on both sides of its
normal band (continuous values fall in the band whose lower limit they reach: a heart rate of
109.5 scores as 70-109); oxygenation is the A-a gradient when FiO2 >= 50 % (computed from
PaO2, PaCO2 and FiO2 at sea level when not given), else PaO2; serum bicarbonate replaces pH
when no arterial gas is given; creatinine points are doubled in acute renal failure; GCS scores
15 - GCS; chronic health scores 5 for a nonoperative or emergency postoperative patient and 2
for an elective postoperative one when there is a history of severe organ insufficiency or
immunocompromise. Where MedCalc-Bench 1.7 departs from the paper: it scores nothing below the
normal band of heart rate, respiratory rate, MAP, pH, sodium, potassium, hematocrit and WBC;
adds the GCS itself instead of 15 - GCS; scores no age points at exactly 45 or 75; gives
creatinine points only with acute or chronic renal failure (a chronic flag scores as the
non-doubled points; the paper has no chronic item); and scores a "Nonoperative" or
"Nonelective" admission 0 for chronic health.

SOFA (Vincent 1996): respiration by PaO2/FiO2 (3 and 4 points only with respiratory support:
mechanical ventilation or CPAP), platelets, bilirubin, cardiovascular (MAP < 70, or the
vasopressor tier), GCS (not given: 15, the usual convention for a missing component), renal
(the worse of creatinine and urine output). Where MedCalc-Bench 1.7 departs from the paper: it
gives 2 cardiovascular points to every patient with a MAP of 70 or more and no vasopressor,
scores no renal points when both creatinine and urine output are given, scores urine output
< 200 mL/day as 3 instead of 4, and gives a PaO2/FiO2 below 100 on CPAP alone no points.
"""

from __future__ import annotations

from typing import Sequence

from simulator.calculators.base import Calculator, Criterion, Values, fmt, point_score
from simulator.calculators.inputs import CalculatorInputError, Input, finding, number

ATMOSPHERIC = 760.0   # mm Hg at sea level
WATER_VAPOUR = 47.0   # mm Hg at 37 °C
RESPIRATORY_QUOTIENT = 0.8


def ladder(name: str, label: str, unit: str, high: Sequence[tuple[float, float]], normal_from: float,
           low: Sequence[tuple[float, float]], bottom: float) -> Criterion:
    """A two-sided band table: `high` is (lower limit, points) from the top down, values from
    `normal_from` up to the lowest high limit score 0, `low` is (lower limit, points) below it
    from the top down, and anything lower scores `bottom`."""
    def rule(v: Values) -> tuple[float, str]:
        x = v[name]
        for limit, points in high:
            if x >= limit:
                return points, f"{fmt(x)}{unit} (>= {fmt(limit)})"
        if x >= normal_from:
            return 0, f"{fmt(x)}{unit} (normal band)"
        for limit, points in low:
            if x >= limit:
                return points, f"{fmt(x)}{unit} (>= {fmt(limit)})"
        return bottom, f"{fmt(x)}{unit} (< {fmt(low[-1][0] if low else normal_from)})"
    return Criterion(label, rule)


def mean_arterial_pressure(v: Values) -> tuple[float, str]:
    """MAP from `map`, else from SBP and DBP; CalculatorInputError when neither is given."""
    if v.get("map") is not None:
        return v["map"], f"MAP {fmt(v['map'])} mm Hg"
    sbp, dbp = v.get("sbp"), v.get("dbp")
    if sbp is None or dbp is None:
        raise CalculatorInputError("give map, or both sbp and dbp, for the mean arterial pressure")
    if sbp <= dbp:
        raise CalculatorInputError(f"sbp={fmt(sbp)} must be greater than dbp={fmt(dbp)}; check the blood pressure")
    m = (sbp + 2 * dbp) / 3
    return m, f"MAP = ({fmt(sbp)} + 2 x {fmt(dbp)}) / 3 = {fmt(m)} mm Hg"


BLOOD_PRESSURE = (number("map", required=False), number("sbp", required=False), number("dbp", required=False))

# ---- APACHE II -----------------------------------------------------------------------------------

ADMISSION = Input("admission_type", "choice", "admission type (needed with severe organ insufficiency)",
                  required=False, default=None,
                  options={"nonoperative": "nonoperative", "emergency": "emergency postoperative",
                           "elective": "elective postoperative"},
                  synonyms={"non operative": "nonoperative", "medical": "nonoperative", "nonelective": "emergency",
                            "non elective": "emergency", "emergency surgery": "emergency", "urgent": "emergency",
                            "elective surgery": "elective", "postoperative elective": "elective"})


def _apache_map(v: Values) -> tuple[float, str]:
    m, seen = mean_arterial_pressure(v)
    pts = 4 if m >= 160 else 3 if m >= 130 else 2 if m >= 110 else 0 if m >= 70 else 2 if m >= 50 else 4
    return pts, seen


def _apache_oxygenation(v: Values) -> tuple[float, str]:
    fio2, pao2, gradient = v["fio2"], v["pao2"], v["a_a_gradient"]
    if fio2 >= 50:
        if gradient is None:
            if pao2 is None or v["paco2"] is None:
                raise CalculatorInputError("apache_ii: with FiO2 >= 50 % give a_a_gradient, or pao2 and paco2 "
                                           "to compute it")
            alveolar = fio2 / 100 * (ATMOSPHERIC - WATER_VAPOUR) - v["paco2"] / RESPIRATORY_QUOTIENT
            gradient = alveolar - pao2
            seen = (f"FiO2 {fmt(fio2)} %: A-a gradient = {fmt(fio2 / 100)} x (760 - 47) - {fmt(v['paco2'])} / 0.8"
                    f" - {fmt(pao2)} = {fmt(gradient)} mm Hg")
        else:
            seen = f"FiO2 {fmt(fio2)} %: A-a gradient {fmt(gradient)} mm Hg"
        return (4 if gradient >= 500 else 3 if gradient >= 350 else 2 if gradient >= 200 else 0), seen
    if pao2 is None:
        raise CalculatorInputError("apache_ii: with FiO2 < 50 % give pao2 (arterial PaO2, mm Hg)")
    seen = f"FiO2 {fmt(fio2)} %: PaO2 {fmt(pao2)} mm Hg"
    return (0 if pao2 > 70 else 1 if pao2 >= 61 else 3 if pao2 >= 55 else 4), seen


def _apache_acid_base(v: Values) -> tuple[float, str]:
    ph, hco3 = v["ph"], v["bicarbonate"]
    if ph is not None:
        pts = 4 if ph >= 7.7 else 3 if ph >= 7.6 else 1 if ph >= 7.5 else 0 if ph >= 7.33 else \
            2 if ph >= 7.25 else 3 if ph >= 7.15 else 4
        return pts, f"pH {fmt(ph)}"
    if hco3 is None:
        raise CalculatorInputError("apache_ii: give ph (arterial), or bicarbonate when there is no arterial gas")
    pts = 4 if hco3 >= 52 else 3 if hco3 >= 41 else 1 if hco3 >= 32 else 0 if hco3 >= 22 else \
        2 if hco3 >= 18 else 3 if hco3 >= 15 else 4
    return pts, f"no arterial pH: serum HCO3 {fmt(hco3)} mmol/L"


def _apache_creatinine(v: Values) -> tuple[float, str]:
    cr, arf = v["creatinine"], v["acute_renal_failure"]
    pts = 4 if cr >= 3.5 else 3 if cr >= 2.0 else 2 if cr >= 1.5 else 0 if cr >= 0.6 else 2
    if arf:
        return 2 * pts, f"{fmt(cr)} mg/dL, acute renal failure: points doubled"
    return pts, f"{fmt(cr)} mg/dL"


def _apache_chronic_health(v: Values) -> tuple[float, str]:
    if not v["severe_organ_insufficiency"]:
        return 0, "no severe organ insufficiency or immunocompromise"
    kind = v["admission_type"]
    if kind is None:
        raise CalculatorInputError("apache_ii: severe organ insufficiency is present, so give admission_type "
                                   "(nonoperative, emergency or elective)")
    return (2 if kind == "elective" else 5), f"present, {ADMISSION.label(kind)} patient"


APACHE_II = point_score([
    ladder("age", "Age", " years", [(75, 6), (65, 5), (55, 3), (45, 2)], 0, [], 0),
    ladder("temperature", "Temperature", " °C", [(41, 4), (39, 3), (38.5, 1)], 36, [(34, 1), (32, 2), (30, 3)], 4),
    Criterion("Mean arterial pressure", _apache_map),
    ladder("heart_rate", "Heart rate", "/min", [(180, 4), (140, 3), (110, 2)], 70, [(55, 2), (40, 3)], 4),
    ladder("resp_rate", "Respiratory rate", "/min", [(50, 4), (35, 3), (25, 1)], 12, [(10, 1), (6, 2)], 4),
    Criterion("Oxygenation (A-a gradient if FiO2 >= 50 %, else PaO2)", _apache_oxygenation),
    Criterion("Arterial pH (serum HCO3 without an arterial gas)", _apache_acid_base),
    ladder("sodium", "Sodium", " mmol/L", [(180, 4), (160, 3), (155, 2), (150, 1)], 130, [(120, 2), (111, 3)], 4),
    ladder("potassium", "Potassium", " mmol/L", [(7, 4), (6, 3), (5.5, 1)], 3.5, [(3, 1), (2.5, 2)], 4),
    Criterion("Creatinine (doubled in acute renal failure)", _apache_creatinine),
    ladder("hematocrit", "Hematocrit", " %", [(60, 4), (50, 2), (46, 1)], 30, [(20, 2)], 4),
    ladder("wbc", "White cell count", " x10^3/uL", [(40, 4), (20, 2), (15, 1)], 3, [(1, 2)], 4),
    Criterion("Glasgow Coma Scale (15 - GCS)", lambda v: (15 - v["gcs"], f"GCS {fmt(v['gcs'])}")),
    Criterion("Chronic health (severe organ insufficiency or immunocompromise)", _apache_chronic_health),
], "APACHE II")

# ---- SOFA --------------------------------------------------------------------------------------------

PRESSORS = ("dopamine", "dobutamine", "epinephrine", "norepinephrine")


def _sofa_respiration(v: Values) -> tuple[float, str]:
    pao2, fio2, support = v["pao2"], v["fio2"], v["mechanical_ventilation"] or v["cpap"]
    ratio = pao2 / (fio2 / 100)
    seen = f"PaO2/FiO2 = {fmt(pao2)} / {fmt(fio2 / 100)} = {fmt(ratio)} mm Hg, " + \
        ("with respiratory support" if support else "no respiratory support")
    if ratio < 200 and support:
        return (4 if ratio < 100 else 3), seen
    return (2 if ratio < 300 else 1 if ratio < 400 else 0), seen


def _sofa_cardiovascular(v: Values) -> tuple[float, str]:
    dose = {p: v[f"{p}_dose"] or 0.0 for p in PRESSORS}
    given = ", ".join(f"{p} {fmt(d)} µg/kg/min" for p, d in dose.items() if d > 0)
    if dose["dopamine"] > 15 or dose["epinephrine"] > 0.1 or dose["norepinephrine"] > 0.1:
        return 4, given
    if dose["dopamine"] > 5 or dose["epinephrine"] > 0 or dose["norepinephrine"] > 0:
        return 3, given
    if dose["dopamine"] > 0 or dose["dobutamine"] > 0:
        return 2, given
    if v.get("map") is not None or (v.get("sbp") is not None and v.get("dbp") is not None):
        m, seen = mean_arterial_pressure(v)
        return (1 if m < 70 else 0), f"no vasopressor, {seen}"
    low = v["hypotension"]
    return (1 if low else 0), "no vasopressor, " + ("MAP < 70 mm Hg" if low else "no hypotension")


def _sofa_renal(v: Values) -> tuple[float, str]:
    cr, uo = v["creatinine"], v["urine_output"]
    if cr is None and uo is None:
        raise CalculatorInputError("sofa: give creatinine (mg/dL) or urine_output (mL/day) for the renal score")
    parts, seen = [0], []
    if cr is not None:
        parts.append(4 if cr >= 5 else 3 if cr >= 3.5 else 2 if cr >= 2 else 1 if cr >= 1.2 else 0)
        seen.append(f"creatinine {fmt(cr)} mg/dL")
    if uo is not None:
        parts.append(4 if uo < 200 else 3 if uo < 500 else 0)
        seen.append(f"urine output {fmt(uo)} mL/day")
    return max(parts), " and ".join(seen) + " (the worse counts)"


def _sofa_cns(v: Values) -> tuple[float, str]:
    gcs = v["gcs"]
    if gcs is None:
        return 0, "GCS not given: taken as 15"
    return (0 if gcs >= 15 else 1 if gcs >= 13 else 2 if gcs >= 10 else 3 if gcs >= 6 else 4), f"GCS {fmt(gcs)}"


SOFA = point_score([
    Criterion("Respiration (PaO2/FiO2)", _sofa_respiration),
    ladder("platelets", "Coagulation (platelets)", " x10^3/uL", [], 150, [(100, 1), (50, 2), (20, 3)], 4),
    ladder("total_bilirubin", "Liver (bilirubin)", " mg/dL", [(12, 4), (6, 3), (2, 2), (1.2, 1)], 0, [], 0),
    Criterion("Cardiovascular (MAP or vasopressors, µg/kg/min)", _sofa_cardiovascular),
    Criterion("Central nervous system (GCS)", _sofa_cns),
    Criterion("Renal (creatinine or urine output)", _sofa_renal),
], "SOFA")

CALCULATORS = [
    Calculator(
        id="apache_ii", name="APACHE II score", unit="points", integer=True, medcalc_id=28,
        aliases=("APACHE II", "APACHE II Score", "APACHE 2", "Acute Physiology and Chronic Health Evaluation II"),
        reference="Knaus WA, Draper EA, Wagner DP, Zimmerman JE. APACHE II: a severity of disease "
                  "classification system. Crit Care Med 1985;13:818-29.",
        inputs=(number("age"), number("temperature"), *BLOOD_PRESSURE, number("heart_rate"), number("resp_rate"),
                number("fio2"), number("pao2", required=False), number("a_a_gradient", required=False),
                number("paco2", required=False), number("ph", required=False),
                number("bicarbonate", required=False), number("sodium"), number("potassium"),
                number("creatinine"), finding("acute_renal_failure", "acute renal failure"),
                finding("chronic_renal_failure", "chronic renal failure (no points of its own in APACHE II)"),
                number("hematocrit"), number("wbc"), number("gcs"),
                finding("severe_organ_insufficiency", "history of severe organ insufficiency or immunocompromise"),
                ADMISSION),
        formula=APACHE_II),
    Calculator(
        id="sofa", name="SOFA score", unit="points", integer=True, medcalc_id=43,
        aliases=("SOFA", "Sequential Organ Failure Assessment (SOFA) Score", "Sequential Organ Failure Assessment",
                 "SOFA score"),
        reference="Vincent JL et al. The SOFA (Sepsis-related Organ Failure Assessment) score to describe organ "
                  "dysfunction/failure. Intensive Care Med 1996;22:707-10.",
        inputs=(number("pao2"), number("fio2"), finding("mechanical_ventilation", "on mechanical ventilation"),
                finding("cpap", "on continuous positive airway pressure"), number("platelets"),
                number("total_bilirubin"), *BLOOD_PRESSURE, finding("hypotension", "MAP < 70 mm Hg"),
                *(number(f"{p}_dose", quantity="vasopressor_dose", required=False,
                         description=f"{p} infusion (µg/kg/min, for at least 1 hour)") for p in PRESSORS),
                number("gcs", required=False), number("creatinine", required=False),
                number("urine_output", required=False)),
        formula=SOFA),
]
