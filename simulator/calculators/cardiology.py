"""Cardiology: mean arterial pressure, corrected QT (Bazett, Fridericia, Framingham, Hodges,
Rautaharju), CHA2DS2-VASc, HAS-BLED, the HEART score, the Revised Cardiac Risk Index and the
Framingham 10-year risk of hard coronary heart disease.

    from simulator.calculators import evaluate
    evaluate("qtc_bazett", {"qt_interval": 400, "heart_rate": 100}).answer      # 516.398
    evaluate("cha2ds2_vasc", {"age": 76, "sex": "F", "hypertension": True}).answer   # 4

QT in ms, heart rate per minute; RR = 60 / heart rate in seconds.

Conventions and where other implementations differ:
- HAS-BLED: "H" is uncontrolled hypertension (systolic > 160 mm Hg), "E" is age > 65, alcohol
  counts at >= 8 drinks a week (`alcohol_drinks_per_week`) or as `alcohol_use` (heavy use), and
  drugs are antiplatelets or NSAIDs (Pisters 2010, as MDCalc).
- HEART: history, ECG and troponin are graded 0-2 by the clinician; risk factors score 0 (none),
  1 (one or two) or 2 (three or more, or any known atherosclerotic disease: prior MI, PCI/CABG,
  stroke/TIA, peripheral arterial disease). MedCalc-Bench 1.7 gives known atherosclerotic
  disease with fewer than three risk factors 1 point instead of 2; we follow Six et al. 2008.
- RCRI (Lee 1999): one point each for high-risk surgery (intraperitoneal, intrathoracic or
  suprainguinal vascular), ischemic heart disease, heart failure, cerebrovascular disease,
  insulin treatment and creatinine > 2 mg/dL. Same as MedCalc-Bench; some of its rows give both
  "History of cerebrovascular disease" and "Cerebrovascular disease history", and where they
  disagree its ground truth takes the second, while we count the disease when either says so.
- Framingham hard CHD: the NCEP ATP III risk equations (10-year risk of myocardial infarction or
  coronary death, ages 20-79), with cholesterol in mg/dL; ln(age) in the smoking term is capped
  at 70 for men and 78 for women (as MDCalc). The answer is the risk in %. MedCalc-Bench 1.7
  puts cholesterol in mmol/L into these mg/dL coefficients and rounds the sum and the risk to
  one decimal before taking the percentage, so its answers are multiples of 10 % (mostly 0).
"""

from __future__ import annotations

import math

from simulator.calculators.base import (Calculator, Criterion, Values, banded, fmt, graded,
                                        point_score, present)
from simulator.calculators.inputs import SEX, CalculatorInputError, choice, finding, number

# ---- mean arterial pressure ----------------------------------------------------------------------


def _map(v: Values):
    sbp, dbp = v["sbp"], v["dbp"]
    if sbp <= dbp:
        raise CalculatorInputError(f"sbp={fmt(sbp)} must be greater than dbp={fmt(dbp)}; check the blood pressure")
    m = (sbp + 2 * dbp) / 3
    return m, ["MAP = (SBP + 2 x DBP) / 3", f"MAP = ({fmt(sbp)} + 2 x {fmt(dbp)}) / 3 = {fmt(m)} mm Hg"]


# ---- corrected QT --------------------------------------------------------------------------------

def _qtc(formula_text: str, correct):
    """A QTc formula from `correct(qt_ms, rr_s, hr) -> (qtc, substituted text)`."""
    def formula(v: Values):
        qt, hr = v["qt_interval"], v["heart_rate"]
        rr = 60 / hr
        qtc, substituted = correct(qt, rr, hr)
        return qtc, [formula_text, f"RR = 60 / heart rate = 60 / {fmt(hr)} = {fmt(rr)} s",
                     f"QTc = {substituted} = {fmt(qtc)} ms"]
    return formula


