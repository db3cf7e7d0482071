"""Tests of the clinical calculators (`simulator.calculators`) and `azmed calc`: hand-checked
values from the published formulas for every calculator, alias lookup, input errors,
`applicable`, the tolerance rule, and the command line with unit conversion. The cross-check
against MedCalc-Bench is in test_calculators_medcalc.py.

    .venv/bin/python -m pytest tests/test_calculators.py -q
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simulator import calculators as calc
from simulator.calculators import CalculatorInputError, UnknownCalculatorError, within_tolerance
from simulator.calculators.base import fmt


def all_findings(cid: str) -> dict[str, bool]:
    """Every yes/no input of a calculator, present."""
    return {i.name: True for i in calc.get(cid).inputs if i.kind == "bool"}


# ---- hand-checked values from the published formulas ------------------------------------------

HAND_CHECKED = [
    ("bmi", {"weight": 70, "height": 175}, 22.857),                       # 70 / 1.75^2
    ("bsa", {"weight": 70, "height": 175}, 1.8447),                       # sqrt(70*175/3600)
    ("ideal_body_weight", {"sex": "M", "height": 71 * 2.54}, 75.3),        # 50 + 2.3*11
    ("ideal_body_weight", {"sex": "F", "height": 63 * 2.54}, 52.4),        # 45.5 + 2.3*3
    ("adjusted_body_weight", {"sex": "M", "height": 71 * 2.54, "weight": 100}, 85.18),  # 75.3 + 0.4*24.7
    ("anion_gap", {"sodium": 140, "chloride": 104, "bicarbonate": 24}, 12),
    ("albumin_corrected_anion_gap", {"sodium": 140, "chloride": 104, "bicarbonate": 24, "albumin": 2.0}, 17),
    ("delta_gap", {"sodium": 140, "chloride": 100, "bicarbonate": 10}, 18),
    ("albumin_corrected_delta_gap", {"sodium": 140, "chloride": 100, "bicarbonate": 10, "albumin": 2.0}, 23),
    ("delta_ratio", {"sodium": 140, "chloride": 100, "bicarbonate": 10}, 18 / 14),
    ("albumin_corrected_delta_ratio", {"sodium": 140, "chloride": 100, "bicarbonate": 10, "albumin": 2.0}, 23 / 14),
    ("corrected_calcium", {"calcium": 8.0, "albumin": 2.0}, 9.6),
    ("corrected_sodium", {"sodium": 130, "glucose": 600}, 142),           # +2.4 per 100 mg/dL
    ("corrected_sodium_katz", {"sodium": 130, "glucose": 600}, 138),      # +1.6 per 100 mg/dL
    ("serum_osmolality", {"sodium": 140, "bun": 14, "glucose": 180}, 295),
    ("free_water_deficit", {"age": 40, "sex": "M", "weight": 70, "sodium": 160}, 6.0),
    ("ckd_epi_2021", {"age": 50, "sex": "F", "creatinine": 1.0}, 68.6),   # NKF calculator: 69
    ("ckd_epi_2021", {"age": 50, "sex": "M", "creatinine": 1.0}, 91.7),   # NKF calculator: 92
    ("mdrd", {"age": 60, "sex": "M", "creatinine": 1.0}, 76.2),
    ("mdrd", {"age": 60, "sex": "F", "creatinine": 1.0}, 56.56),
    ("mdrd", {"age": 60, "sex": "M", "creatinine": 1.0, "black_race": True}, 92.38),
    ("cockcroft_gault", {"age": 60, "sex": "M", "weight": 72, "creatinine": 1.0}, 80),
    ("cockcroft_gault", {"age": 60, "sex": "F", "weight": 72, "creatinine": 1.0}, 68),
    ("cockcroft_gault_adjusted_weight", {"age": 40, "sex": "M", "weight": 70, "height": 71 * 2.54,
                                         "creatinine": 1.0}, 97.22),  # normal BMI: min(IBW 75.3, 70)
    ("map", {"sbp": 120, "dbp": 80}, 93.333),
    ("qtc_bazett", {"qt_interval": 400, "heart_rate": 60}, 400),
    ("qtc_bazett", {"qt_interval": 400, "heart_rate": 100}, 516.4),
    ("qtc_fridericia", {"qt_interval": 400, "heart_rate": 100}, 474.26),
    ("qtc_framingham", {"qt_interval": 400, "heart_rate": 100}, 461.6),
    ("qtc_hodges", {"qt_interval": 400, "heart_rate": 100}, 470),
    ("qtc_rautaharju", {"qt_interval": 400, "heart_rate": 100}, 488.89),
    ("cha2ds2_vasc", {"age": 76, "sex": "F", "hypertension": True, "diabetes": True}, 5),
    ("cha2ds2_vasc", {"age": 80, "sex": "F", **all_findings("cha2ds2_vasc")}, 9),
    ("cha2ds2_vasc", {"age": 50, "sex": "M"}, 0),
    ("has_bled", {"age": 70, "alcohol_drinks_per_week": 10, **all_findings("has_bled")}, 9),
    ("has_bled", {"age": 65}, 0),
    ("has_bled", {"age": 50, "alcohol_use": True}, 1),
    ("heart_score", {"age": 70, "history_suspicion": "highly suspicious", "ecg_finding": "significant ST deviation",
                     "troponin_level": "> 3x normal limit", "hypertension": True, "diabetes": True,
                     "smoking": True}, 10),
    ("heart_score", {"age": 30, "history_suspicion": 0, "ecg_finding": 0, "troponin_level": 0, "smoking": True}, 1),
    ("wells_pe", {"heart_rate": 110, **all_findings("wells_pe")}, 12.5),
    ("wells_pe", {"heart_rate": 100, "hemoptysis": True}, 1),
    ("wells_dvt", all_findings("wells_dvt"), 7),
    ("wells_dvt", {"alternative_diagnosis_likely": True}, -2),
    ("perc", {"age": 55, "heart_rate": 110, "spo2": 90, **all_findings("perc")}, 8),
    ("perc", {"age": 49, "heart_rate": 99, "spo2": 95}, 0),
    ("sirs", {"temperature": 38.5, "heart_rate": 100, "resp_rate": 22, "wbc": 13}, 4),
    ("sirs", {"temperature": 35.5, "heart_rate": 80, "paco2": 30, "wbc": 3}, 3),
    ("sirs", {"temperature": 37, "heart_rate": 80, "resp_rate": 16, "wbc": 8}, 0),
    ("curb_65", {"age": 70, "confusion": True, "bun": 25, "resp_rate": 32, "sbp": 85, "dbp": 50}, 5),
    ("curb_65", {"age": 40, "bun": 10, "resp_rate": 16, "sbp": 120, "dbp": 60}, 1),  # diastolic <= 60
    ("gcs", {"gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6}, 15),
    ("gcs", {"gcs_eye": "none", "gcs_verbal": "none", "gcs_motor": "none"}, 3),
    ("gcs", {"gcs_eye": "to pain", "gcs_verbal": "incomprehensible sounds", "gcs_motor": "decorticate"}, 7),
    ("centor", {"temperature": 38.5, "tonsillar_exudate": True, "tender_anterior_cervical_nodes": True}, 4),
    ("centor", {"temperature": 37.0, "cough": True}, 0),
    ("mcisaac", {"age": 10, "temperature": 38.5, "tonsillar_exudate": True,
                 "tender_anterior_cervical_nodes": True}, 5),
    ("child_pugh", {"total_bilirubin": 1.5, "albumin": 3.6, "inr": 1.2}, 5),
    ("child_pugh", {"total_bilirubin": 2.5, "albumin": 3.0, "inr": 2.0, "ascites_grade": "slight",
                    "encephalopathy_grade": "grade 1-2"}, 10),
    ("child_pugh", {"total_bilirubin": 5, "albumin": 2.0, "inr": 3.0, "ascites_grade": "moderate",
                    "encephalopathy_grade": "grade 3-4"}, 15),
    ("fib4", {"age": 50, "ast": 40, "alt": 25, "platelets": 200}, 2.0),
    # MELD(i) = 0.957 ln 1.9 + 0.378 ln 4.2 + 1.12 ln 1.8 + 0.643 = 2.458 -> 25; 25 + 9.24 - 5.775 = 28.5 -> 28
    ("meld_na", {"creatinine": 1.9, "total_bilirubin": 4.2, "inr": 1.8, "sodium": 130}, 28),
    ("meld_na", {"creatinine": 0.7, "total_bilirubin": 0.5, "inr": 0.9, "sodium": 140}, 6),  # all floored
    ("meld_na", {"creatinine": 6, "total_bilirubin": 40, "inr": 6, "sodium": 120}, 40),       # capped
    # ---- pregnancy dating (Naegele: LMP + 280 days + (cycle - 28); conception LMP + cycle - 14) ----
    ("due_date", {"last_menstrual_date": "02/28/2007"}, "12/05/2007"),
    ("due_date", {"last_menstrual_date": "11/20/2002", "cycle_length": 30}, "08/29/2003"),
    ("due_date", {"last_menstrual_date": "2007-02-28", "cycle_length": 24}, "12/01/2007"),
    ("conception_date", {"last_menstrual_date": "11/20/2020"}, "12/04/2020"),
    ("conception_date", {"last_menstrual_date": "11/20/2020", "cycle_length": 32}, "12/08/2020"),
    ("gestational_age", {"last_menstrual_date": "02/14/2024", "current_date": "05/23/2024"}, (14, 1)),  # 99 days
    ("gestational_age", {"last_menstrual_date": "12/15/2016", "current_date": "January 9, 2017"}, (3, 4)),
    # ---- critical care ----------------------------------------------------------------------------
    # age 5, temp 3, MAP 63.3 -> 2, HR 2, RR 1, PaO2 65 at FiO2 40 % -> 1, pH 2, Cr 3, WBC 1, GCS 15-13 = 2
    ("apache_ii", {"age": 70, "temperature": 39.2, "sbp": 90, "dbp": 50, "heart_rate": 120, "resp_rate": 28,
                   "fio2": 40, "pao2": 65, "ph": 7.30, "sodium": 132, "potassium": 4.0, "creatinine": 2.1,
                   "hematocrit": 35, "wbc": 18, "gcs": 13}, 22),
    # A-a 400 at FiO2 60 % -> 3, creatinine 2.5 doubled in ARF -> 6, elective postoperative chronic health -> 2
    ("apache_ii", {"age": 40, "temperature": 37, "sbp": 120, "dbp": 80, "heart_rate": 80, "resp_rate": 16,
                   "fio2": 60, "a_a_gradient": 400, "ph": 7.4, "sodium": 140, "potassium": 4, "creatinine": 2.5,
                   "acute_renal_failure": True, "hematocrit": 40, "wbc": 10, "gcs": 15,
                   "severe_organ_insufficiency": True, "admission_type": "elective"}, 11),
    # every value below its normal band: HR 3, RR 2, MAP 45.3 -> 4, temp 2, pH 3, Na 3, K 2, Cr 2, Hct 2,
    # WBC 2, GCS 7, age 2, PaO2 50 -> 4
    ("apache_ii", {"age": 50, "temperature": 33, "sbp": 60, "dbp": 38, "heart_rate": 45, "resp_rate": 8, "fio2": 30,
                   "pao2": 50, "ph": 7.20, "sodium": 118, "potassium": 2.8, "creatinine": 0.5, "hematocrit": 25,
                   "wbc": 2, "gcs": 8}, 38),
    # PF 160 without support 2, platelets 90 -> 2, bilirubin 2.5 -> 2, GCS 14 -> 1, creatinine 1.5 -> 1
    ("sofa", {"pao2": 80, "fio2": 50, "platelets": 90, "total_bilirubin": 2.5, "creatinine": 1.5, "gcs": 14}, 8),
    # PF 100 ventilated 3, platelets 15 -> 4, bilirubin 13 -> 4, norepinephrine 0.2 -> 4, GCS 5 -> 4, UO 150 -> 4
    ("sofa", {"pao2": 60, "fio2": 60, "mechanical_ventilation": True, "platelets": 15, "total_bilirubin": 13,
              "norepinephrine_dose": 0.2, "gcs": 5, "creatinine": 1.0, "urine_output": 150}, 23),
    ("sofa", {"pao2": 95, "fio2": 21, "platelets": 200, "total_bilirubin": 0.8, "sbp": 100, "dbp": 50,
              "creatinine": 0.9}, 1),  # PF 452 -> 0, MAP 66.7 without vasopressors -> 1, GCS not given -> 0
    # ---- pneumonia, sore throat, comorbidity, bleeding, perioperative, thrombosis --------------------------
    ("psi", {"age": 72, "sex": "F", "resp_rate": 32, "sbp": 100, "temperature": 38, "heart_rate": 110, "bun": 35},
     102),  # 72 - 10 + 20 (RR) + 20 (BUN)
    ("psi", {"age": 50, "sex": "M", "nursing_home_resident": True, "neoplastic_disease": True, "resp_rate": 18,
             "sbp": 85, "temperature": 40.0, "heart_rate": 125, "ph": 7.30, "spo2": 88}, 175),  # 50+10+30+20+15+10+30+10
    ("feverpain", {"fever_past_24h": True, "no_cough_or_coryza": True}, 2),
    ("feverpain", all_findings("feverpain"), 5),
    ("charlson", {"age": 72, "congestive_heart_failure": True, "diabetes_severity": "end-organ damage"}, 6),
    ("charlson", {"age": 45, "solid_tumor": "metastatic", "aids": True, "liver_disease_severity": "moderate to severe",
                  "stroke_history": True, "tia_history": True}, 16),  # 6 + 6 + 3 + 1 (stroke or TIA once)
    ("glasgow_blatchford", {"bun": 30, "hemoglobin": 11, "sex": "M", "sbp": 95, "heart_rate": 105, "melena": True},
     11),  # urea 10.7 mmol/L -> 4, Hb 3, SBP 2, pulse 1, melena 1
    ("glasgow_blatchford", {"bun": 15, "hemoglobin": 12.0, "sex": "F", "sbp": 120, "heart_rate": 80}, 0),
    ("rcri", {"creatinine": 2.5, "insulin_use": True}, 2),
    ("rcri", {"creatinine": 2.0, **all_findings("rcri")}, 5),  # creatinine must exceed 2 mg/dL
    ("caprini", {"age": 65, "surgery_type": "major", "bmi": 27, "prior_dvt_pe": True}, 8),  # 2 + 2 + 1 + 3
    ("caprini", {"age": 30, "sex": "F", "estrogen_use": True, "mobility": "confined to bed > 72 hours"}, 3),
    ("framingham_chd", {"age": 55, "sex": "M", "total_cholesterol": 213, "hdl_cholesterol": 50, "sbp": 120}, 6.509),
    ("framingham_chd", {"age": 55, "sex": "F", "total_cholesterol": 213, "hdl_cholesterol": 50, "sbp": 120}, 1.2101),
    # ---- chemistry, renal, body, dosing ------------------------------------------------------------
    ("ldl_friedewald", {"total_cholesterol": 200, "hdl_cholesterol": 50, "triglycerides": 150}, 120),
    ("homa_ir", {"insulin": 10, "glucose": 90}, 2.2222),         # 10 x 5 mmol/L / 22.5
    ("fena", {"sodium": 140, "creatinine": 2, "urine_sodium": 20, "urine_creatinine": 100}, 0.28571),
    ("target_weight", {"target_bmi": 22, "height": 175}, 67.375),
    ("maintenance_fluids", {"weight": 25}, 65),                  # 40 + 20 + 5
    ("maintenance_fluids", {"weight": 8}, 32),
    ("mme", {"oxycodone_dose": 10, "oxycodone_doses_per_day": 4}, 60),
    ("mme", {"methadone_dose": 10, "methadone_doses_per_day": 3, "fentanyl_patch_rate": 25}, 201),  # 141 + 60
    ("steroid_conversion", {"input_steroid": "prednisone PO", "steroid_dose": 40, "target_steroid": "dexamethasone IV"},
     6),
    ("steroid_conversion", {"input_steroid": "hydrocortisone", "steroid_dose": 100, "target_steroid": "prednisone"}, 25),
]


@pytest.mark.parametrize("cid,values,expected", HAND_CHECKED,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(HAND_CHECKED)])
def test_hand_checked_values(cid, values, expected):
    calculator = calc.get(cid)
    result = calculator.compute(values)
    if calculator.integer or calculator.output != "number":
        assert result.answer == expected
    else:
        assert result.answer == pytest.approx(expected, rel=2e-3)
    assert calculator.answer_text(result.answer) in result.explanation  # it ends at the answer it reports


def test_every_calculator_is_hand_checked():
    assert {c for c, _, _ in HAND_CHECKED} == set(calc.CALCULATORS)


def test_integer_scores_return_ints_and_decimals_floats():
    kinds = {"date": str, "weeks_days": tuple}
    for cid, values, _ in HAND_CHECKED:
        c = calc.get(cid)
        answer = c.compute(values).answer
        want = kinds.get(c.output) or (int if c.integer and float(answer).is_integer() else float)
        assert isinstance(answer, want), cid


def test_explanation_substitutes_the_inputs():
    text = calc.evaluate("corrected_calcium", {"calcium": 7.9, "albumin": 2.3}).explanation
    assert "7.9 + 0.8 x (4 - 2.3) = 9.26" in text
    text = calc.evaluate("ckd_epi_2021", {"age": 61, "sex": "M", "creatinine": 1.7}).explanation
    assert "1.7 / 0.9" in text and "0.9938^61" in text


def test_docstring_examples():
    import doctest

    from simulator.calculators import base
    assert doctest.testmod(base).failed == 0


# ---- names, errors, applicability -------------------------------------------------------------

@pytest.mark.parametrize("name,cid", [
    ("CHA2DS2-VASc score", "cha2ds2_vasc"), ("cha2ds2vasc", "cha2ds2_vasc"), ("CKD-EPI", "ckd_epi_2021"),
    ("Wells' Criteria for Pulmonary Embolism", "wells_pe"), ("qtc", "qtc_bazett"), ("QTc Fredericia", "qtc_fridericia"),
    ("Centor Score (Modified/McIsaac) for Strep Pharyngitis", "mcisaac"), ("GCS", "gcs"), ("curb65", "curb_65"),
    ("Creatinine Clearance (Cockcroft-Gault Equation)", "cockcroft_gault_adjusted_weight"), ("FIB-4", "fib4"),
])
def test_aliases_resolve(name, cid):
    assert calc.get(name).id == cid


def test_every_id_name_and_alias_resolves_to_its_calculator():
    for c in calc.CALCULATORS.values():
        for name in (c.id, c.name, *c.aliases, c.id.upper()):
            assert calc.get(name) is c, name


def test_unknown_calculator_suggests_and_lists():
    with pytest.raises(UnknownCalculatorError, match="Did you mean cha2ds2_vasc") as e:
        calc.get("cha2ds2-vasx")
    assert "anion_gap" in str(e.value)


def test_missing_input_names_what_is_expected():
    with pytest.raises(CalculatorInputError) as e:
        calc.evaluate("anion_gap", {"sodium": 140})
    msg = str(e.value)
    assert "chloride" in msg and "bicarbonate" in msg and "mmol/L" in msg and "sodium (" not in msg


@pytest.mark.parametrize("cid,values,fragment", [
    ("ckd_epi_2021", {"age": 60, "sex": "F", "creatinine": 106}, "another unit than mg/dL"),
    ("ckd_epi_2021", {"age": 12, "sex": "F", "creatinine": 0.6}, "between 18 and 120"),
    ("ckd_epi_2021", {"age": 60, "sex": "X", "creatinine": 1.0}, "'female' (F)"),
    ("cha2ds2_vasc", {"age": 60, "sex": "M", "hypertension": "maybe"}, "yes or no"),
    ("child_pugh", {"total_bilirubin": 1, "albumin": 4, "inr": 1, "ascites_grade": "massive"}, "'slight' (2)"),
    ("map", {"sbp": 80, "dbp": 90}, "must be greater than dbp"),
    ("map", {"sbp": "high", "dbp": 80}, "sbp='high'"),
    ("bmi", {"weight": True, "height": 170}, "yes/no was given for a number"),
])
def test_invalid_inputs_are_explained(cid, values, fragment):
    with pytest.raises(CalculatorInputError, match=None) as e:
        calc.evaluate(cid, values)
    assert fragment in str(e.value)


JUNK = [[], {}, "", "abc", float("nan"), float("inf"), -1e9, 1e9, True, 7, "7 apples", object()]


def test_any_junk_input_gives_a_calculator_input_error():
    """Proposals come from a model: whatever is in an input, the answer is a result or a clear error."""
    for cid, values, _ in HAND_CHECKED:
        c = calc.get(cid)
        for inp in c.inputs:
            for junk in JUNK:
                try:
                    c.compute({**values, inp.name: junk})
                except CalculatorInputError as e:
                    assert inp.name in str(e) or c.id in str(e), (cid, inp.name, junk, str(e))


def test_applicable_needs_required_inputs_or_a_finding():
    case = {"age": 67, "sex": "F", "sodium": 138, "chloride": 101, "bicarbonate": 22, "hypertension": True}
    ids = {c.id for c in calc.applicable(case)}
    assert {"anion_gap", "delta_gap", "cha2ds2_vasc", "has_bled"} <= ids
    assert not {"albumin_corrected_anion_gap", "ckd_epi_2021", "wells_dvt", "curb_65"} & ids
    assert "wells_dvt" in {c.id for c in calc.applicable({**case, "entire_leg_swollen": True})}
    for c in calc.applicable(case):
        c.compute(case)  # everything said to apply runs


def test_within_tolerance_matches_medcalc_bench_limits():
    assert within_tolerance(95.0, 100, False) and within_tolerance(105.0, 100, False)
    assert not within_tolerance(94.9, 100, False) and not within_tolerance(105.1, 100, False)
    assert within_tolerance(-6.65, -7, False) and not within_tolerance(-6.6, -7, False)
    assert within_tolerance(0, 0, False) and not within_tolerance(0.001, 0, False)
    assert within_tolerance(4.5, 4.5, True) and not within_tolerance(4, 4.5, True)
    assert not within_tolerance(float("nan"), 1, False) and not within_tolerance("abc", 1, False)


# ---- azmed calc --------------------------------------------------------------------------------

def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    from azmed.cli import main

    code = main(["calc", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_every_calculator(capsys):
    code, out, _ = run_cli(capsys)
    assert code == 0
    assert all(f"\n{cid}  " in out for cid in calc.CALCULATORS)
    code, out, _ = run_cli(capsys, "--json")
    assert {c["id"] for c in json.loads(out)} == set(calc.CALCULATORS)


def test_cli_computes_and_converts_units(capsys):
    code, out, _ = run_cli(capsys, "ckd_epi_2021", "age=60", "sex=F", "creatinine=106umol/L", "--json")
    assert code == 0
    result = json.loads(out)
    expected = calc.evaluate("ckd_epi_2021", {"age": 60, "sex": "F", "creatinine": 106 / 88.42}).answer
    assert result["answer"] == pytest.approx(expected, rel=1e-3)
    assert result["calculator"] == "ckd_epi_2021" and "0.9938^60" in result["explanation"]

    code, out, _ = run_cli(capsys, "Centor score", "temperature=101.3degF", "tonsillar_exudate=yes", "cough=no")
    assert code == 0 and "Centor score for streptococcal pharyngitis: 3 points" in out
    assert "38.5 °C (> 38)" in out  # (101.3 - 32) * 5/9


@pytest.mark.parametrize("argv,fragment", [
    (["nosuchcalc"], "no calculator named"),
    (["anion_gap", "sodium=140"], "missing required input"),
    (["anion_gap", "sodium=140", "chloride=100", "bicarbonate=24", "potassium=4"], "has no input 'potassium'"),
    (["anion_gap", "sodium=140", "chloride=100", "bicarbonate"], "is not name=value"),
    (["anion_gap", "sodium=abc", "chloride=100", "bicarbonate=24"], "is not a number"),
    (["anion_gap", "sodium=140furlongs", "chloride=100", "bicarbonate=24"], "mEq/L"),
    (["anion_gap", "sodium=140", "sodium=141", "chloride=100", "bicarbonate=24"], "given twice"),
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("azmed: error:") and err.count("\n") == 1 and fragment in err


def test_calculators_import_neither_torch_nor_azmed():
    code = ("import sys, simulator.calculators; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'azmed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_calculator_units_and_limits_agree_with_the_variable_registry():
    variables = pytest.importorskip("simulator.variables")
    reg = variables.registry()
    for c in calc.CALCULATORS.values():
        for i in c.inputs:
            if i.kind == "number" and i.name in reg.variables:
                var = reg.get(i.name)
                assert variables.unit_key(var.unit) == variables.unit_key(i.unit), (c.id, i.name)
                # any value the simulator accepts, a calculator accepts (adult-only ages aside)
                assert i.low <= var.limits[0] and var.limits[1] <= i.high, (c.id, i.name, var.limits)
