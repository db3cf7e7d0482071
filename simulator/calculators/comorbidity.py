"""Comorbidity burden: the Charlson Comorbidity Index with its age points.

    from simulator.calculators import evaluate
    evaluate("charlson", {"age": 72, "congestive_heart_failure": True,
                          "diabetes_severity": "end-organ damage"}).answer        # 6

Each condition is a yes/no finding except three graded ones (liver disease, diabetes, solid
tumor), whose milder grade is implied when a plain "yes" is given (liver disease "yes" = mild,
diabetes "yes" = uncomplicated, solid tumor "yes" = localized). Conditions not given are absent.

Conventions: the weights are Charlson 1987's (1: myocardial infarction, heart failure,
peripheral vascular disease, cerebrovascular disease or TIA, dementia, chronic pulmonary
disease, connective tissue disease, peptic ulcer disease, mild liver disease, uncomplicated
diabetes; 2: hemiplegia, moderate to severe kidney disease, diabetes with end-organ damage,
localized solid tumor, leukemia, lymphoma; 3: moderate to severe liver disease; 6: metastatic
solid tumor, AIDS), with one age point per decade from 50 (50-59: 1 ... >= 80: 4) as in the
combined age-comorbidity index (Charlson 1994) and MDCalc. Diabetes "none or diet-controlled"
scores 0. Same as MedCalc-Bench's calculator (it also counts a stroke and a TIA together as one
point) given its lower-case labels; its rows write them capitalised ("Moderate", "Metastatic",
"None or diet-controlled"), which it does not recognise, so its ground truth scores any graded
item that is given as 1 point, even diabetes "None or diet-controlled".
The explanation adds the estimated 10-year survival, 0.983^exp(0.9 x score) (Charlson 1987).
"""

from __future__ import annotations

import math

from simulator.calculators.base import Calculator, Criterion, Values, banded, fmt, graded, point_score, present
from simulator.calculators.inputs import choice, finding, number

CHARLSON_FINDINGS = {  # id -> (label, points)
    "myocardial_infarction": ("Myocardial infarction (history)", 1),
    "congestive_heart_failure": ("Congestive heart failure", 1),
    "peripheral_vascular_disease": ("Peripheral vascular disease (or bypass, gangrene, aneurysm >= 6 cm)", 1),
    "dementia": ("Dementia", 1),
    "copd_history": ("Chronic pulmonary disease", 1),
    "connective_tissue_disease": ("Connective tissue disease", 1),
    "peptic_ulcer_disease": ("Peptic ulcer disease", 1),
    "hemiplegia": ("Hemiplegia", 2),
    "moderate_severe_ckd": ("Moderate to severe chronic kidney disease", 2),
    "leukemia": ("Leukemia", 2),
    "lymphoma": ("Lymphoma", 2),
    "aids": ("AIDS (not just HIV positive)", 6),
}

LIVER = choice("liver_disease_severity", "liver disease",
               {0: "none", 1: "mild (chronic hepatitis or cirrhosis without portal hypertension)",
                3: "moderate to severe (cirrhosis with portal hypertension)"}, default=0,
               synonyms={"no": 0, "absent": 0, "false": 0, "yes": 1, "true": 1, "present": 1, "mild": 1,
                         "moderate": 3, "severe": 3, "moderate to severe": 3})
DIABETES = choice("diabetes_severity", "diabetes mellitus",
                  {0: "none or diet-controlled", 1: "uncomplicated", 2: "end-organ damage"}, default=0,
                  synonyms={"no": 0, "absent": 0, "false": 0, "none": 0, "diet controlled": 0, "yes": 1, "true": 1,
                            "present": 1, "uncomplicated": 1, "end organ damage": 2, "complicated": 2})
SOLID_TUMOR = choice("solid_tumor", "solid tumor",
                     {0: "none", 2: "localized", 6: "metastatic"}, default=0,
                     synonyms={"no": 0, "absent": 0, "false": 0, "yes": 2, "true": 2, "present": 2, "local": 2,
                               "metastases": 6})


def _cerebrovascular(v: Values) -> tuple[float, str]:
    stroke, tia = v["stroke_history"], v["tia_history"]
    seen = ", ".join(n for n, x in (("stroke", stroke), ("TIA", tia)) if x) or "absent"
    return (1 if stroke or tia else 0), seen


CHARLSON = point_score([
    banded("age", "Age", "years", [(">= 80", lambda a: a >= 80, 4), ("70-79", lambda a: a >= 70, 3),
                                   ("60-69", lambda a: a >= 60, 2), ("50-59", lambda a: a >= 50, 1),
                                   ("< 50", lambda a: True, 0)]),
    *(present(n, label, pts) for n, (label, pts) in CHARLSON_FINDINGS.items()),
    Criterion("Cerebrovascular accident or TIA", _cerebrovascular),
    graded(LIVER, "Liver disease"),
    graded(DIABETES, "Diabetes mellitus"),
    graded(SOLID_TUMOR, "Solid tumor"),
], "Charlson Comorbidity Index")


def _charlson(v: Values):
    points, steps = CHARLSON(v)
    survival = 100 * 0.983 ** math.exp(0.9 * points)
    return points, [*steps, f"estimated 10-year survival = 0.983^exp(0.9 x {fmt(points)}) = {fmt(survival)} %"]

CALCULATORS = [
    Calculator(
        id="charlson", name="Charlson Comorbidity Index", unit="points", integer=True, medcalc_id=32,
        aliases=("CCI", "Charlson Comorbidity Index (CCI)", "Charlson index", "Charlson score",
                 "age-adjusted Charlson Comorbidity Index"),
        reference="Charlson ME, Pompei P, Ales KL, MacKenzie CR. A new method of classifying prognostic "
                  "comorbidity in longitudinal studies: development and validation. J Chronic Dis 1987;40:373-83; "
                  "Charlson M et al. Validation of a combined comorbidity index. J Clin Epidemiol 1994;47:1245-51.",
        inputs=(number("age"), *(finding(n, label) for n, (label, _) in CHARLSON_FINDINGS.items()),
                finding("stroke_history", "cerebrovascular accident"), finding("tia_history", "transient ischemic attack"),
                LIVER, DIABETES, SOLID_TUMOR),
        formula=_charlson),
]