QTC_FORMULAS = {
    "bazett": ("QTc = QT / sqrt(RR)",
               lambda qt, rr, hr: (qt / math.sqrt(rr), f"{fmt(qt)} / sqrt({fmt(rr)})")),
    "fridericia": ("QTc = QT / RR^(1/3)",
                   lambda qt, rr, hr: (qt / rr ** (1 / 3), f"{fmt(qt)} / {fmt(rr)}^(1/3)")),
    "framingham": ("QTc = QT + 154 x (1 - RR)",
                   lambda qt, rr, hr: (qt + 154 * (1 - rr), f"{fmt(qt)} + 154 x (1 - {fmt(rr)})")),
    "hodges": ("QTc = QT + 1.75 x (heart rate - 60)",
               lambda qt, rr, hr: (qt + 1.75 * (hr - 60), f"{fmt(qt)} + 1.75 x ({fmt(hr)} - 60)")),
    "rautaharju": ("QTc = QT x (120 + heart rate) / 180",
                   lambda qt, rr, hr: (qt * (120 + hr) / 180, f"{fmt(qt)} x (120 + {fmt(hr)}) / 180")),
}

QTC_MEDCALC_IDS = {"bazett": 11, "fridericia": 56, "framingham": 57, "hodges": 58, "rautaharju": 59}

QTC_SOURCES = {
    "bazett": "Bazett HC. An analysis of the time-relations of electrocardiograms. Heart 1920;7:353-70.",
    "fridericia": "Fridericia LS. Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei "
                  "Herzkranken. Acta Med Scand 1920;53:469-86.",
    "framingham": "Sagie A et al. An improved method for adjusting the QT interval for heart rate "
                  "(the Framingham Heart Study). Am J Cardiol 1992;70:797-801.",
    "hodges": "Hodges M et al. Bazett's QT correction reviewed: evidence that a linear QT correction for "
              "heart rate is better. J Am Coll Cardiol 1983;1:694.",
    "rautaharju": "Rautaharju PM et al. Normal standards for QT and QT subintervals derived from a large "
                  "ethnically diverse population of women aged 50 to 79 years. Am J Cardiol 2014;113:354-61.",
}

# ---- CHA2DS2-VASc ------------------------------------------------------------------------------

CHA2DS2_VASC = point_score([
    present("congestive_heart_failure", "Congestive heart failure"),
    present("hypertension", "Hypertension"),
    banded("age", "Age", "years", [(">= 75", lambda a: a >= 75, 2), ("65-74", lambda a: a >= 65, 1),
                                   ("< 65", lambda a: True, 0)]),
    present("diabetes", "Diabetes mellitus"),
    present("stroke_tia_history", "Prior stroke, TIA or thromboembolism", 2),
    present("vascular_disease", "Vascular disease (prior MI, peripheral artery disease, aortic plaque)"),
    graded(SEX, "Sex category (female)", lambda s: 1 if s == "F" else 0),
], "CHA2DS2-VASc")

# ---- HAS-BLED ------------------------------------------------------------------------------------


def _has_bled_alcohol(v: Values) -> tuple[float, str]:
    drinks, heavy = v["alcohol_drinks_per_week"], v["alcohol_use"]
    seen = f"{fmt(drinks)} drinks/week" if drinks is not None else "drinks/week not given"
    seen += ", heavy alcohol use " + ("present" if heavy else "absent")
    return (1 if heavy or (drinks is not None and drinks >= 8) else 0), seen


HAS_BLED = point_score([
    present("uncontrolled_hypertension", "Uncontrolled hypertension (systolic > 160 mm Hg)"),
    present("renal_disease", "Abnormal renal function (dialysis, transplant, creatinine > 2.26 mg/dL)"),
    present("liver_disease", "Abnormal liver function (cirrhosis, or bilirubin > 2x and AST/ALT/ALP > 3x normal)"),
    present("stroke_history", "Prior stroke"),
    present("bleeding_history", "Prior major bleeding or predisposition to bleeding"),
    present("labile_inr", "Labile INR (time in therapeutic range < 60 %)"),
    banded("age", "Elderly", "years", [("> 65", lambda a: a > 65, 1), ("<= 65", lambda a: True, 0)]),
    present("antiplatelet_or_nsaid_use", "Drugs predisposing to bleeding (antiplatelets, NSAIDs)"),
    Criterion("Alcohol (>= 8 drinks a week)", _has_bled_alcohol),
], "HAS-BLED")

