"""Serum chemistry: anion gap and its albumin correction, delta gaps and ratios, corrected calcium,
sodium corrected for hyperglycemia, calculated serum osmolality, free water deficit, LDL
cholesterol by Friedewald and HOMA-IR.

    from simulator.calculators import evaluate
    evaluate("anion_gap", {"sodium": 140, "chloride": 104, "bicarbonate": 24}).answer   # 12

Electrolytes in mmol/L (= mEq/L for these monovalent ions), BUN, glucose and calcium in mg/dL,
albumin in g/dL. Conventions:
- anion gap = Na - (Cl + HCO3), without potassium; normal gap taken as 12 and normal
  bicarbonate as 24 for the delta gap and delta ratio, normal albumin as 4 g/dL, as in MedCalc-Bench;
- corrected sodium: Hillier (1999), +2.4 mmol/L per 100 mg/dL of glucose above 100, as in
  MedCalc-Bench; Katz (1973), +1.6, is offered separately as `corrected_sodium_katz`;
- serum osmolality = 2 Na + BUN/2.8 + glucose/18 (no ethanol term);
- free water deficit uses the total-body-water fraction by age and sex (0.6 children and men
  under 65, 0.5 women under 65 and men 65 and over, 0.45 women 65 and over);
- LDL (Friedewald 1972) = total cholesterol - HDL - triglycerides / 5, in mg/dL (mmol/L
  converted at 38.67 mg/dL for cholesterol, 88.57 for triglycerides); the paper limits it to
  triglycerides up to 400 mg/dL, so higher values are refused (measure LDL directly).
  MedCalc-Bench computes it at any triglyceride level;
- HOMA-IR (Matthews 1985) = fasting insulin (µU/mL) x fasting glucose (mmol/L) / 22.5, i.e.
  insulin x glucose (mg/dL) / 405. Insulin in pmol/L is divided by 6 (Heinemann 2010);
  MedCalc-Bench 1.7 multiplies it by 6.
Units are converted exactly. MedCalc-Bench's unit converter rounds intermediate amounts to 3
decimals (2.26 mmol/L of calcium becomes 0.002 mol, so 8.0 mg/dL instead of 9.06; cholesterol in
mmol/L likewise), so its corrected calcium and LDL differ from ours when the rows give mmol/L.
"""

from __future__ import annotations

from simulator.calculators.base import Calculator, Values, fmt
from simulator.calculators.inputs import SEX, CalculatorInputError, number

NORMAL_ANION_GAP = 12.0
NORMAL_ALBUMIN = 4.0  # g/dL
NORMAL_BICARBONATE = 24.0

ELECTROLYTES = (number("sodium"), number("chloride"), number("bicarbonate"))


def anion_gap_value(v: Values) -> tuple[float, str]:
    na, cl, hco3 = v["sodium"], v["chloride"], v["bicarbonate"]
    gap = na - (cl + hco3)
    return gap, f"anion gap = Na - (Cl + HCO3) = {fmt(na)} - ({fmt(cl)} + {fmt(hco3)}) = {fmt(gap)} mmol/L"


def albumin_corrected_gap_value(v: Values) -> tuple[float, list[str]]:
    gap, step = anion_gap_value(v)
    alb = v["albumin"]
    corrected = gap + 2.5 * (NORMAL_ALBUMIN - alb)
    return corrected, [step, f"albumin-corrected anion gap = anion gap + 2.5 x (4 - albumin) = "
                             f"{fmt(gap)} + 2.5 x (4 - {fmt(alb)}) = {fmt(corrected)} mmol/L"]


# ---- formulas ----------------------------------------------------------------------------------

def _anion_gap(v: Values):
    gap, step = anion_gap_value(v)
    return gap, [step]


def _delta_gap(v: Values):
    gap, step = anion_gap_value(v)
    delta = gap - NORMAL_ANION_GAP
    return delta, [step, f"delta gap = anion gap - 12 = {fmt(gap)} - 12 = {fmt(delta)} mmol/L"]


