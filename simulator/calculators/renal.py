"""Kidney function: CKD-EPI 2021 and MDRD eGFR, Cockcroft-Gault creatinine clearance, and the
fractional excretion of sodium.

    from simulator.calculators import evaluate
    evaluate("ckd_epi_2021", {"age": 50, "sex": "F", "creatinine": 1.0}).answer   # 68.6

Creatinine in mg/dL (the registry converts µmol/L by /88.42), weight in kg, height in cm.
Adults only (age 18 and over): none of these equations is valid in children.

Conventions and where other implementations differ:
- CKD-EPI 2021 (race-free) uses kappa 0.9 for men and 0.7 for women. MedCalc-Bench 1.7's
  `ckd_epi_2021_explanation` uses kappa 0.7 for men whose creatinine is <= 0.9 mg/dL (its own
  `ckd_epi_2021` function uses 0.9), which overstates their eGFR by (0.9/0.7)^0.302 = 7.9 %; we
  follow the published equation.
- MDRD is the IDMS-traceable 4-variable equation (175, Levey 2006) with its published race
  coefficient 1.212, applied only when `black_race` is given as present (as MedCalc-Bench does).
- `cockcroft_gault` is the published equation with actual body weight (Cockcroft & Gault 1976).
  `cockcroft_gault_adjusted_weight` picks the weight as MDCalc and MedCalc-Bench do: actual
  weight when BMI < 18.5, the lesser of ideal and actual weight when BMI is 18.5-24.9, adjusted
  body weight (IBW + 0.4 x excess) above 24.9. Its result equals the published equation's times
  (weight used / actual weight).
- FENa (Espinel 1976) = (urine Na x plasma creatinine) / (plasma Na x urine creatinine) x 100,
  in %; the two creatinines in the same unit (both are converted to mg/dL). Same as MedCalc-Bench.
  It applies at any age, so it has no adult limit.
"""

from __future__ import annotations

from simulator.calculators.base import Calculator, Values, fmt
from simulator.calculators.body import adjusted_body_weight_kg, bmi_value, ideal_body_weight_kg
from simulator.calculators.inputs import SEX, finding, number

ADULT_AGE = number("age", low=18)


def _ckd_epi_2021(v: Values):
    age, sex, scr = v["age"], v["sex"], v["creatinine"]
    kappa, alpha = (0.7, -0.241) if sex == "F" else (0.9, -0.302)
    ratio = scr / kappa
    low, high = min(ratio, 1.0), max(ratio, 1.0)
    female = 1.012 if sex == "F" else 1.0
    egfr = 142 * low ** alpha * high ** -1.2 * 0.9938 ** age * female
    return egfr, [
        "eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 [if female]",
        f"{SEX.label(sex)}: k = {fmt(kappa)}, a = {fmt(alpha)}; Scr/k = {fmt(scr)} / {fmt(kappa)} = {fmt(ratio)}",
        f"eGFR = 142 x {fmt(low)}^{fmt(alpha)} x {fmt(high)}^-1.2 x 0.9938^{fmt(age)} x {fmt(female)}"
        f" = 142 x {fmt(low ** alpha)} x {fmt(high ** -1.2)} x {fmt(0.9938 ** age)} x {fmt(female)}"
        f" = {fmt(egfr)} mL/min/1.73 m2",
    ]


def _mdrd(v: Values):
    age, sex, scr, black = v["age"], v["sex"], v["creatinine"], v["black_race"]
    female = 0.742 if sex == "F" else 1.0
    race = 1.212 if black else 1.0
    egfr = 175 * scr ** -1.154 * age ** -0.203 * female * race
    return egfr, [
        "eGFR = 175 x Scr^-1.154 x age^-0.203 x 0.742 [if female] x 1.212 [if Black]",
        f"eGFR = 175 x {fmt(scr)}^-1.154 x {fmt(age)}^-0.203 x {fmt(female)} x {fmt(race)}"
        f" = 175 x {fmt(scr ** -1.154)} x {fmt(age ** -0.203)} x {fmt(female)} x {fmt(race)}"
        f" = {fmt(egfr)} mL/min/1.73 m2",
    ]


def _clearance(age: float, sex: str, weight: float, scr: float, weight_name: str) -> tuple[float, str]:
    factor = 0.85 if sex == "F" else 1.0
    crcl = (140 - age) * weight * factor / (72 * scr)
    return crcl, (f"CrCl = (140 - age) x {weight_name} x {fmt(factor)} / (72 x Scr) = (140 - {fmt(age)}) x "
                  f"{fmt(weight)} x {fmt(factor)} / (72 x {fmt(scr)}) = {fmt(crcl)} mL/min")


def _cockcroft_gault(v: Values):
    crcl, step = _clearance(v["age"], v["sex"], v["weight"], v["creatinine"], "weight")
    return crcl, ["CrCl = (140 - age) x actual body weight (kg) x 0.85 [if female] / (72 x Scr mg/dL)", step]