# ---- HEART -------------------------------------------------------------------------------------

HEART_RISK_FACTORS = {
    "hypertension": "hypertension",
    "hyperlipidemia": "hypercholesterolemia or dyslipidemia",
    "diabetes": "diabetes mellitus",
    "obesity": "obesity (BMI > 30 kg/m2)",
    "smoking": "current smoker or quit within 3 months",
    "family_history_cad": "parent or sibling with cardiovascular disease before 65",
}

HISTORY = choice("history_suspicion", "how suspicious the history is for an acute coronary syndrome",
                 {0: "slightly suspicious", 1: "moderately suspicious", 2: "highly suspicious"},
                 synonyms={"slight": 0, "low": 0, "moderate": 1, "high": 2, "highly": 2})
ECG = choice("ecg_finding", "ECG",
             {0: "normal", 1: "non-specific repolarization disturbance", 2: "significant ST deviation"},
             synonyms={"nonspecific repolarization disturbance": 1, "repolarization disturbance": 1,
                       "st deviation": 2, "st depression": 2, "st elevation": 2})
TROPONIN = choice("troponin_level", "initial troponin relative to the assay's normal limit",
                  {0: "<= normal limit", 1: "1-3x normal limit", 2: "> 3x normal limit"},
                  synonyms={"normal": 0, "1-3x": 1, ">3x": 2})


def _heart_risk(v: Values) -> tuple[float, str]:
    found = [r for r in HEART_RISK_FACTORS if v[r]]
    athero = v["atherosclerotic_disease"]
    listed = ", ".join(found + (["atherosclerotic disease"] if athero else [])) or "none"
    if athero or len(found) >= 3:
        return 2, f"{listed} (>= 3 risk factors or known atherosclerotic disease)"
    return (1 if found else 0), f"{listed} ({len(found)} risk factor{'s' if len(found) != 1 else ''})"


HEART = point_score([
    graded(HISTORY, "History"),
    graded(ECG, "ECG"),
    banded("age", "Age", "years", [(">= 65", lambda a: a >= 65, 2), ("45-64", lambda a: a >= 45, 1),
                                   ("< 45", lambda a: True, 0)]),
    Criterion("Risk factors (hypertension, hypercholesterolemia, diabetes, obesity, smoking, family "
              "history; atherosclerotic disease)", _heart_risk),
    graded(TROPONIN, "Initial troponin"),
], "HEART score")

# ---- Revised Cardiac Risk Index --------------------------------------------------------------------

RCRI_FINDINGS = {
    "high_risk_surgery": "High-risk surgery (intraperitoneal, intrathoracic or suprainguinal vascular)",
    "ischemic_heart_disease": "Ischemic heart disease (MI, positive stress test, angina, nitrates, Q waves)",
    "congestive_heart_failure": "Heart failure (pulmonary edema, PND, S3, rales, vascular redistribution)",
    "cerebrovascular_disease": "Cerebrovascular disease (stroke or TIA)",
    "insulin_use": "Pre-operative treatment with insulin",
}

RCRI = point_score([
    *(present(n, label) for n, label in RCRI_FINDINGS.items()),
    banded("creatinine", "Pre-operative creatinine > 2 mg/dL", "mg/dL", [("> 2", lambda c: c > 2, 1),
                                                                          ("<= 2", lambda c: True, 0)]),
], "Revised Cardiac Risk Index")

# ---- Framingham hard coronary heart disease (NCEP ATP III) ------------------------------------------