def _albumin_corrected_delta_gap(v: Values):
    corrected, steps = albumin_corrected_gap_value(v)
    delta = corrected - NORMAL_ANION_GAP
    return delta, [*steps, f"albumin-corrected delta gap = corrected gap - 12 = {fmt(corrected)} - 12 = "
                           f"{fmt(delta)} mmol/L"]


def _delta_ratio(gap_formula):
    """delta ratio = delta gap / (24 - HCO3), from the (albumin-corrected or plain) delta gap."""
    def formula(v: Values):
        delta, steps = gap_formula(v)
        hco3 = v["bicarbonate"]
        if hco3 == NORMAL_BICARBONATE:
            raise CalculatorInputError("the delta ratio is undefined at bicarbonate=24 mmol/L (no fall in "
                                       "bicarbonate to compare the gap with); use the delta gap instead")
        ratio = delta / (NORMAL_BICARBONATE - hco3)
        return ratio, [*steps, f"delta ratio = delta gap / (24 - HCO3) = {fmt(delta)} / (24 - {fmt(hco3)}) = "
                               f"{fmt(ratio)}"]
    return formula


def _corrected_calcium(v: Values):
    ca, alb = v["calcium"], v["albumin"]
    corrected = ca + 0.8 * (NORMAL_ALBUMIN - alb)
    return corrected, [
        "corrected calcium = calcium + 0.8 x (4 - albumin), calcium in mg/dL, albumin in g/dL",
        f"corrected calcium = {fmt(ca)} + 0.8 x (4 - {fmt(alb)}) = {fmt(corrected)} mg/dL",
    ]


def _sodium_correction(per_100: float):
    def formula(v: Values):
        na, glu = v["sodium"], v["glucose"]
        corrected = na + per_100 / 100 * (glu - 100)
        return corrected, [
            f"corrected sodium = Na + {fmt(per_100 / 100)} x (glucose - 100), glucose in mg/dL",
            f"corrected sodium = {fmt(na)} + {fmt(per_100 / 100)} x ({fmt(glu)} - 100) = {fmt(corrected)} mmol/L",
        ]
    return formula


def _serum_osmolality(v: Values):
    na, bun, glu = v["sodium"], v["bun"], v["glucose"]
    osm = 2 * na + bun / 2.8 + glu / 18
    return osm, [
        "calculated osmolality = 2 x Na + BUN / 2.8 + glucose / 18 (BUN and glucose in mg/dL)",
        f"= 2 x {fmt(na)} + {fmt(bun)} / 2.8 + {fmt(glu)} / 18 = {fmt(2 * na)} + {fmt(bun / 2.8)} + "
        f"{fmt(glu / 18)} = {fmt(osm)} mOsm/kg",
    ]


def total_body_water_fraction(age: float, sex: str) -> float:
    if age < 18:
        return 0.6
    if age < 65:
        return 0.6 if sex == "M" else 0.5
    return 0.5 if sex == "M" else 0.45


def _free_water_deficit(v: Values):
    age, sex, w, na = v["age"], v["sex"], v["weight"], v["sodium"]
    tbw = total_body_water_fraction(age, sex)
    deficit = tbw * w * (na / 140 - 1)
    return deficit, [
        "free water deficit = TBW fraction x weight (kg) x (Na / 140 - 1)",
        f"TBW fraction for a {fmt(age)}-year-old {SEX.label(sex)} = {fmt(tbw)}",
        f"deficit = {fmt(tbw)} x {fmt(w)} x ({fmt(na)} / 140 - 1) = {fmt(deficit)} L",
    ]


FRIEDEWALD_TG_LIMIT = 400.0  # mg/dL


