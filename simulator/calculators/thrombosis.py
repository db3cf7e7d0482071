"""Venous thromboembolism: Wells criteria for pulmonary embolism and for deep vein thrombosis,
the PERC rule, and the Caprini risk assessment (2005).

    from simulator.calculators import evaluate
    evaluate("wells_pe", {"heart_rate": 110, "hemoptysis": True}).answer     # 2.5
    evaluate("perc", {"age": 35, "heart_rate": 80, "spo2": 98}).answer       # 0 (PERC negative)

Findings are booleans; a finding that is not given counts as absent. Wells PE scores in half
points (graded by exact match like the integer scores). PERC counts the criteria met: 0 means
PERC negative (PE can be ruled out when pretest probability is low).

Conventions: Wells PE follows Wells 2000 (heart rate > 100, immobilisation >= 3 days or surgery
in the previous 4 weeks); Wells DVT is the 2003 version with "previously documented DVT" (+1)
and "alternative diagnosis at least as likely" (-2). Both match MedCalc-Bench.

Caprini (2005 form): age 41-60 / 61-74 / >= 75 score 1 / 2 / 3; type of surgery (minor 1,
major > 45 min, laparoscopic > 45 min or arthroscopic 2, elective major lower-extremity
arthroplasty 5); events in the past month; venous disease and thrombophilias (a history of DVT
or PE is one item, 3 points); mobility (bed rest 1, confined to bed > 72 h 2); BMI > 25 scores
1; the women-only items (hormones, pregnancy or postpartum, pregnancy loss) score 1 each.
MedCalc-Bench 1.7's Caprini adds no points for any yes/no item (only age, surgery type,
mobility and BMI), scores BMI > 25 as 2, and has no "nonoperative" surgery type; its ground
truth also leaves BMI out (it looks for "bmi", its rows give "Body Mass Index (BMI)").
"""

from __future__ import annotations

from simulator.calculators.base import Calculator, Criterion, Values, banded, fmt, graded, point_score, present
from simulator.calculators.inputs import SEX, CalculatorInputError, Input, choice, finding, number

# ---- Wells PE --------------------------------------------------------------------------------------

WELLS_PE_FINDINGS = {
    "dvt_signs": ("Clinical signs and symptoms of DVT", 3),
    "pe_most_likely_diagnosis": ("PE is the most likely diagnosis, or equally likely", 3),
    "recent_surgery_or_immobilization": ("Immobilization >= 3 days or surgery in the previous 4 weeks", 1.5),
    "prior_dvt_pe": ("Previous, objectively diagnosed PE or DVT", 1.5),
    "hemoptysis": ("Hemoptysis", 1),
    "active_cancer": ("Malignancy with treatment within 6 months, or palliative", 1),
}

WELLS_PE = point_score([
    *(present(n, label, pts) for n, (label, pts) in WELLS_PE_FINDINGS.items()),
    banded("heart_rate", "Heart rate > 100/min", "/min", [("> 100", lambda hr: hr > 100, 1.5),
                                                          ("<= 100", lambda hr: True, 0)]),
], "Wells' criteria for pulmonary embolism")

# ---- Wells DVT -------------------------------------------------------------------------------------

WELLS_DVT_FINDINGS = {
    "active_cancer": ("Active cancer (treatment or palliation within 6 months)", 1),
    "recently_bedridden_or_major_surgery": ("Bedridden recently > 3 days or major surgery within 12 weeks", 1),
    "calf_swelling_3cm": ("Calf swelling > 3 cm compared with the other leg", 1),
    "collateral_superficial_veins": ("Collateral (non-varicose) superficial veins", 1),
    "entire_leg_swollen": ("Entire leg swollen", 1),
    "deep_vein_tenderness": ("Localized tenderness along the deep venous system", 1),
    "pitting_edema_symptomatic_leg": ("Pitting edema confined to the symptomatic leg", 1),
    "paralysis_or_leg_cast": ("Paralysis, paresis or recent plaster immobilization of the leg", 1),
    "prior_dvt": ("Previously documented DVT", 1),
    "alternative_diagnosis_likely": ("Alternative diagnosis to DVT as likely or more likely", -2),
}

WELLS_DVT = point_score([present(n, label, pts) for n, (label, pts) in WELLS_DVT_FINDINGS.items()],
                        "Wells' criteria for DVT")