# sex -> (coefficients, baseline 10-year survival, age cap of the smoking term)
FRAMINGHAM = {
    "M": ({"ln_age": 52.00961, "ln_tc": 20.014077, "ln_hdl": -0.905964, "ln_sbp": 1.305784, "bp_treated": 0.241549,
           "smoker": 12.096316, "ln_age_x_ln_tc": -4.605038, "ln_age_x_smoker": -2.84367, "ln_age_sq": -2.93323,
           "constant": -172.300168}, 0.9402, 70),
    "F": ({"ln_age": 31.764001, "ln_tc": 22.465206, "ln_hdl": -1.187731, "ln_sbp": 2.552905, "bp_treated": 0.420251,
           "smoker": 13.07543, "ln_age_x_ln_tc": -5.060998, "ln_age_x_smoker": -2.996945, "ln_age_sq": 0.0,
           "constant": -146.5933061}, 0.98767, 78),
}


def _framingham(v: Values):
    sex, age, tc, hdl, sbp = v["sex"], v["age"], v["total_cholesterol"], v["hdl_cholesterol"], v["sbp"]
    treated, smoker = float(v["bp_treated"]), float(v["smoking"])
    b, s0, cap = FRAMINGHAM[sex]
    la, lt = math.log(age), math.log(tc)
    terms = {"ln_age": la, "ln_tc": lt, "ln_hdl": math.log(hdl), "ln_sbp": math.log(sbp), "bp_treated": treated,
             "smoker": smoker, "ln_age_x_ln_tc": la * lt, "ln_age_x_smoker": math.log(min(age, cap)) * smoker,
             "ln_age_sq": la * la, "constant": 1.0}
    total = sum(b[k] * x for k, x in terms.items())
    risk = 100 * (1 - s0 ** math.exp(total))
    shown = " ".join(f"{'-' if b[k] < 0 else '+'} {fmt(abs(b[k]))} x {fmt(x)}" for k, x in terms.items()
                     if b[k] and k != "constant").lstrip("+ ")
    return risk, [
        f"ATP III equation for a {SEX.label(sex)} (cholesterol in mg/dL, ln = natural log; the smoking term "
        f"uses ln(min(age, {cap})))",
        f"sum = {shown} - {fmt(abs(b['constant']))} = {fmt(total)}",
        f"10-year risk = 1 - {s0}^exp({fmt(total)}) = {fmt(risk)} %",
    ]