def _ldl(v: Values):
    tc, hdl, tg = v["total_cholesterol"], v["hdl_cholesterol"], v["triglycerides"]
    if tg > FRIEDEWALD_TG_LIMIT:
        raise CalculatorInputError(f"triglycerides={fmt(tg)} mg/dL is above 400 mg/dL, where the Friedewald "
                                   f"equation is not valid; LDL must be measured directly")
    ldl = tc - hdl - tg / 5
    return ldl, [
        "LDL = total cholesterol - HDL - triglycerides / 5 (mg/dL)",
        f"LDL = {fmt(tc)} - {fmt(hdl)} - {fmt(tg)} / 5 = {fmt(ldl)} mg/dL",
    ]


def _homa_ir(v: Values):
    insulin, glu = v["insulin"], v["glucose"]
    homa = insulin * glu / 405
    return homa, [
        "HOMA-IR = fasting insulin (µU/mL) x fasting glucose (mg/dL) / 405 (= glucose in mmol/L / 22.5)",
        f"HOMA-IR = {fmt(insulin)} x {fmt(glu)} / 405 = {fmt(homa)}",
    ]


HILLIER = "Hillier TA, Abbott RD, Barrett EJ. Hyponatremia: evaluating the correction factor for " \
          "hyperglycemia. Am J Med 1999;106:399-403."

