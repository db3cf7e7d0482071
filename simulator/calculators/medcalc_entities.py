"""MedCalc-Bench's entity names, and the AZ-Med calculator input each one fills.

MedCalc-Bench (Khandekar et al. 2024) writes a calculator's inputs as "Relevant Entities": its
own display names ("Heart Rate or Pulse", "Previously documented Deep Vein Thrombosis") with
`[value, "unit"]` pairs, yes/no values or labels; the `medcalc-bench` package takes the same
values under snake_case keys ("heart_rate", "previous_dvt"). Every `Entity` below is one such
name, the key the package uses for it, the AZ-Med input it fills and how its value is read.
`simulator.calculators.medcalc` resolves names against this table.

A name may fill different inputs in different calculators ("Previously documented Deep Vein
Thrombosis" is `prior_dvt` in Wells DVT but `prior_dvt_pe` in Wells PE, PERC and Caprini):
such a name has one entry per input, and a calculator takes the entry whose input it has.
Several names may fill one yes/no input (CHA2DS2-VASc's stroke, TIA and thromboembolism all
fill `stroke_tia_history`); any of them present makes it present.

Reading (`read`): "value" (a number with its unit, a yes/no, a label or a date, checked by the
input itself), "not" (a yes/no meaning the opposite finding: "Cough Absent"), "black" (Race:
Black or not), "steroid" (["PredniSONE PO", 40, "mg"]: drug and dose). `labels` map
MedCalc-Bench's own labels to the input's values; `units` map MedCalc-Bench's unit spellings
for this entity (a fentanyl patch dose in "µg" is a rate in µg/h).

Sources of the names: MedCalc-Bench's `calculator_implementations/name_to_python.json` (the
entity names of all 55 calculators) and the spellings seen in its published rows (e.g. the
misspelled "Congestive Heart Faliure"). Names not listed here are refused by the importer
(or skipped on request), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Entity:
    """One MedCalc-Bench entity name: the AZ-Med input it fills and how its value is read."""

    name: str
    input: str
    package: str = ""
    read: Literal["value", "not", "black", "steroid"] = "value"
    labels: dict[str, Any] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


def e(name: str, input: str, package: str = "", **kw: Any) -> Entity:
    return Entity(name, input, package or name, **kw)


# MedCalc-Bench's Calculator IDs and names (its dataset's "Calculator ID" and "Calculator Name").
MEDCALC_NAMES = {
    2: 'Creatinine Clearance (Cockcroft-Gault Equation)', 3: 'CKD-EPI Equations for Glomerular Filtration Rate',
    4: 'CHA2DS2-VASc Score for Atrial Fibrillation Stroke Risk', 5: 'Mean Arterial Pressure (MAP)',
    6: 'Body Mass Index (BMI)', 7: 'Calcium Correction for Hypoalbuminemia',
    8: "Wells' Criteria for Pulmonary Embolism", 9: 'MDRD GFR Equation', 10: 'Ideal Body Weight',
    11: 'QTc Bazett Calculator', 13: 'Estimated Due Date', 15: 'Child-Pugh Score for Cirrhosis Mortality',
    16: "Wells' Criteria for DVT", 17: 'Revised Cardiac Risk Index for Pre-Operative Risk',
    18: 'HEART Score for Major Cardiac Events', 19: 'Fibrosis-4 (FIB-4) Index for Liver Fibrosis',
    20: 'Centor Score (Modified/McIsaac) for Strep Pharyngitis', 21: 'Glasgow Coma Score (GCS)',
    22: 'Maintenance Fluids Calculations', 23: 'MELD Na (UNOS/OPTN)', 24: 'Steroid Conversion Calculator',
    25: 'HAS-BLED Score for Major Bleeding Risk', 26: 'Sodium Correction for Hyperglycemia',
    27: 'Glasgow-Blatchford Bleeding Score (GBS)', 28: 'APACHE II Score',
    29: 'PSI Score: Pneumonia Severity Index for CAP', 30: 'Serum Osmolality',
    31: 'HOMA-IR (Homeostatic Model Assessment for Insulin Resistance)', 32: 'Charlson Comorbidity Index (CCI)',
    33: 'FeverPAIN Score for Strep Pharyngitis', 36: 'Caprini Score for Venous Thromboembolism (2005)',
    38: 'Free Water Deficit', 39: 'Anion Gap', 40: 'Fractional Excretion of Sodium (FENa)',
    43: 'Sequential Organ Failure Assessment (SOFA) Score', 44: 'LDL Calculated',
    45: 'CURB-65 Score for Pneumonia Severity', 46: 'Framingham Risk Score for Hard Coronary Heart Disease',
    48: 'PERC Rule for Pulmonary Embolism', 49: 'Morphine Milligram Equivalents (MME) Calculator',
    51: 'SIRS Criteria', 56: 'QTc Fridericia Calculator', 57: 'QTc Framingham Calculator',
    58: 'QTc Hodges Calculator', 59: 'QTc Rautaharju Calculator', 60: 'Body Surface Area Calculator',
    61: 'Target weight', 62: 'Adjusted Body Weight', 63: 'Delta Gap', 64: 'Delta Ratio',
    65: 'Albumin Corrected Anion Gap', 66: 'Albumin Corrected Delta Gap', 67: 'Albumin Corrected Delta Ratio',
    68: 'Estimated of Conception', 69: 'Estimated Gestational Age',
}

HEART_HISTORY = {"Slightly suspicious": 0, "Moderately suspicious": 1, "Highly suspicious": 2}
HEART_ECG = {"Normal": 0, "Non-specific repolarization disturbance": 1, "Significant ST deviation": 2}
HEART_TROPONIN = {"less than or equal to normal limit": 0,
                  "between the normal limit or up to three times the normal limit": 1,
                  "greater than three times normal limit": 2}

LIVER_PRESENT = {"none": False, "mild": True, "moderate": True, "moderate to severe": True, "severe": True}

ENTITIES: list[Entity] = [
    # ---- demographics and body -----------------------------------------------------------------------
    e("age", "age"), e("sex", "sex"), e("weight", "weight"), e("height", "height"),
    e("Race", "black_race", "race", read="black"),
    e("Body Mass Index (BMI)", "target_bmi", "body_mass_index"), e("Body Mass Index (BMI)", "bmi", "bmi"),
    # ---- vital signs ---------------------------------------------------------------------------------
    e("Heart Rate or Pulse", "heart_rate", "heart_rate"), e("respiratory rate", "resp_rate", "respiratory_rate"),
    e("Systolic Blood Pressure", "sbp", "sys_bp"), e("Diastolic Blood Pressure", "dbp", "dia_bp"),
    e("Mean arterial pressure", "map", "mean_arterial_pressure"), e("Temperature", "temperature", "temperature"),
    e("O₂ saturation percentage", "spo2", "oxygen_sat"), e("Glasgow Coma Score", "gcs", "gcs"),
    e("QT Interval", "qt_interval", "qt_interval"),
    # ---- laboratory ----------------------------------------------------------------------------------
    e("Sodium", "sodium", "sodium"), e("Potassium", "potassium", "potassium"), e("Chloride", "chloride", "chloride"),
    e("Bicarbonate", "bicarbonate", "bicarbonate"), e("Blood Urea Nitrogen (BUN)", "bun", "bun"),
    e("creatinine", "creatinine", "creatinine"), e("Pre-operative creatinine", "creatinine", "pre_operative_creatinine"),
    e("Glucose", "glucose", "glucose"), e("Calcium", "calcium", "calcium"), e("Albumin", "albumin", "albumin"),
    e("Bilirubin", "total_bilirubin", "bilirubin"), e("international normalized ratio", "inr", "inr"),
    e("Alanine aminotransferase", "alt", "alt"), e("Aspartate aminotransferase", "ast", "ast"),
    e("Platelet count", "platelets", "platelet_count"), e("White blood cell count", "wbc", "wbc"),
    e("Hemoglobin", "hemoglobin", "hemoglobin"), e("Hematocrit", "hematocrit", "hemocratit"),
    e("pH", "ph", "pH"), e("PaCO2", "paco2", "paco2"), e("PaO2", "pao2", "partial_pressure_oxygen"),
    e("Partial pressure of oxygen", "pao2", "partial_pressure_oxygen"),
    e("Partial pressure of oxygen (PaO₂) for Apache II", "pao2", "partial_pressure_oxygen"),
    e("FiO2", "fio2", "fio2"), e("A-a gradient", "a_a_gradient", "a_a_gradient"),
    e("Total cholesterol", "total_cholesterol", "total_cholestrol"),
    e("high-density lipoprotein cholesterol", "hdl_cholesterol", "hdl_cholestrol"),
    e("Triglycerides", "triglycerides", "triglycerides"), e("Insulin", "insulin", "insulin"),
    e("Urine sodium", "urine_sodium", "urine_sodium"), e("Urine creatinine", "urine_creatinine", "urine_creatinine"),
    e("Urine Output", "urine_output", "urine_output"),
    # ---- dates -----------------------------------------------------------------------------------------
    e("Last menstrual date", "last_menstrual_date", "menstrual_date"),
    e("cycle length", "cycle_length", "cycle_length"), e("Current Date", "current_date", "current_date"),
    # ---- history shared by several scores -------------------------------------------------------------
    e("Congestive Heart Failure", "congestive_heart_failure", "chf"),
    e("Congestive Heart Faliure", "congestive_heart_failure", "chf"),
    e("Hypertension history", "hypertension", "hypertension"),
    # In HAS-BLED rows MedCalc-Bench names its "H" item (uncontrolled hypertension) this way.
    e("Hypertension history", "uncontrolled_hypertension", "hypertension"),
    e("Hypertension", "uncontrolled_hypertension", "hypertension"), e("Hypertension", "hypertension", "hypertension"),
    e("Diabetes history", "diabetes", "diabetes"), e("Diabetes mellitus", "diabetes", "diabetes_mellitus"),
    e("Diabetes mellitus criteria for CCI rule", "diabetes", "diabetes_mellitus"),  # as HEART rows name it
    e("Stroke", "stroke_tia_history", "stroke"), e("Stroke", "stroke_history", "stroke"),
    e("Transient Ischemic Attacks History", "stroke_tia_history", "tia"),
    e("Transient Ischemic Attacks History", "tia_history", "tia"),
    e("Transient Ischemic Attacks History", "atherosclerotic_disease", "tia"),
    e("Thromboembolism history", "stroke_tia_history", "thromboembolism"),
    e("Vascular disease history", "vascular_disease", "vascular_disease"),
    e("Hemoptysis", "hemoptysis", "hemoptysis"), e("Confusion", "confusion", "confusion"),
    e("Previously Documented Pulmonary Embolism", "prior_dvt_pe", "previous_pe"),
    e("Previously documented Deep Vein Thrombosis", "prior_dvt", "previous_dvt_documented"),
    e("Previously documented Deep Vein Thrombosis", "prior_dvt_pe", "previous_dvt"),
    e("Chronic Obstructive Pulmonary Disease", "copd_history", "copd"),
    # ---- Wells PE, Wells DVT, PERC ---------------------------------------------------------------------
    e("Clinical signs and symptoms of Deep Vein Thrombosis", "dvt_signs", "clinical_dvt"),
    e("Pulmonary Embolism is #1 diagnosis OR equally likely", "pe_most_likely_diagnosis", "pe_number_one"),
    e("Immobilization for at least 3 days", "recent_surgery_or_immobilization", "immobilization_for_3days"),
    e("Surgery in the previous 4 weeks", "recent_surgery_or_immobilization", "surgery_in_past4weeks"),
    e("Malignancy with treatment within 6 months or palliative", "active_cancer", "malignancy_with_treatment"),
    e("Active cancer", "active_cancer", "active_cancer"),
    e("Bedridden recently >3 days", "recently_bedridden_or_major_surgery", "bedridden_for_atleast_3_days"),
    e("Major surgery within 12 weeks", "recently_bedridden_or_major_surgery", "major_surgery_in_last_12_weeks"),
    e("Bedridden recently >3 days or major surgery within 12 weeks", "recently_bedridden_or_major_surgery",
      "bedridden_for_atleast_3_days"),
    e("Calf swelling >3 centimeters compared to the other leg", "calf_swelling_3cm", "calf_swelling_3cm"),
    e("Collateral (nonvaricose) superficial veins present", "collateral_superficial_veins",
      "collateral_superficial_veins"),
    e("Entire Leg Swollen", "entire_leg_swollen", "leg_swollen"),
    e("Localized tenderness along the deep venous system", "deep_vein_tenderness",
      "localized_tenderness_on_deep_venuous_system"),
    e("Pitting edema, confined to symptomatic leg", "pitting_edema_symptomatic_leg", "pitting_edema_on_symptomatic_leg"),
    e("Paralysis, paresis, or recent plaster immobilization of the lower extremity", "paralysis_or_leg_cast",
      "paralysis_paresis_immobilization_in_lower_extreme"),
    e("Alternative diagnosis to Deep Vein Thrombosis as likely or more likely", "alternative_diagnosis_likely",
      "alternative_to_dvt_diagnosis"),
    e("Recent surgery or trauma", "recent_surgery_or_trauma", "recent_surgery_or_trauma"),
    e("Unilateral Leg Swelling", "unilateral_leg_swelling", "unilateral_leg_swelling"),
    e("Hormone use", "estrogen_use", "hormonal_use"),
    # ---- CHA2DS2-VASc, HAS-BLED, HEART, RCRI, Framingham -------------------------------------------------
    e("Liver disease criteria for the HAS-BLED rule", "liver_disease", "liver_disease_has_bled"),
    e("Renal disease criteria for the HAS-BLED rule", "renal_disease", "renal_disease_has_bled"),
    e("Number of Alcoholic Drinks Per Week", "alcohol_drinks_per_week", "alcoholic_drinks"),
    e("Medication usage predisposing to bleeding", "antiplatelet_or_nsaid_use", "medications_for_bleeding"),
    e("Prior major bleeding or predisposition to bleeding", "bleeding_history", "prior_bleeding"),
    e("Labile international normalized ratio", "labile_inr", "labile_inr"),
    e("Suspicion History", "history_suspicion", "history", labels=HEART_HISTORY),
    e("Electrocardiogram Test", "ecg_finding", "electrocardiogram", labels=HEART_ECG),
    e("Initial troponin", "troponin_level", "initial_troponin", labels=HEART_TROPONIN),
    e("hypercholesterolemia", "hyperlipidemia", "hypercholesterolemia"), e("obesity", "obesity", "obesity"),
    e("smoking", "smoking", "smoking"), e("Smoker", "smoking", "smoker"),
    e("parent or sibling with Cardiovascular disease before age 65", "family_history_cad", "family_with_cvd"),
    e("atherosclerotic disease", "atherosclerotic_disease", "atherosclerotic_disease"),
    e("Congestive Heart Failure criteria for the Cardiac Risk Index rule", "congestive_heart_failure",
      "congestive_heart_failure"),
    e("Elevated-risk surgery", "high_risk_surgery", "elevated_risk_surgery"),
    e("History of ischemic heart disease", "ischemic_heart_disease", "ischemetic_heart_disease"),
    e("History of cerebrovascular disease", "cerebrovascular_disease", "cerebrovascular_disease"),
    e("Pre-operative treatment with insulin", "insulin_use", "pre_operative_insulin_treatment"),
    e("Blood pressure being treated with medicines", "bp_treated", "bp_medicine"),
    # ---- sore throat -------------------------------------------------------------------------------------
    e("Cough Absent", "cough", "cough_absent", read="not"),
    e("Exudate or swelling on tonsils", "tonsillar_exudate", "exudate_swelling_tonsils"),
    e("Tender/swollen anterior cervical lymph nodes", "tender_anterior_cervical_nodes", "tender_lymph_nodes"),
    e("Fever in past 24 hours", "fever_past_24h", "fever_24_hours"),
    e("Absence of cough or coryza", "no_cough_or_coryza", "cough_coryza_absent"),
    e("Symptom onset ≤3 days", "rapid_attendance", "symptom_onset"),
    e("Symptom onset <=3 days", "rapid_attendance", "symptom_onset"),
    e("Purulent tonsils", "purulent_tonsils", "purulent_tonsils"),
    e("Severe tonsil inflammation", "severe_tonsil_inflammation", "severe_tonsil_inflammation"),
    # ---- GCS, Child-Pugh, MELD-Na, Glasgow-Blatchford ------------------------------------------------
    e("Best eye response", "gcs_eye", "best_eye_response"), e("Best verbal response", "gcs_verbal", "best_verbal_response"),
    e("Best motor response", "gcs_motor", "best_motor_response"),
    e("Ascites", "ascites_grade", "ascites"), e("Encephalopathy", "encephalopathy_grade", "encephalopathy"),
    e("Dialysis at least twice in the past week", "dialysis", "dialysis_twice"),
    e("Continuous veno-venous hemodialysis for ≥24 hours in the past week", "dialysis", "cvvhd"),
    e("Cardiac Failure Present", "congestive_heart_failure", "cardiac_failure"),
    e("Melena Present", "melena", "melena_present"), e("Recent Syncope", "syncope", "syncope"),
    e("Hepatic disease history", "liver_disease", "hepatic_disease_history"),
    # ---- APACHE II, SOFA, PSI --------------------------------------------------------------------------
    e("History of severe organ failure or immunocompromise", "severe_organ_insufficiency",
      "organ_failure_immunocompromise"),
    e("Surgery Type", "admission_type", "surgery_type"), e("Surgery Type", "surgery_type", "surgery_type"),
    e("Acute renal failure", "acute_renal_failure", "acute_renal_failure"),
    e("Chronic renal failure", "chronic_renal_failure", "chronic_renal_failure"),
    e("On mechanical ventilation", "mechanical_ventilation", "mechanical_ventilation"),
    e("Continuous positive airway pressure", "cpap", "cpap"), e("Continous positive airway pressure", "cpap", "cpap"), e("Hypotension", "hypotension", "hypotension"),
    e("DOPamine", "dopamine_dose", "dopamine"), e("DOBUTamine", "dobutamine_dose", "dobutamine"),
    e("EPINEPHrine", "epinephrine_dose", "epinephrine"), e("norEPINEPHrine", "norepinephrine_dose", "norepinephrine"),
    e("Nursing home resident", "nursing_home_resident", "nursing_home_resident"),
    e("Neoplastic disease", "neoplastic_disease", "neoplastic_disease"),
    e("Liver disease history", "liver_disease", "liver_disease"),
    e("Liver disease severity", "liver_disease", "liver_disease", labels=LIVER_PRESENT),  # as PSI rows name it
    e("Renal disease history", "renal_disease", "renal_disease"), e("Renal disease", "renal_disease", "renal_disease"),
    e("Cerebrovascular disease history", "cerebrovascular_disease", "cerebrovascular_disease"),
    e("Altered mental status", "confusion", "altered_mental_status"),
    e("Pleural effusion on x-ray", "pleural_effusion", "pleural_effusion"),
    # ---- Charlson --------------------------------------------------------------------------------------
    e("Myocardial infarction", "myocardial_infarction", "mi"),
    e("Peripheral vascular disease", "peripheral_vascular_disease", "peripheral_vascular_disease"),
    e("Cerebrovascular Accident", "stroke_history", "cva"), e("Dementia", "dementia", "dementia"),
    e("Chronic Pulmonary Disease", "copd_history", "copd"),
    e("Connective tissue disease", "connective_tissue_disease", "connective_tissue_disease"),
    e("Peptic ulcer disease", "peptic_ulcer_disease", "peptic_ucler_disease"),
    e("Liver disease severity", "liver_disease_severity", "liver_disease"),
    e("Diabetes mellitus", "diabetes_severity", "diabetes_mellitus"),
    e("Diabetes mellitus criteria for CCI rule", "diabetes_severity", "diabetes_mellitus"),
    e("Hemiplegia", "hemiplegia", "hemiplegia"),
    e("Moderate to severe Chronic Kidney Disease", "moderate_severe_ckd", "moderate_to_severe_ckd"),
    e("Solid tumor", "solid_tumor", "solid_tumor"), e("Leukemia", "leukemia", "leukemia"),
    e("Lymphoma", "lymphoma", "lymphoma"), e("AIDS", "aids", "aids"),
    # ---- Caprini --------------------------------------------------------------------------------------
    e("Major Surgery in the last month", "major_surgery_last_month", "major_surgery"),
    e("Congestive Heart Failure in the last month", "chf_last_month", "chf"),
    e("Sepsis in the last month", "sepsis_last_month", "sepsis"),
    e("Pneumonia in the last month", "pneumonia_last_month", "pneumonia"),
    e("Immobilizing plaster cast in the last month", "plaster_cast_last_month", "immobilizing_plaster_case"),
    e("Hip, pelvis, or leg fracture in the last month", "hip_pelvis_leg_fracture", "hip_pelvis_leg_fracture"),
    e("Stroke in the last month", "stroke_last_month", "stroke"),
    e("Multiple trauma in the last month", "multiple_trauma", "multiple trauma"),
    e("Acute spinal cord injury causing paralysis in the last month", "spinal_cord_injury",
      "acute_spinal_chord_injury"),
    e("Varicose veins", "varicose_veins", "varicose_veins"),
    e("Current swollen legs", "swollen_legs", "current_swollen_legs"),
    e("Current central venous access", "central_venous_access", "current_central_venuous"),
    e("Family history of thrombosis", "family_history_thrombosis", "family_history_thrombosis"),
    e("Positive Factor V Leiden", "factor_v_leiden", "positive_factor_v"),
    e("Positive prothrombin 20210A", "prothrombin_20210a", "positive_prothrombin"),
    e("Elevated serum homocysteine", "elevated_homocysteine", "serum_homocysteine"),
    e("Positive lupus anticoagulant", "lupus_anticoagulant", "positive_lupus_anticoagulant"),
    e("Elevated anticardiolipin antibody", "anticardiolipin_antibody", "elevated_anticardiolipin_antibody"),
    e("Heparin-induced thrombocytopenia", "heparin_induced_thrombocytopenia", "heparin_induced_thrombocytopenia"),
    e("Other congenital or acquired thrombophilia", "other_thrombophilia", "congenital_acquired_thrombophilia"),
    e("Mobility", "mobility", "mobility"),
    e("History of inflammatory bowel disease", "inflammatory_bowel_disease", "inflammatory_bowel_disease"),
    e("Acute Myocardial infarction", "acute_mi", "acute_myocardial_infarction"),
    e("Present or previous malignancy", "malignancy", "malignancy"),
    # ---- steroid conversion ------------------------------------------------------------------------------
    e("input steroid", "input_steroid", read="steroid"), e("target steroid", "target_steroid"),
]

# ---- morphine milligram equivalents: "<drug> Dose" and "<drug> Dose Per Day" -------------------------

MME_DRUGS = {"Codeine": "codeine", "FentaNYL buccal": "fentanyl_buccal", "HYDROcodone": "hydrocodone",
             "HYDROmorphone": "hydromorphone", "Methadone": "methadone", "Morphine": "morphine",
             "OxyCODONE": "oxycodone", "OxyMORphone": "oxymorphone", "Tapentadol": "tapentadol",
             "TraMADol": "tramadol"}
for _drug, _key in MME_DRUGS.items():
    ENTITIES += [e(f"{_drug} Dose", f"{_key}_dose"), e(f"{_drug} Dose Per Day", f"{_key}_doses_per_day")]
ENTITIES += [e("FentANYL patch Dose", "fentanyl_patch_rate", units={"µg": "ug/h", "mcg": "ug/h", "ug": "ug/h"}),
             e("FentANYL patch Dose Per Day", "fentanyl_patch_count")]

# Entities MedCalc-Bench lists for a calculator whose formula does not use them (Calculator ID ->
# names): accepted and left out, so that a whole row of entities imports.
UNUSED: dict[int, tuple[str, ...]] = {
    10: ("weight",),   # ideal body weight depends on sex and height only
    17: ("age",),      # RCRI has no age item
    43: ("Continuous veno-venous hemodialysis for ≥24 hours in the past week",),  # SOFA's renal item is
        # creatinine or urine output
}
