"""Liver and upper gastrointestinal disease: Child-Pugh score for cirrhosis, MELD-Na, the FIB-4
fibrosis index and the Glasgow-Blatchford bleeding score.

    from simulator.calculators import evaluate
    evaluate("child_pugh", {"total_bilirubin": 1.5, "albumin": 3.6, "inr": 1.2}).answer   # 5
    evaluate("fib4", {"age": 50, "ast": 40, "alt": 25, "platelets": 200}).answer          # 2.0
    evaluate("meld_na", {"creatinine": 1.9, "total_bilirubin": 4.2, "inr": 1.8, "sodium": 130}).answer  # 28

Bilirubin in mg/dL, albumin in g/dL, platelets in 10^3/uL (= 10^9/L), AST/ALT in U/L.
Ascites and encephalopathy are graded choices; when not given they count as absent (1 point
each), like a missing finding.

Conventions and where other implementations differ: Child-Pugh bands are bilirubin < 2 / 2-3 /
> 3 mg/dL, albumin > 3.5 / 2.8-3.5 / < 2.8 g/dL, INR < 1.7 / 1.7-2.3 / > 2.3 (Pugh 1973 as
tabulated by MDCalc), both ends of the middle band inclusive. MedCalc-Bench 1.7 gives bilirubin
of exactly 2.0 mg/dL no points (its bands are "< 2" and "2 < x < 3"), scores bilirubin of
exactly 3.0 as > 3 and albumin of exactly 2.8 as < 2.8. Its ground truth also scores no points
for ascites at all: its rows write "absent", "slight", "moderate" in lower case, which its
calculator does not recognise (it knows "Absent", "Slight", "Moderate").

MELD-Na is the UNOS/OPTN 2016 policy formula: creatinine, bilirubin and INR floored at 1,
creatinine capped at 4 and set to 4 after dialysis twice in the past week or 24 h of CVVHD,
sodium bounded to 125-137, MELD(i) rounded to one decimal and times 10, the sodium term added
only when MELD(i) > 11, result capped at 40. MedCalc-Bench 1.7 ignores dialysis when creatinine
is below 1 mg/dL (it floors to 1 instead of setting 4); we follow the policy. Its ground truth
rounds MELD(i) to a whole number before multiplying by 10 (2.285 -> 2 -> 20, where the policy
gives 2.3 -> 23) and then uses the unrounded MELD(i) in the sodium term.

Glasgow-Blatchford (Blatchford 2000) scores blood urea in mmol/L: 6.5-7.9 / 8-9.9 / 10-24.9 /
>= 25 score 2 / 3 / 4 / 6; with BUN in mg/dL the limits are urea x 2.801 (18.2, 22.4, 28.0,
70.0 mg/dL). Hemoglobin (g/dL) men 12-12.9 / 10-11.9 / < 10 score 1 / 3 / 6, women 10-11.9 /
< 10 score 1 / 6; systolic BP 100-109 / 90-99 / < 90 score 1 / 2 / 3; pulse >= 100, melena 1
each; syncope, hepatic disease and cardiac failure 2 each. MedCalc-Bench 1.7 compares BUN with
the rounded limits in mg/dL, scores nothing for BUN of exactly 70, and misplaces the hemoglobin
edges: a man's 12.0 scores 0 and 13.0 scores 1, a woman's 10.0 scores 0 and a woman's 12.0
scores 1.
"""

from __future__ import annotations

import math

from simulator.calculators.acute_care import UREA_MMOL_TO_BUN_MG
from simulator.calculators.base import Calculator, Criterion, Values, banded, fmt, graded, point_score, present
from simulator.calculators.inputs import SEX, choice, finding, number

ASCITES = choice("ascites_grade", "ascites", {1: "none", 2: "slight", 3: "moderate"}, default=1,
                 synonyms={"absent": 1, "no": 1, "mild": 2, "moderate to severe": 3, "severe": 3, "tense": 3})
ENCEPHALOPATHY = choice("encephalopathy_grade", "hepatic encephalopathy",
                        {1: "none", 2: "grade 1-2", 3: "grade 3-4"}, default=1,
                        synonyms={"no encephalopathy": 1, "absent": 1, "no": 1, "grade 1": 2, "grade 2": 2,
                                  "mild": 2, "grade 3": 3, "grade 4": 3, "severe": 3})