CALCULATORS = [
    Calculator(
        id="anion_gap", name="Anion gap", unit="mmol/L", integer=False,
        medcalc_id=39,
        aliases=("AG", "serum anion gap", "anion gap"),
        reference="Emmett M, Narins RG. Clinical use of the anion gap. Medicine 1977;56:38-54.",
        inputs=ELECTROLYTES, formula=_anion_gap),
    Calculator(
        id="albumin_corrected_anion_gap", name="Albumin-corrected anion gap", unit="mmol/L", integer=False,
        medcalc_id=65,
        aliases=("albumin corrected anion gap", "corrected anion gap", "albumin-adjusted anion gap"),
        reference="Figge J, Jabor A, Kazda A, Fencl V. Anion gap and hypoalbuminemia. "
                  "Crit Care Med 1998;26:1807-10.",
        inputs=(*ELECTROLYTES, number("albumin")), formula=albumin_corrected_gap_value),
    Calculator(
        id="delta_gap", name="Delta gap", unit="mmol/L", integer=False,
        medcalc_id=63,
        aliases=("delta gap", "delta anion gap", "excess anion gap"),
        reference="Wrenn K. The delta (delta) gap: an approach to mixed acid-base disorders. "
                  "Ann Emerg Med 1990;19:1310-3.",
        inputs=ELECTROLYTES, formula=_delta_gap),
    Calculator(
        id="albumin_corrected_delta_gap", name="Albumin-corrected delta gap", unit="mmol/L", integer=False,
        medcalc_id=66,
        aliases=("albumin corrected delta gap",),
        reference="Figge J et al. Crit Care Med 1998;26:1807-10; Wrenn K. Ann Emerg Med 1990;19:1310-3.",
        inputs=(*ELECTROLYTES, number("albumin")), formula=_albumin_corrected_delta_gap),
    Calculator(
        id="delta_ratio", name="Delta ratio", unit="ratio", integer=False,
        medcalc_id=64,
        aliases=("delta ratio", "delta-delta", "delta delta ratio"),
        reference="Rastegar A. Use of the delta AG/delta HCO3- ratio in the diagnosis of mixed acid-base "
                  "disorders. J Am Soc Nephrol 2007;18:2429-31.",
        inputs=ELECTROLYTES, formula=_delta_ratio(_delta_gap)),
    Calculator(
        id="albumin_corrected_delta_ratio", name="Albumin-corrected delta ratio", unit="ratio", integer=False,
        medcalc_id=67,
        aliases=("albumin corrected delta ratio",),
        reference="Rastegar A. J Am Soc Nephrol 2007;18:2429-31; Figge J et al. Crit Care Med 1998;26:1807-10.",
        inputs=(*ELECTROLYTES, number("albumin")), formula=_delta_ratio(_albumin_corrected_delta_gap)),
    Calculator(
        id="corrected_calcium", name="Calcium corrected for albumin", unit="mg/dL", integer=False,
        medcalc_id=7,
        aliases=("corrected calcium", "calcium correction for hypoalbuminemia", "albumin-corrected calcium",
                 "Payne formula"),
        reference="Payne RB, Little AJ, Williams RB, Milner JR. Interpretation of serum calcium in patients "
                  "with abnormal serum proteins. Br Med J 1973;4:643-6.",
        inputs=(number("calcium"), number("albumin")), formula=_corrected_calcium),
    Calculator(
        id="corrected_sodium", name="Sodium corrected for hyperglycemia (Hillier)", unit="mmol/L", integer=False,
        medcalc_id=26,
        aliases=("corrected sodium", "sodium correction for hyperglycemia", "Hillier corrected sodium"),
        reference=HILLIER,
        inputs=(number("sodium"), number("glucose")), formula=_sodium_correction(2.4)),
    Calculator(
        id="corrected_sodium_katz", name="Sodium corrected for hyperglycemia (Katz)", unit="mmol/L", integer=False,
        aliases=("Katz corrected sodium", "corrected sodium Katz"),
        reference="Katz MA. Hyperglycemia-induced hyponatremia: calculation of expected serum sodium "
                  "depression. N Engl J Med 1973;289:843-4.",
        inputs=(number("sodium"), number("glucose")), formula=_sodium_correction(1.6)),
    Calculator(
        id="serum_osmolality", name="Calculated serum osmolality", unit="mOsm/kg", integer=False,
        medcalc_id=30,
        aliases=("serum osmolality", "calculated osmolality", "osmolality", "sOsm"),
        reference="Dorwart WV, Chalmers L. Comparison of methods for calculating serum osmolality from "
                  "chemical concentrations. Clin Chem 1975;21:190-4.",
        inputs=(number("sodium"), number("bun"), number("glucose")), formula=_serum_osmolality),
    Calculator(
        id="free_water_deficit", name="Free water deficit", unit="L", integer=False,
        medcalc_id=38,
        aliases=("free water deficit", "FWD", "water deficit in hypernatremia"),
        reference="Adrogue HJ, Madias NE. Hypernatremia. N Engl J Med 2000;342:1493-9.",
        inputs=(number("age"), SEX, number("weight"), number("sodium")), formula=_free_water_deficit),
    Calculator(
        id="ldl_friedewald", name="LDL cholesterol (Friedewald)", unit="mg/dL", integer=False, medcalc_id=44,
        aliases=("LDL Calculated", "LDL", "calculated LDL", "Friedewald equation", "LDL cholesterol"),
        reference="Friedewald WT, Levy RI, Fredrickson DS. Estimation of the concentration of low-density "
                  "lipoprotein cholesterol in plasma, without use of the preparative ultracentrifuge. "
                  "Clin Chem 1972;18:499-502.",
        inputs=(number("total_cholesterol"), number("hdl_cholesterol"), number("triglycerides")), formula=_ldl),
    Calculator(
        id="homa_ir", name="HOMA-IR (insulin resistance)", unit="index", integer=False, medcalc_id=31,
        aliases=("HOMA-IR", "HOMA-IR (Homeostatic Model Assessment for Insulin Resistance)",
                 "homeostatic model assessment of insulin resistance", "HOMA"),
        reference="Matthews DR et al. Homeostasis model assessment: insulin resistance and beta-cell function "
                  "from fasting plasma glucose and insulin concentrations in man. Diabetologia 1985;28:412-9; "
                  "insulin units: Heinemann L. Insulin assay standardization. Diabetes Care 2010;33:1386-8.",
        inputs=(number("insulin"), number("glucose")), formula=_homa_ir),
]