def _cockcroft_gault_adjusted(v: Values):
    age, sex, w, h, scr = v["age"], v["sex"], v["weight"], v["height"], v["creatinine"]
    bmi = bmi_value(w, h)
    ibw, ibw_step = ideal_body_weight_kg(sex, h)
    steps = [f"BMI = {fmt(w)} / {fmt(h / 100)}^2 = {fmt(bmi)} kg/m2"]
    if bmi < 18.5:
        used = w
        steps.append(f"BMI < 18.5 (underweight): use actual weight {fmt(w)} kg")
    elif bmi <= 24.9:
        used = min(ibw, w)
        steps += [ibw_step, f"BMI 18.5-24.9 (normal): use min(IBW, actual) = min({fmt(ibw)}, {fmt(w)}) = "
                            f"{fmt(used)} kg"]
    else:
        used, abw_step = adjusted_body_weight_kg(ibw, w)
        steps += ["BMI > 24.9 (overweight or obese): use adjusted body weight", ibw_step, abw_step]
    crcl, step = _clearance(age, sex, used, scr, "weight used")
    return crcl, [*steps, step]


def _fena(v: Values):
    una, pcr, pna, ucr = v["urine_sodium"], v["creatinine"], v["sodium"], v["urine_creatinine"]
    fena = una * pcr / (pna * ucr) * 100
    return fena, [
        "FENa = (urine Na x serum creatinine) / (serum Na x urine creatinine) x 100 %",
        f"FENa = ({fmt(una)} x {fmt(pcr)}) / ({fmt(pna)} x {fmt(ucr)}) x 100 = {fmt(fena)} %",
    ]


CG_REFERENCE = "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. " \
               "Nephron 1976;16:31-41."

CALCULATORS = [
    Calculator(
        id="ckd_epi_2021", name="eGFR by CKD-EPI 2021 creatinine equation", unit="mL/min/1.73m2", integer=False,
        medcalc_id=3,
        aliases=("CKD-EPI", "CKD-EPI 2021", "CKD-EPI equations for glomerular filtration rate", "eGFR CKD-EPI",
                 "CKD-EPI creatinine 2021"),
        reference="Inker LA et al. New creatinine- and cystatin C-based equations to estimate GFR without "
                  "race. N Engl J Med 2021;385:1737-49.",
        inputs=(ADULT_AGE, SEX, number("creatinine")), formula=_ckd_epi_2021),
    Calculator(
        id="mdrd", name="eGFR by MDRD (4-variable, IDMS-traceable)", unit="mL/min/1.73m2", integer=False,
        medcalc_id=9,
        aliases=("MDRD", "MDRD GFR", "MDRD GFR equation", "MDRD eGFR"),
        reference="Levey AS et al. Using standardized serum creatinine values in the Modification of Diet in "
                  "Renal Disease study equation. Ann Intern Med 2006;145:247-54.",
        inputs=(ADULT_AGE, SEX, number("creatinine"), finding("black_race", "patient is Black (race coefficient)")),
        formula=_mdrd),
    Calculator(
        id="cockcroft_gault", name="Creatinine clearance (Cockcroft-Gault, actual body weight)", unit="mL/min",
        integer=False,
        aliases=("Cockcroft-Gault", "CrCl", "creatinine clearance", "Cockcroft Gault equation"),
        reference=CG_REFERENCE,
        inputs=(ADULT_AGE, SEX, number("weight"), number("creatinine")), formula=_cockcroft_gault),
    Calculator(
        id="cockcroft_gault_adjusted_weight",
        name="Creatinine clearance (Cockcroft-Gault, BMI-adjusted body weight)", unit="mL/min", integer=False,
        # MedCalc-Bench's "Creatinine Clearance (Cockcroft-Gault Equation)" computes this variant.
        medcalc_id=2,
        aliases=("creatinine clearance (Cockcroft-Gault equation)", "Cockcroft-Gault adjusted weight",
                 "CrCl adjusted body weight"),
        reference=CG_REFERENCE + " Weight selection: Winter MA et al. Pharmacotherapy 2012;32:604-12.",
        inputs=(ADULT_AGE, SEX, number("weight"), number("height", low=120), number("creatinine")),
        formula=_cockcroft_gault_adjusted),
    Calculator(
        id="fena", name="Fractional excretion of sodium (FENa)", unit="%", integer=False, medcalc_id=40,
        aliases=("FENa", "Fractional Excretion of Sodium (FENa)", "fractional excretion of sodium"),
        reference="Espinel CH. The FENa test: use in the differential diagnosis of acute renal failure. "
                  "JAMA 1976;236:579-81.",
        inputs=(number("sodium"), number("creatinine"), number("urine_sodium"), number("urine_creatinine")),
        formula=_fena),
]
