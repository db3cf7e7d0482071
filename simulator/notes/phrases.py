"""Fixed wording of clinical notes: headings, filler sentences, medications and names.

Nothing here is tied to a diagnosis. The words a case's facts are written with come from the
registry (lexicon.py); this module only holds what surrounds them. Every filler sentence is read
back by the note reader before it is used (`writer.Draft.harmless`) and dropped when it would
state a value, claim a finding the case does not have, deny one it has, give an age or sex, or
name a diagnosis, so the lists can grow without any risk to a case's label. A filler entry is
`(text, unless)`: it is also skipped when one of the `unless` findings is present (or `unless`
values are stated), so that a note never says "Abdomen soft and non-tender" of a patient with
abdominal pain, nor "Drinks alcohol socially" beside a stated weekly intake.

Medications are listed only for history items the case has, keyed by finding id: a drug that is
itself a finding (insulin, metformin, diuretics, aspirin and NSAIDs, PPIs, ACE inhibitors and
ARBs, estrogen, immunosuppressants) sits under its own id, so no note lists a drug the case says
the patient does not take. Ids a registry does not have are ignored.
"""

from __future__ import annotations

MEDICATIONS: dict[str, tuple[str, ...]] = {
    "hypertension": ("amlodipine 5 mg daily", "nifedipine MR 30 mg daily"),
    "raas_blocker_use": ("ramipril 5 mg daily", "lisinopril 10 mg daily", "losartan 50 mg daily"),
    "diabetes": ("sitagliptin 100 mg daily", "gliclazide 80 mg twice daily", "linagliptin 5 mg daily"),
    "metformin_use": ("metformin 1 g twice daily", "metformin 500 mg twice daily"),
    "insulin_use": ("insulin glargine 22 units at night", "basal-bolus insulin"),
    "hyperlipidemia": ("atorvastatin 40 mg at night", "rosuvastatin 10 mg daily"),
    "vascular_disease": ("atorvastatin 80 mg at night",),
    "stroke_tia_history": ("atorvastatin 80 mg at night",),
    "congestive_heart_failure": ("bisoprolol 5 mg daily", "carvedilol 12.5 mg twice daily"),
    "diuretic_use": ("furosemide 40 mg daily", "indapamide 2.5 mg daily", "bendroflumethiazide 2.5 mg daily"),
    "antiplatelet_or_nsaid_use": ("aspirin 75 mg daily", "ibuprofen 400 mg as needed", "naproxen 500 mg twice daily"),
    "ppi_use": ("omeprazole 20 mg daily", "lansoprazole 30 mg daily"),
    "copd_history": ("tiotropium inhaler daily", "salbutamol inhaler as needed"),
    "asthma_history": ("budesonide-formoterol inhaler twice daily", "salbutamol inhaler as needed"),
    "estrogen_use": ("combined oral contraceptive pill", "estradiol patch"),
    "immunosuppression": ("prednisolone 10 mg daily", "tacrolimus 2 mg twice daily", "methotrexate 15 mg weekly"),
    "prior_dvt_pe": ("apixaban 5 mg twice daily", "rivaroxaban 20 mg daily"),
    "labile_inr": ("warfarin, dose per anticoagulation clinic",),
    "liver_disease": ("lactulose 15 mL twice daily", "propranolol 40 mg twice daily"),
    "chronic_kidney_disease": ("alfacalcidol 0.25 micrograms daily",),
    "smoking": ("nicotine patch 21 mg daily",),
}

ALLERGIES = ("NKDA", "no known drug allergies", "penicillin (hives)", "latex (contact dermatitis)")

SOCIAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Lives with {partner}.", ()),
    ("Lives alone in a flat.", ()),
    ("{occupation}.", ()),
    ("Independent with activities of daily living.", ("confusion", "seizure")),
    ("Drinks 2-4 units of alcohol a week.", ("alcohol_use", "alcohol_drinks_per_week")),
    ("Drinks alcohol socially.", ("alcohol_use", "alcohol_drinks_per_week")),
    ("Never smoked.", ("smoking",)),
    ("Has a dog at home.", ()),
)
PARTNERS = ("husband", "wife", "partner", "daughter", "son", "sister")
JOBS = ("teacher", "bus driver", "accountant", "nurse", "electrician", "chef", "farmer", "librarian",
        "shop manager", "engineer")

FAMILY = ("noncontributory", "parents deceased of old age", "mother alive and well", "nil of note")

