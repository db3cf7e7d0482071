"""Labels that follow current guidelines: hand-written cases on both sides of every criterion that
the packs changed to follow their source (Sepsis-3, hyponatraemia by tonicity and volume, STEMI
and pericarditis ECG patterns, euglycaemic DKA, Berlin ARDS, KDIGO AKI) and of the supersedes
relations that follow. The engine decides every label, as in generation and validation."""

from __future__ import annotations

import pytest

from simulator.case import Case

NORMAL = {"temperature": 37.0, "heart_rate": 85, "resp_rate": 16, "sbp": 125, "dbp": 78, "spo2": 97}


def label(sim, *findings, sex="M", age=60, **values):
    case = Case(age=age, sex=sex, values={**NORMAL, **values}, findings=list(findings))
    sim.add_derived(case)
    return sim.engine.label(case.facts()).label


INFECTION = dict(wbc=15.0, platelets=250, total_bilirubin=0.6, creatinine=0.9, gcs=15, pao2=90, fio2=21)


@pytest.mark.parametrize("findings,values,expected", [
    # Sepsis-3: suspected infection + SOFA >= 2 (one organ with 2 points, or two with 1 point)
    (("lobar_consolidation", "cough"), {"platelets": 80}, "A41.9"),
    (("lobar_consolidation", "cough"), {"creatinine": 1.4, "sbp": 90, "dbp": 55}, "A41.9"),  # renal 1 + MAP < 70
    (("lobar_consolidation", "cough"), {"creatinine": 1.4}, "J18.9"),            # one point only: pneumonia
    (("lobar_consolidation", "cough"), {"lactate": 3.5}, "J18.9"),               # lactate is not a SOFA item
    (("fever",), {"temperature": 38.9, "total_bilirubin": 2.5}, "A41.9"),         # fever + WBC 15: suspected
    ((), {"platelets": 80}, None),                                               # organ dysfunction, no infection
    (("pyuria", "dysuria"), {"gcs": 12}, "A41.9"),                               # urosepsis, CNS 2 points
    (("lobar_consolidation", "cough"), {"pao2": 55}, "A41.9"),                   # PaO2/FiO2 262 < 300
    # septic shock: vasopressors and lactate > 2
    (("lobar_consolidation", "vasopressor_requirement"), {"lactate": 3.0, "sbp": 80, "dbp": 45}, "R65.21"),
    (("lobar_consolidation", "vasopressor_requirement"), {"lactate": 1.8, "sbp": 80, "dbp": 45}, "A41.9"),
    (("lobar_consolidation",), {"lactate": 3.0, "sbp": 80, "dbp": 45, "creatinine": 1.3}, "A41.9"),  # no pressors
])
def test_sepsis_3(sim, findings, values, expected):
    base = {**INFECTION, "lactate": 1.2}
    assert label(sim, *findings, **{**base, **values}) == expected


HYPO = dict(sodium=122, glucose=90, bun=12, serum_osmolality=258, urine_osmolality=420, urine_sodium=50,
            cortisol=15, tsh=2.0)


@pytest.mark.parametrize("findings,values,expected", [
    (("dry_mucous_membranes",), {"urine_sodium": 15}, "E87.1"),                  # hypovolaemic
    (("orthostatic_hypotension", "diuretic_use"), {}, "E87.1"),
    ((), {}, "E22.2"),                                                           # euvolaemic: SIADH
    (("peripheral_edema",), {"urine_sodium": 12}, "E87.79"),                     # hypervolaemic
    (("ascites", "liver_disease"), {}, "E87.79"),
    ((), {"serum_osmolality": 290}, None),                                       # not hypotonic
    (("dry_mucous_membranes", "peripheral_edema"), {}, None),                    # volume status unclear
    (("diuretic_use",), {}, None),                                               # euvolaemic on a diuretic: not SIADH
    ((), {"cortisol": 3.0}, None),                                               # adrenal insufficiency first
    ((), {"urine_osmolality": 80}, None),                                        # dilute urine: not SIADH
])
def test_hyponatraemia_by_tonicity_and_volume(sim, findings, values, expected):
    assert label(sim, *findings, **{**HYPO, **values}) == expected


