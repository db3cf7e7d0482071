"""Body size: body mass index, body surface area, ideal and adjusted body weight, and the
weight that gives a target BMI.

    from simulator.calculators import evaluate
    evaluate("bmi", {"weight": 70, "height": 175}).answer        # 22.857 kg/m2

Weight in kg, height in cm (the registry's canonical units). Ideal body weight is Devine's
(1974) formula in inches over 5 feet; it is meant for adults and is not defined for very short
stature, so its calculators accept heights from 120 cm. `ideal_body_weight_kg` and
`adjusted_body_weight_kg` are shared with the Cockcroft-Gault calculators in `renal.py`.
"""

from __future__ import annotations

import math

from simulator.calculators.base import Calculator, Values, fmt
from simulator.calculators.inputs import SEX, number

CM_PER_INCH = 2.54


def bmi_value(weight_kg: float, height_cm: float) -> float:
    return weight_kg / (height_cm / 100) ** 2


def ideal_body_weight_kg(sex: str, height_cm: float) -> tuple[float, str]:
    """Devine: 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch over 60 inches."""
    base = 50.0 if sex == "M" else 45.5
    inches = height_cm / CM_PER_INCH
    ibw = base + 2.3 * (inches - 60)
    return ibw, (f"IBW = {fmt(base)} + 2.3 x (height in inches - 60) = {fmt(base)} + 2.3 x "
                 f"({fmt(height_cm)} / 2.54 - 60) = {fmt(base)} + 2.3 x ({fmt(inches)} - 60) = {fmt(ibw)} kg")


def adjusted_body_weight_kg(ibw: float, weight_kg: float) -> tuple[float, str]:
    """IBW + 0.4 x (actual weight - IBW)."""
    abw = ibw + 0.4 * (weight_kg - ibw)
    return abw, f"ABW = IBW + 0.4 x (weight - IBW) = {fmt(ibw)} + 0.4 x ({fmt(weight_kg)} - {fmt(ibw)}) = {fmt(abw)} kg"


# ---- formulas ----------------------------------------------------------------------------------

def _bmi(v: Values):
    w, h = v["weight"], v["height"]
    bmi = bmi_value(w, h)
    return bmi, [
        "BMI = weight (kg) / height (m)^2",
        f"height = {fmt(h)} cm = {fmt(h / 100)} m",
        f"BMI = {fmt(w)} / {fmt(h / 100)}^2 = {fmt(bmi)} kg/m2",
    ]


def _bsa(v: Values):
    w, h = v["weight"], v["height"]
    bsa = math.sqrt(w * h / 3600)
    return bsa, [
        "BSA (Mosteller) = sqrt(weight (kg) x height (cm) / 3600)",
        f"BSA = sqrt({fmt(w)} x {fmt(h)} / 3600) = sqrt({fmt(w * h / 3600)}) = {fmt(bsa)} m2",
    ]


def _target_weight(v: Values):
    bmi, h = v["target_bmi"], v["height"]
    w = bmi * (h / 100) ** 2
    return w, [
        "target weight = target BMI x height (m)^2",
        f"= {fmt(bmi)} x {fmt(h / 100)}^2 = {fmt(w)} kg",
    ]


def _ibw(v: Values):
    ibw, step = ideal_body_weight_kg(v["sex"], v["height"])
    return ibw, [f"Devine ideal body weight for a {SEX.label(v['sex'])}:", step]


def _abw(v: Values):
    ibw, step = ideal_body_weight_kg(v["sex"], v["height"])
    abw, step2 = adjusted_body_weight_kg(ibw, v["weight"])
    return abw, [f"Ideal body weight (Devine) for a {SEX.label(v['sex'])}:", step, step2]


ADULT_HEIGHT = number("height", low=120)

CALCULATORS = [
    Calculator(
        id="bmi", name="Body mass index", unit="kg/m2", integer=False,
        medcalc_id=6,
        aliases=("BMI", "body mass index (BMI)", "Quetelet index"),
        reference="Keys A et al. Indices of relative weight and obesity. J Chronic Dis 1972;25:329-43.",
        inputs=(number("weight"), number("height")), formula=_bmi),
    Calculator(
        id="bsa", name="Body surface area (Mosteller)", unit="m2", integer=False,
        medcalc_id=60,
        aliases=("BSA", "body surface area", "Mosteller BSA", "body surface area calculator"),
        reference="Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.",
        inputs=(number("weight"), number("height")), formula=_bsa),
    Calculator(
        id="ideal_body_weight", name="Ideal body weight (Devine)", unit="kg", integer=False,
        medcalc_id=10,
        aliases=("IBW", "ideal body weight", "Devine formula"),
        reference="Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-5.",
        inputs=(SEX, ADULT_HEIGHT), formula=_ibw),
    Calculator(
        id="adjusted_body_weight", name="Adjusted body weight", unit="kg", integer=False,
        medcalc_id=62,
        aliases=("ABW", "adjusted body weight", "AjBW"),
        reference="Winter MA et al. Impact of various body weights and serum creatinine concentrations "
                  "on the bias and accuracy of the Cockcroft-Gault equation. Pharmacotherapy 2012;32:604-12.",
        inputs=(SEX, number("weight"), ADULT_HEIGHT), formula=_abw),
    Calculator(
        id="target_weight", name="Target weight for a BMI", unit="kg", integer=False, medcalc_id=61,
        aliases=("Target weight", "target body weight", "weight for target BMI", "goal weight"),
        reference="Keys A et al. Indices of relative weight and obesity. J Chronic Dis 1972;25:329-43 "
                  "(BMI = weight / height^2, solved for weight).",
        inputs=(number("target_bmi", quantity="bmi", description="target body mass index (kg/m2)"),
                number("height")),
        formula=_target_weight),
]