def _child_pugh_class(points: float) -> str:
    return "A" if points <= 6 else "B" if points <= 9 else "C"


_CHILD_PUGH_POINTS = point_score([
    banded("total_bilirubin", "Total bilirubin", "mg/dL",
           [("< 2", lambda b: b < 2, 1), ("2-3", lambda b: b <= 3, 2), ("> 3", lambda b: True, 3)]),
    banded("albumin", "Albumin", "g/dL",
           [("> 3.5", lambda a: a > 3.5, 1), ("2.8-3.5", lambda a: a >= 2.8, 2), ("< 2.8", lambda a: True, 3)]),
    banded("inr", "INR", "", [("< 1.7", lambda i: i < 1.7, 1), ("1.7-2.3", lambda i: i <= 2.3, 2),
                              ("> 2.3", lambda i: True, 3)]),
    graded(ASCITES, "Ascites"),
    graded(ENCEPHALOPATHY, "Encephalopathy"),
], "Child-Pugh score")


def _child_pugh(v: Values):
    points, steps = _CHILD_PUGH_POINTS(v)
    return points, [*steps, f"Child-Pugh class {_child_pugh_class(points)} (A 5-6, B 7-9, C 10-15)"]


def _bounded(name: str, x: float, low: float, high: float) -> tuple[float, str | None]:
    y = min(max(x, low), high)
    return y, (f"{name} {fmt(x)} is taken as {fmt(y)} (bounds {fmt(low)}-{fmt(high)})" if y != x else None)


def _meld_na(v: Values):
    cr, cr_note = _bounded("creatinine", v["creatinine"], 1.0, 4.0)
    if v["dialysis"]:
        cr, cr_note = 4.0, "dialysis in the past week: creatinine is taken as 4"
    bili, bili_note = _bounded("bilirubin", v["total_bilirubin"], 1.0, math.inf)
    inr, inr_note = _bounded("INR", v["inr"], 1.0, math.inf)
    na, na_note = _bounded("sodium", v["sodium"], 125.0, 137.0)
    meld_i = 0.957 * math.log(cr) + 0.378 * math.log(bili) + 1.120 * math.log(inr) + 0.643
    meld = round(round(meld_i, 1) * 10)
    steps = [n for n in (cr_note, bili_note, inr_note, na_note) if n]
    steps.append(f"MELD(i) = 0.957 x ln({fmt(cr)}) + 0.378 x ln({fmt(bili)}) + 1.120 x ln({fmt(inr)}) + 0.643 = "
                 f"{fmt(meld_i)}; rounded to one decimal and times 10 = {meld}")
    if meld > 11:
        with_na = round(meld + 1.32 * (137 - na) - 0.033 * meld * (137 - na))
        steps.append(f"MELD(i) > 11: MELD-Na = MELD(i) + 1.32 x (137 - Na) - 0.033 x MELD(i) x (137 - Na) = "
                     f"{meld} + 1.32 x (137 - {fmt(na)}) - 0.033 x {meld} x (137 - {fmt(na)}) = {with_na}")
        meld = min(with_na, 40)
        if with_na > 40:
            steps.append("capped at 40")
    else:
        steps.append("MELD(i) <= 11: no sodium term")
    steps.append(f"MELD-Na = {meld}")
    return meld, steps


def _fib4(v: Values):
    age, ast, alt, plt = v["age"], v["ast"], v["alt"], v["platelets"]
    fib4 = age * ast / (plt * math.sqrt(alt))
    return fib4, [
        "FIB-4 = age x AST / (platelets (10^9/L) x sqrt(ALT))",
        f"FIB-4 = {fmt(age)} x {fmt(ast)} / ({fmt(plt)} x sqrt({fmt(alt)})) = {fmt(age * ast)} / "
        f"({fmt(plt)} x {fmt(math.sqrt(alt))}) = {fmt(fib4)}",
    ]


# ---- Glasgow-Blatchford bleeding score ---------------------------------------------------------------

def _gbs_urea(v: Values) -> tuple[float, str]:
    bun = v["bun"]
    urea = bun / UREA_MMOL_TO_BUN_MG
    pts = 6 if urea >= 25 else 4 if urea >= 10 else 3 if urea >= 8 else 2 if urea >= 6.5 else 0
    return pts, f"BUN {fmt(bun)} mg/dL = urea {fmt(urea)} mmol/L"