# ---- PERC ------------------------------------------------------------------------------------------

PERC_FINDINGS = {
    "unilateral_leg_swelling": "Unilateral leg swelling",
    "hemoptysis": "Hemoptysis",
    "recent_surgery_or_trauma": "Recent surgery or trauma (within 4 weeks, requiring general anesthesia)",
    "prior_dvt_pe": "Prior pulmonary embolism or deep vein thrombosis",
    "estrogen_use": "Hormone use (oral contraceptives, hormone replacement, estrogens)",
}

PERC = point_score([
    banded("age", "Age >= 50", "years", [(">= 50", lambda a: a >= 50, 1), ("< 50", lambda a: True, 0)]),
    banded("heart_rate", "Heart rate >= 100/min", "/min", [(">= 100", lambda hr: hr >= 100, 1),
                                                           ("< 100", lambda hr: True, 0)]),
    banded("spo2", "Oxygen saturation on room air < 95 %", "%", [("< 95", lambda s: s < 95, 1),
                                                                 (">= 95", lambda s: True, 0)]),
    *(present(n, label) for n, label in PERC_FINDINGS.items()),
], "PERC rule (criteria met)")

# ---- Caprini (2005) ---------------------------------------------------------------------------------

CAPRINI_SURGERY = choice("surgery_type", "type of surgery",
                         {0: "none", 1: "minor surgery", 2: "major surgery > 45 min, laparoscopic > 45 min or "
                                                            "arthroscopic",
                          5: "elective major lower extremity arthroplasty"}, default=0,
                         synonyms={"nonoperative": 0, "no surgery": 0, "minor": 1, "major": 2, "laparoscopic": 2,
                                   "arthroscopic": 2, "major surgery": 2, "elective arthroplasty": 5,
                                   "lower extremity arthroplasty": 5})
CAPRINI_MOBILITY = choice("mobility", "mobility",
                          {0: "normal, out of bed", 1: "medical patient at bed rest", 2: "confined to bed > 72 hours"},
                          default=0, synonyms={"normal": 0, "ambulatory": 0, "on bed rest": 1, "bed rest": 1,
                                               "confined to bed >72 hours": 2, "confined to bed": 2})

CAPRINI_FINDINGS = {  # id -> (label, points)
    "major_surgery_last_month": ("Major surgery in the past month", 1),
    "chf_last_month": ("Congestive heart failure in the past month", 1),
    "sepsis_last_month": ("Sepsis in the past month", 1),
    "pneumonia_last_month": ("Serious lung disease incl. pneumonia in the past month", 1),
    "plaster_cast_last_month": ("Immobilizing plaster cast in the past month", 2),
    "hip_pelvis_leg_fracture": ("Hip, pelvis or leg fracture in the past month", 5),
    "stroke_last_month": ("Stroke in the past month", 5),
    "multiple_trauma": ("Multiple trauma in the past month", 5),
    "spinal_cord_injury": ("Acute spinal cord injury with paralysis in the past month", 5),
    "varicose_veins": ("Varicose veins", 1),
    "swollen_legs": ("Current swollen legs", 1),
    "central_venous_access": ("Current central venous access", 2),
    "prior_dvt_pe": ("History of DVT or PE", 3),
    "family_history_thrombosis": ("Family history of thrombosis", 3),
    "factor_v_leiden": ("Positive factor V Leiden", 3),
    "prothrombin_20210a": ("Positive prothrombin 20210A", 3),
    "elevated_homocysteine": ("Elevated serum homocysteine", 3),
    "lupus_anticoagulant": ("Positive lupus anticoagulant", 3),
    "anticardiolipin_antibody": ("Elevated anticardiolipin antibody", 3),
    "heparin_induced_thrombocytopenia": ("Heparin-induced thrombocytopenia", 3),
    "other_thrombophilia": ("Other congenital or acquired thrombophilia", 3),
    "inflammatory_bowel_disease": ("History of inflammatory bowel disease", 1),
    "acute_mi": ("Acute myocardial infarction", 1),
    "copd_history": ("Chronic obstructive pulmonary disease", 1),
    "malignancy": ("Present or previous malignancy", 2),
}
CAPRINI_WOMEN = {
    "estrogen_use": ("Oral contraceptives or hormone replacement", 1),
    "pregnancy_or_postpartum": ("Pregnant or postpartum (< 1 month)", 1),
    "pregnancy_loss_history": ("Unexplained stillbirth, >= 3 spontaneous abortions, or premature birth with "
                               "toxemia or growth restriction", 1),
}