CALCULATORS = [
    Calculator(
        id="map", name="Mean arterial pressure", unit="mm[Hg]", integer=False,
        medcalc_id=5,
        aliases=("MAP", "mean arterial pressure", "mean arterial pressure (MAP)", "mean blood pressure"),
        reference="Sesso HD et al. Systolic and diastolic blood pressure, pulse pressure, and mean arterial "
                  "pressure as predictors of cardiovascular disease risk in men. Hypertension 2000;36:801-7.",
        inputs=(number("sbp"), number("dbp")), formula=_map),
    *[
        Calculator(
            id=f"qtc_{key}", name=f"Corrected QT interval ({key.capitalize()})", unit="ms", integer=False,
            medcalc_id=QTC_MEDCALC_IDS[key],
            aliases=(f"QTc {key}", f"{key} QTc", f"QTc {key} calculator", f"{key} formula",
                     *(("QTc",) if key == "bazett" else ()),
                     *(("QTc Fredericia", "Fredericia") if key == "fridericia" else ())),
            reference=QTC_SOURCES[key],
            inputs=(number("qt_interval"), number("heart_rate")), formula=_qtc(text, correct))
        for key, (text, correct) in QTC_FORMULAS.items()
    ],
    Calculator(
        id="cha2ds2_vasc", name="CHA2DS2-VASc score", unit="points", integer=True,
        medcalc_id=4,
        aliases=("CHA2DS2-VASc", "CHA2DS2-VASc score", "CHADS-VASc",
                 "CHA2DS2-VASc score for atrial fibrillation stroke risk"),
        reference="Lip GYH et al. Refining clinical risk stratification for predicting stroke and "
                  "thromboembolism in atrial fibrillation. Chest 2010;137:263-72.",
        inputs=(number("age"), SEX, finding("congestive_heart_failure", "congestive heart failure"),
                finding("hypertension", "hypertension"), finding("diabetes", "diabetes mellitus"),
                finding("stroke_tia_history", "prior stroke, TIA or thromboembolism"),
                finding("vascular_disease", "prior MI, peripheral artery disease or aortic plaque")),
        formula=CHA2DS2_VASC),
    Calculator(
        id="has_bled", name="HAS-BLED score", unit="points", integer=True,
        medcalc_id=25,
        aliases=("HAS-BLED", "HAS-BLED score", "HAS-BLED score for major bleeding risk"),
        reference="Pisters R et al. A novel user-friendly score (HAS-BLED) to assess 1-year risk of major "
                  "bleeding in patients with atrial fibrillation. Chest 2010;138:1093-100.",
        inputs=(number("age"),
                finding("uncontrolled_hypertension", "uncontrolled hypertension, systolic > 160 mm Hg"),
                finding("renal_disease", "dialysis, renal transplant or creatinine > 2.26 mg/dL"),
                finding("liver_disease", "cirrhosis, or bilirubin > 2x normal with AST/ALT/ALP > 3x normal"),
                finding("stroke_history", "prior stroke"),
                finding("bleeding_history", "prior major bleeding or predisposition to bleeding"),
                finding("labile_inr", "unstable or high INRs, time in therapeutic range < 60 %"),
                finding("antiplatelet_or_nsaid_use", "antiplatelet agents or NSAIDs"),
                finding("alcohol_use", "heavy alcohol use (>= 8 drinks a week)"),
                number("alcohol_drinks_per_week", required=False)),
        formula=HAS_BLED),
    Calculator(
        id="heart_score", name="HEART score for major cardiac events", unit="points", integer=True,
        medcalc_id=18,
        aliases=("HEART", "HEART score", "HEART score for major cardiac events"),
        reference="Six AJ, Backus BE, Kelder JC. Chest pain in the emergency room: value of the HEART "
                  "score. Neth Heart J 2008;16:191-6.",
        inputs=(HISTORY, ECG, number("age"), TROPONIN,
                *(finding(r, text) for r, text in HEART_RISK_FACTORS.items()),
                finding("atherosclerotic_disease", "known atherosclerotic disease: prior MI, PCI/CABG, "
                                                   "stroke/TIA or peripheral arterial disease")),
        formula=HEART),
    Calculator(
        id="rcri", name="Revised Cardiac Risk Index", unit="points", integer=True, medcalc_id=17,
        aliases=("RCRI", "Revised Cardiac Risk Index for Pre-Operative Risk", "Lee index", "Lee criteria"),
        reference="Lee TH et al. Derivation and prospective validation of a simple index for prediction of "
                  "cardiac risk of major noncardiac surgery. Circulation 1999;100:1043-9.",
        inputs=(*(finding(n, label) for n, label in RCRI_FINDINGS.items()), number("creatinine")),
        formula=RCRI),
    Calculator(
        id="framingham_chd", name="Framingham 10-year risk of hard coronary heart disease (ATP III)", unit="%",
        integer=False, medcalc_id=46,
        aliases=("Framingham Risk Score for Hard Coronary Heart Disease", "Framingham risk score",
                 "Framingham hard CHD", "ATP III risk score", "10-year CHD risk"),
        reference="Expert Panel on Detection, Evaluation, and Treatment of High Blood Cholesterol in Adults. "
                  "Third Report of the NCEP (ATP III) final report. Circulation 2002;106:3143-421; "
                  "Wilson PWF et al. Prediction of coronary heart disease using risk factor categories. "
                  "Circulation 1998;97:1837-47.",
        inputs=(number("age", low=20, high=79), SEX, number("total_cholesterol"), number("hdl_cholesterol"),
                number("sbp"), finding("bp_treated", "on treatment for high blood pressure"),
                finding("smoking", "current smoker")),
        formula=_framingham),
]