def _gbs_hemoglobin(v: Values) -> tuple[float, str]:
    hb, male = v["hemoglobin"], v["sex"] == "M"
    if male:
        pts = 0 if hb >= 13 else 1 if hb >= 12 else 3 if hb >= 10 else 6
    else:
        pts = 0 if hb >= 12 else 1 if hb >= 10 else 6
    return pts, f"{fmt(hb)} g/dL ({SEX.label(v['sex'])})"


GBS_FINDINGS = {"melena": ("Melena", 1), "syncope": ("Presented with syncope", 2),
                "liver_disease": ("Hepatic disease", 2), "congestive_heart_failure": ("Cardiac failure", 2)}

GLASGOW_BLATCHFORD = point_score([
    Criterion("Blood urea", _gbs_urea),
    Criterion("Hemoglobin", _gbs_hemoglobin),
    banded("sbp", "Systolic blood pressure", "mm Hg", [(">= 110", lambda s: s >= 110, 0), ("100-109", lambda s: s >= 100, 1),
                                                         ("90-99", lambda s: s >= 90, 2), ("< 90", lambda s: True, 3)]),
    banded("heart_rate", "Pulse >= 100/min", "/min", [(">= 100", lambda h: h >= 100, 1), ("< 100", lambda h: True, 0)]),
    *(present(n, label, pts) for n, (label, pts) in GBS_FINDINGS.items()),
], "Glasgow-Blatchford score")

CALCULATORS = [
    Calculator(
        id="child_pugh", name="Child-Pugh score for cirrhosis", unit="points", integer=True,
        medcalc_id=15,
        aliases=("Child-Pugh", "Child-Pugh score", "Child-Turcotte-Pugh", "CTP score",
                 "Child-Pugh score for cirrhosis mortality"),
        reference="Pugh RN et al. Transection of the oesophagus for bleeding oesophageal varices. "
                  "Br J Surg 1973;60:646-9.",
        inputs=(number("total_bilirubin"), number("albumin"), number("inr"), ASCITES, ENCEPHALOPATHY),
        formula=_child_pugh),
    Calculator(
        id="meld_na", name="MELD-Na (UNOS/OPTN)", unit="points", integer=True,
        medcalc_id=23,
        aliases=("MELD-Na", "MELDNa", "MELD sodium", "MELD Na (UNOS/OPTN)"),
        reference="Kim WR et al. Hyponatremia and mortality among patients on the liver-transplant waiting "
                  "list. N Engl J Med 2008;359:1018-26; OPTN policy 9 (2016).",
        inputs=(number("creatinine"), number("total_bilirubin"), number("inr"), number("sodium"),
                finding("dialysis", "dialysis at least twice, or CVVHD for 24 hours, in the past week")),
        formula=_meld_na),
    Calculator(
        id="fib4", name="Fibrosis-4 (FIB-4) index", unit="index", integer=False,
        medcalc_id=19,
        aliases=("FIB-4", "FIB4", "fibrosis-4", "Fibrosis-4 (FIB-4) index for liver fibrosis"),
        reference="Sterling RK et al. Development of a simple noninvasive index to predict significant "
                  "fibrosis in patients with HIV/HCV coinfection. Hepatology 2006;43:1317-25.",
        inputs=(number("age"), number("ast"), number("alt"), number("platelets")), formula=_fib4),
    Calculator(
        id="glasgow_blatchford", name="Glasgow-Blatchford bleeding score", unit="points", integer=True,
        medcalc_id=27,
        aliases=("Glasgow-Blatchford", "GBS", "Glasgow-Blatchford Bleeding Score (GBS)", "Blatchford score"),
        reference="Blatchford O, Murray WR, Blatchford M. A risk score to predict need for treatment for "
                  "upper-gastrointestinal haemorrhage. Lancet 2000;356:1318-21.",
        inputs=(number("bun"), number("hemoglobin"), SEX, number("sbp"), number("heart_rate"),
                finding("melena", "melena"), finding("syncope", "presented with syncope"),
                finding("liver_disease", "history or signs of hepatic disease"),
                finding("congestive_heart_failure", "history or signs of cardiac failure")),
        formula=GLASGOW_BLATCHFORD),
]