def _caprini_bmi(v: Values) -> tuple[float, str]:
    bmi = v["bmi"]
    if bmi is None:
        return 0, "not given"
    return (1 if bmi > 25 else 0), f"{fmt(bmi)} kg/m2"


_CAPRINI_POINTS = point_score([
    banded("age", "Age", "years", [(">= 75", lambda a: a >= 75, 3), ("61-74", lambda a: a >= 61, 2),
                                   ("41-60", lambda a: a >= 41, 1), ("<= 40", lambda a: True, 0)]),
    graded(CAPRINI_SURGERY, "Type of surgery"),
    *(present(n, label, pts) for n, (label, pts) in CAPRINI_FINDINGS.items()),
    graded(CAPRINI_MOBILITY, "Mobility"),
    Criterion("BMI > 25 kg/m2", _caprini_bmi),
    *(present(n, label, pts) for n, (label, pts) in CAPRINI_WOMEN.items()),
], "Caprini score")


def _caprini(v: Values):
    if v["sex"] == "M" and any(v[n] for n in CAPRINI_WOMEN):
        raise CalculatorInputError(f"caprini: {', '.join(n for n in CAPRINI_WOMEN if v[n])} apply to women only, "
                                   f"but sex is male; check the sex or the findings")
    return _CAPRINI_POINTS(v)


CALCULATORS = [
    Calculator(
        id="wells_pe", name="Wells' criteria for pulmonary embolism", unit="points", integer=True,
        medcalc_id=8,
        aliases=("Wells PE", "Wells score PE", "Wells' criteria for pulmonary embolism", "Wells score"),
        reference="Wells PS et al. Derivation of a simple clinical model to categorize patients probability "
                  "of pulmonary embolism. Thromb Haemost 2000;83:416-20.",
        inputs=(number("heart_rate"), *(finding(n, label) for n, (label, _) in WELLS_PE_FINDINGS.items())),
        formula=WELLS_PE),
    Calculator(
        id="wells_dvt", name="Wells' criteria for deep vein thrombosis", unit="points", integer=True,
        medcalc_id=16,
        aliases=("Wells DVT", "Wells score DVT", "Wells' criteria for DVT"),
        reference="Wells PS et al. Evaluation of D-dimer in the diagnosis of suspected deep-vein thrombosis. "
                  "N Engl J Med 2003;349:1227-35.",
        inputs=tuple(finding(n, label) for n, (label, _) in WELLS_DVT_FINDINGS.items()),
        formula=WELLS_DVT),
    Calculator(
        id="perc", name="PERC rule for pulmonary embolism", unit="criteria", integer=True,
        medcalc_id=48,
        aliases=("PERC", "PERC rule", "PERC rule for pulmonary embolism", "pulmonary embolism rule-out criteria"),
        reference="Kline JA et al. Clinical criteria to prevent unnecessary diagnostic testing in emergency "
                  "department patients with suspected pulmonary embolism. J Thromb Haemost 2004;2:1247-55.",
        inputs=(number("age"), number("heart_rate"), number("spo2"),
                *(finding(n, label) for n, label in PERC_FINDINGS.items())),
        formula=PERC),
    Calculator(
        id="caprini", name="Caprini score for venous thromboembolism (2005)", unit="points", integer=True,
        medcalc_id=36,
        aliases=("Caprini", "Caprini score", "Caprini Score for Venous Thromboembolism (2005)",
                 "Caprini risk assessment model"),
        reference="Caprini JA. Thrombosis risk assessment as a guide to quality patient care. Dis Mon "
                  "2005;51:70-8.",
        inputs=(number("age"), Input("sex", "choice", "sex (women-only items need F)", required=False,
                                      options=dict(SEX.options), synonyms=dict(SEX.synonyms)),
                CAPRINI_SURGERY, *(finding(n, label) for n, (label, _) in CAPRINI_FINDINGS.items()),
                CAPRINI_MOBILITY, number("bmi", required=False),
                *(finding(n, label) for n, (label, _) in CAPRINI_WOMEN.items())),
        formula=_caprini),
]