@pytest.mark.parametrize("findings,values,expected", [
    (("regional_st_elevation", "reciprocal_st_depression", "chest_pain"), {"hs_troponin_i": 10}, "I21.3"),
    (("regional_st_elevation", "reciprocal_st_depression", "chest_pain"), {"hs_troponin_i": 900}, "I21.3"),
    (("regional_st_elevation", "chest_pain"), {"hs_troponin_i": 10}, None),       # no reciprocal change
    (("regional_st_elevation", "reciprocal_st_depression"), {"hs_troponin_i": 10}, None),  # no ischaemic symptom
    (("st_depression", "chest_pain"), {"hs_troponin_i": 200}, "I21.4"),
    (("diffuse_st_elevation", "pr_depression", "pleuritic_chest_pain"), {"hs_troponin_i": 5}, "I30.9"),
    (("diffuse_st_elevation", "pleuritic_chest_pain"), {"hs_troponin_i": 5}, "I30.9"),
    (("diffuse_st_elevation", "pleuritic_chest_pain"), {"hs_troponin_i": 90}, None),  # myopericarditis
    (("diffuse_st_elevation",), {"hs_troponin_i": 5}, None),                     # one pericarditis criterion
])
def test_stemi_and_pericarditis_are_different_ecgs(sim, findings, values, expected):
    assert label(sim, *findings, **values) == expected


DKA = dict(glucose=400, beta_hydroxybutyrate=5.0, bicarbonate=12, paco2=26, ph=7.26, sodium=134, potassium=4.8)


@pytest.mark.parametrize("findings,values,expected", [
    ((), {}, "E11.10"),
    (("diabetes", "sglt2_inhibitor_use"), {"glucose": 160}, "E11.10"),          # euglycaemic DKA
    ((), {"glucose": 160}, None),                                                # ketoacidosis without diabetes
    ((), {"beta_hydroxybutyrate": 2.0}, None),
    ((), {"bicarbonate": 20, "paco2": 38, "ph": 7.34}, None),                    # no acidosis
    ((), {"potassium": 6.3}, "E11.10"),                                          # DKA over hyperkalaemia
    ((), {"hba1c": 11.0}, "E11.10"),                                             # DKA over T2DM
])
def test_dka_by_the_2024_consensus(sim, findings, values, expected):
    assert label(sim, *findings, **{**DKA, **values}) == expected


def test_hhs_supersedes_hypernatraemia(sim):
    hhs = dict(glucose=900, sodium=156, bun=50, serum_osmolality=383, beta_hydroxybutyrate=1.0,
               bicarbonate=23, paco2=40, ph=7.38)
    assert label(sim, **hhs) == "E11.00"
    assert label(sim, **{**hhs, "glucose": 150}) == "E87.0"


ARDS = dict(pao2=70, fio2=50, peep=8)


@pytest.mark.parametrize("findings,values,expected", [
    (("bilateral_infiltrates", "onset_within_week", "ards_risk_factor"), {}, "J80"),
    (("bilateral_infiltrates", "onset_within_week", "ards_risk_factor"), {"peep": 4}, None),   # PEEP < 5
    (("bilateral_infiltrates", "onset_within_week"), {}, None),                                # no risk factor
    (("bilateral_infiltrates", "ards_risk_factor"), {}, None),                                 # not within 1 week
    (("bilateral_infiltrates", "onset_within_week", "ards_risk_factor"), {"pao2": 160}, None), # P/F 320
    (("bilateral_infiltrates", "onset_within_week", "ards_risk_factor", "pulmonary_congestion"), {}, None),
])
def test_berlin_ards(sim, findings, values, expected):
    assert label(sim, *findings, **{**ARDS, **values}) == expected


@pytest.mark.parametrize("values,expected", [
    ({"creatinine": 1.35, "baseline_creatinine": 1.0}, "N17.9"),    # + 0.35 mg/dL in 48 h
    ({"creatinine": 1.25, "baseline_creatinine": 1.0}, None),       # + 0.25, x 1.25
    ({"creatinine": 2.0, "baseline_creatinine": 1.3}, "N17.9"),     # x 1.5
    ({"creatinine": 2.8, "baseline_creatinine": 2.7}, "N18.4"),     # stable eGFR 15-29
    ({"creatinine": 3.0, "baseline_creatinine": 2.7}, "N17.9"),     # AKI on CKD: + 0.3
])
def test_kdigo_aki(sim, values, expected):
    assert label(sim, **values) == expected


def test_bacterial_meningitis_supersedes_the_sepsis_it_causes(sim):
    meningitis = dict(csf_wbc=3000, csf_glucose=20, csf_protein=300, glucose=100, **INFECTION)
    assert label(sim, "fever", "headache", **{**meningitis, "temperature": 39.0, "gcs": 11}) == "G00.9"
    assert label(sim, "fever", "headache", **{**meningitis, "temperature": 39.0, "gcs": 11, "csf_wbc": 3}) == "A41.9"


def test_decompensated_heart_failure_supersedes_its_dilutional_hyponatraemia(sim):
    adhf = dict(HYPO, bnp=1500, urine_sodium=12)
    assert label(sim, "peripheral_edema", **adhf) == "E87.79"
    assert label(sim, "peripheral_edema", "dyspnea", "crackles", **adhf) == "I50.9"