GENERAL_EXAM: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Pupils equal and reactive to light.", ()),
    ("Abdomen soft and non-tender.", ("abdominal_pain", "flank_pain")),
    ("Heart sounds normal.", ("systolic_ejection_murmur", "pericardial_rub", "muffled_heart_sounds")),
    ("Calves soft and non-tender.", ("calf_tenderness", "unilateral_leg_swelling", "peripheral_edema")),
    ("No focal neurological deficit.", ("seizure", "confusion", "muscle_weakness", "neck_stiffness")),
    ("Oral mucosa without lesions.", ("dry_mucous_membranes", "tonsillar_exudate")),
)

SUBJECTIVE = ("Slept poorly overnight.", "Eating small amounts.", "Mobilising to the bathroom with help.",
              "Family visited yesterday.", "Keen to go home.")
PLAN = ("Review again this afternoon.", "Repeat bloods in the morning.", "Physiotherapy review.",
        "Update family this afternoon.", "Chase outstanding results.", "Discuss at the board round.",
        "Continue current treatment.")
ASSESSMENT = ("Under review; see plan.", "Working diagnosis to be confirmed at the board round.",
              "Progress as documented; senior review today.")
REFERRAL_ASKS = ("I would be grateful for your assessment and advice on further management.",
                 "I would appreciate your opinion on the diagnosis and on further management.",
                 "Many thanks for seeing {obj} and for your advice.")
LAB_COMMENTS = ("Sample received in good condition.", "Results telephoned to the requesting team.",
                "Haemolysis index within limits.", "Please note new reference intervals from this month.")
DURATIONS = ("12 hours", "1 day", "2 days", "3 days", "4 days", "5 days", "a week", "10 days", "2 weeks")
TRIAGE_DURATIONS = ("12 h", "1 d", "2 d", "3 d", "5 d", "1 wk", "2 wk")
# How many days each duration is, so that a note can keep to a known time since onset.
DURATION_DAYS = {"12 hours": 0.5, "1 day": 1, "2 days": 2, "3 days": 3, "4 days": 4, "5 days": 5, "a week": 7,
                 "10 days": 10, "2 weeks": 14, "12 h": 0.5, "1 d": 1, "2 d": 2, "3 d": 3, "5 d": 5, "1 wk": 7,
                 "2 wk": 14}

SURNAMES = ("Patel", "Jones", "Smith", "Nguyen", "Okafor", "Kowalski", "Murphy", "Garcia", "Brown",
            "Haddad", "Tanaka", "Wilson", "Moreau", "Schmidt", "Ahmed", "Rossi")
FIRST_NAMES = {"M": ("James", "Ravi", "Tomasz", "Daniel", "Kwame", "Luis", "Peter", "Hiro"),
               "F": ("Mary", "Anita", "Grace", "Sofia", "Aisha", "Helen", "Yuki", "Claire")}
CLINICIANS = ("Dr A. Lindqvist", "Dr S. Mensah", "Dr R. Iyer", "Dr C. O'Neill", "Dr M. Costa")
PRACTICES = ("Riverside Medical Practice", "Hillview Family Practice", "Station Road Surgery",
             "Northgate Health Centre")
WARDS = ("Acute Medical Unit", "Ward 7B", "Emergency Department", "Ward 12 (General Medicine)")
SPECIALTIES = ("Medical Registrar", "Acute Medicine", "General Medicine Clinic", "Medical Admissions")

# Headings for groups of results, by registry category: (terse, full).
LAB_GROUPS: dict[str, tuple[str, str]] = {
    "blood_count": ("CBC", "Haematology"),
    "chemistry": ("Chem", "Biochemistry"),
    "blood_gas": ("ABG", "Blood gas"),
    "cardiac": ("Cardiac", "Cardiac markers"),
    "endocrine": ("Endo", "Endocrinology"),
    "inflammation": ("Inflam", "Inflammatory markers"),
    "urine": ("Urine", "Urine chemistry"),
    "coagulation": ("Coag", "Coagulation"),
    "liver": ("LFTs", "Liver function tests"),
    "lung_function": ("PFTs", "Lung function"),
    "bedside": ("Bedside", "Bedside scores"),
    "demographic": ("Anthro", "Anthropometry"),
    "vital": ("Obs", "Observations"),
    "other": ("Other", "Other investigations"),
}
# A chemistry group made only of these is headed "BMP" (basic metabolic panel) in terse notes.
BMP = frozenset({"sodium", "potassium", "chloride", "bicarbonate", "bun", "creatinine", "glucose", "calcium"})
RESULT_HEADINGS = {"ecg": ("ECG", "ECG"), "imaging": ("Imaging", "Imaging"), "test": ("Tests", "Bedside tests")}
