"""Acute-care bedside scores: SIRS criteria, CURB-65, the Pneumonia Severity Index, Glasgow Coma
Scale, and the sore-throat scores Centor, McIsaac and FeverPAIN.

    from simulator.calculators import evaluate
    evaluate("curb_65", {"age": 70, "confusion": True, "bun": 25, "resp_rate": 32,
                         "sbp": 85, "dbp": 50}).answer                                   # 5
    evaluate("gcs", {"gcs_eye": 3, "gcs_verbal": "confused", "gcs_motor": 6}).answer   # 13

Temperature in °C, BUN in mg/dL, WBC in 10^3/uL, PaCO2 in mm Hg. Findings not given count as
absent; for Centor and McIsaac that means "no cough" scores its point.

Conventions and where other implementations differ:
- SIRS (Bone 1992) counts heart rate > 90 only when it is > 90, and counts immature band
  neutrophils > 10 % (`bandemia`) with the white-cell criterion. MedCalc-Bench 1.7 adds the
  heart-rate point whatever the rate (a defect) and has no band criterion. It also scales WBC
  wrongly: a count per µL (its rows' form) is converted "per m^3" and compared with 12,000, so
  any WBC above 12 cells/µL counts as leukocytosis; only a count per mm^3 written "m^3" is read
  as meant.
- CURB-65 (Lim 2003) counts urea > 7 mmol/L, i.e. BUN > 7 x 2.801 = 19.6 mg/dL; MedCalc-Bench
  (like MDCalc) uses BUN > 19 mg/dL, so BUN in (19, 19.6] scores one point less here.
- Centor is the original four-item score (Centor 1981, fever > 38 °C); McIsaac (1998) adds the
  age points and applies from age 3. MedCalc-Bench's "Centor score" is McIsaac's.
- GCS components are the scale's numbers. A component recorded as not testable ("NT") is
  accepted as an observation, but the total is then refused (Teasdale et al. 2014 report the
  components instead); give the number the clinician assigns to score it. MedCalc-Bench scores
  "not testable" as a number. MedCalc-Bench's ground truth for GCS also counts the verbal
  response twice (E + V + V + M, up to 20); we count each component once (Teasdale 1974).
- PSI (Fine 1997): age (women minus 10), nursing home +10, neoplastic disease +30, liver disease
  +20, heart failure, cerebrovascular and renal disease +10 each, altered mental status +20,
  respiratory rate >= 30 +20, systolic BP < 90 +20, temperature < 35 or >= 40 °C +15, pulse
  >= 125 +10, pH < 7.35 +30, BUN >= 30 mg/dL +20, sodium < 130 +20, glucose >= 250 mg/dL +10,
  hematocrit < 30 % +10, PaO2 < 60 mm Hg or SpO2 < 90 % +10, pleural effusion +10. Laboratory
  values not obtained count as normal, as in the derivation study. MedCalc-Bench 1.7 scores
  temperature > 39.9 °C (the same for values written to one decimal) and has no SpO2 item.
- FeverPAIN (Little 2013): one point each for fever in the past 24 h, purulence, attending
  within 3 days of onset, severely inflamed tonsils and no cough or coryza. Same as
  MedCalc-Bench.
"""

from __future__ import annotations

from simulator.calculators.base import (Calculator, Criterion, Values, banded, fmt, graded, point_score,
                                        present)
from simulator.calculators.inputs import SEX, CalculatorInputError, choice, finding, number

UREA_MMOL_TO_BUN_MG = 2.801  # mg/dL of urea nitrogen per mmol/L of urea (registry conversion)
CURB_BUN_LIMIT = 7 * UREA_MMOL_TO_BUN_MG

# ---- SIRS ----------------------------------------------------------------------------------------


def _sirs_respiratory(v: Values) -> tuple[float, str]:
    rr, paco2 = v["resp_rate"], v["paco2"]
    seen = [f"RR {fmt(rr)}/min" if rr is not None else "RR not given",
            f"PaCO2 {fmt(paco2)} mm Hg" if paco2 is not None else "PaCO2 not given"]
    met = (rr is not None and rr > 20) or (paco2 is not None and paco2 < 32)
    return (1 if met else 0), ", ".join(seen)


def _sirs_white_cells(v: Values) -> tuple[float, str]:
    wbc, bands = v["wbc"], v["bandemia"]
    met = wbc > 12 or wbc < 4 or bands
    return (1 if met else 0), f"WBC {fmt(wbc)} x10^3/uL, bands > 10 % {'present' if bands else 'absent'}"


SIRS = point_score([
    banded("temperature", "Temperature > 38 °C or < 36 °C", "°C",
           [("> 38", lambda t: t > 38, 1), ("< 36", lambda t: t < 36, 1), ("36-38", lambda t: True, 0)]),
    banded("heart_rate", "Heart rate > 90/min", "/min", [("> 90", lambda hr: hr > 90, 1),
                                                         ("<= 90", lambda hr: True, 0)]),
    Criterion("Respiratory rate > 20/min or PaCO2 < 32 mm Hg", _sirs_respiratory),
    Criterion("WBC > 12 or < 4 x10^3/uL, or > 10 % bands", _sirs_white_cells),
], "SIRS criteria met")

# ---- CURB-65 -------------------------------------------------------------------------------------


def _curb_pressure(v: Values) -> tuple[float, str]:
    sbp, dbp = v["sbp"], v["dbp"]
    return (1 if sbp < 90 or dbp <= 60 else 0), f"{fmt(sbp)}/{fmt(dbp)} mm Hg"


CURB_65 = point_score([
    present("confusion", "Confusion"),
    banded("bun", f"Urea > 7 mmol/L (BUN > {fmt(CURB_BUN_LIMIT)} mg/dL)", "mg/dL",
           [(f"> {fmt(CURB_BUN_LIMIT)}", lambda b: b > CURB_BUN_LIMIT, 1),
            (f"<= {fmt(CURB_BUN_LIMIT)}", lambda b: True, 0)]),
    banded("resp_rate", "Respiratory rate >= 30/min", "/min", [(">= 30", lambda r: r >= 30, 1),
                                                               ("< 30", lambda r: True, 0)]),
    Criterion("Systolic BP < 90 or diastolic BP <= 60 mm Hg", _curb_pressure),
    banded("age", "Age >= 65", "years", [(">= 65", lambda a: a >= 65, 1), ("< 65", lambda a: True, 0)]),
], "CURB-65")

# ---- Glasgow Coma Scale --------------------------------------------------------------------------

NOT_TESTABLE = "NT"  # a component may be recorded as not testable (Teasdale 2014)
_NT = {"nt": NOT_TESTABLE, "untestable": NOT_TESTABLE, "not assessable": NOT_TESTABLE}

GCS_EYE = choice("gcs_eye", "best eye response",
                 {4: "spontaneous", 3: "to sound", 2: "to pain", 1: "none", NOT_TESTABLE: "not testable"},
                 synonyms={**_NT, "eyes open spontaneously": 4, "spontaneously": 4, "to voice": 3, "to speech": 3,
                           "eye opening to verbal command": 3, "to verbal command": 3,
                           "eye opening to pain": 2, "to pressure": 2, "no eye opening": 1})
GCS_VERBAL = choice("gcs_verbal", "best verbal response",
                    {5: "oriented", 4: "confused", 3: "inappropriate words", 2: "incomprehensible sounds",
                     1: "none", NOT_TESTABLE: "not testable"},
                    synonyms={**_NT, "words": 3, "sounds": 2, "no verbal response": 1})
GCS_MOTOR = choice("gcs_motor", "best motor response",
                   {6: "obeys commands", 5: "localizes pain", 4: "withdraws from pain",
                    3: "abnormal flexion", 2: "extension", 1: "none", NOT_TESTABLE: "not testable"},
                   synonyms={**_NT, "obeys": 6, "localizes": 5, "localises pain": 5, "withdrawal from pain": 4,
                             "withdraws": 4,
                             "normal flexion": 4, "flexion to pain": 3, "decorticate": 3,
                             "extension to pain": 2, "decerebrate": 2, "no motor response": 1})

_GCS_SUM = point_score([graded(GCS_EYE, "Eye opening (E)"),
                        graded(GCS_VERBAL, "Verbal response (V)"),
                        graded(GCS_MOTOR, "Motor response (M)")], "Glasgow Coma Scale, E + V + M")


def _gcs(v: Values):
    untestable = [c.name for c in (GCS_EYE, GCS_VERBAL, GCS_MOTOR) if v[c.name] == NOT_TESTABLE]
    if untestable:
        raise CalculatorInputError(f"gcs: {', '.join(untestable)} is not testable (NT), so the total is not "
                                   f"defined (Teasdale 2014: report the components, e.g. E3 VNT M5); give the number "
                                   f"the clinician assigns to score it")
    return _GCS_SUM(v)

# ---- Centor and McIsaac --------------------------------------------------------------------------

CENTOR_CRITERIA = [
    present("tonsillar_exudate", "Tonsillar exudate or swelling"),
    present("tender_anterior_cervical_nodes", "Tender or swollen anterior cervical lymph nodes"),
    banded("temperature", "Temperature > 38 °C", "°C", [("> 38", lambda t: t > 38, 1), ("<= 38", lambda t: True, 0)]),
    Criterion("Absence of cough", lambda v: (0, "cough present") if v["cough"] else (1, "no cough")),
]
MCISAAC_AGE = banded("age", "Age", "years", [("3-14", lambda a: a < 15, 1), ("15-44", lambda a: a < 45, 0),
                                             (">= 45", lambda a: True, -1)])
# ---- Pneumonia Severity Index (PORT) -----------------------------------------------------------

PSI_FINDINGS = {
    "nursing_home_resident": ("Nursing home resident", 10),
    "neoplastic_disease": ("Neoplastic disease (active, or diagnosed within 1 year)", 30),
    "liver_disease": ("Liver disease", 20),
    "congestive_heart_failure": ("Congestive heart failure", 10),
    "cerebrovascular_disease": ("Cerebrovascular disease", 10),
    "renal_disease": ("Renal disease", 10),
    "confusion": ("Altered mental status", 20),
    "pleural_effusion": ("Pleural effusion on imaging", 10),
}


def _psi_age(v: Values) -> tuple[float, str]:
    age, female = v["age"], v["sex"] == "F"
    return (age - 10 if female else age), f"{fmt(age)} years{', female: age - 10' if female else ''}"


def _psi_lab(name: str, label: str, unit: str, test, points: float) -> Criterion:
    """A laboratory item of PSI: a value not obtained counts as normal (Fine 1997)."""
    def rule(v: Values) -> tuple[float, str]:
        x = v[name]
        if x is None:
            return 0, "not obtained (counts as normal)"
        return (points if test(x) else 0), f"{fmt(x)}{unit}"
    return Criterion(label, rule)


def _psi_oxygen(v: Values) -> tuple[float, str]:
    pao2, spo2 = v["pao2"], v["spo2"]
    seen = [f"PaO2 {fmt(pao2)} mm Hg" if pao2 is not None else "", f"SpO2 {fmt(spo2)} %" if spo2 is not None else ""]
    low = (pao2 is not None and pao2 < 60) or (spo2 is not None and spo2 < 90)
    return (10 if low else 0), ", ".join(x for x in seen if x) or "not obtained (counts as normal)"


PSI = point_score([
    Criterion("Age (women: age - 10)", _psi_age),
    *(present(n, label, pts) for n, (label, pts) in PSI_FINDINGS.items() if n != "pleural_effusion"),
    banded("resp_rate", "Respiratory rate >= 30/min", "/min", [(">= 30", lambda r: r >= 30, 20), ("< 30", lambda r: True, 0)]),
    banded("sbp", "Systolic BP < 90 mm Hg", "mm Hg", [("< 90", lambda s: s < 90, 20), (">= 90", lambda s: True, 0)]),
    banded("temperature", "Temperature < 35 or >= 40 °C", "°C",
           [("< 35", lambda t: t < 35, 15), (">= 40", lambda t: t >= 40, 15), ("35-39.9", lambda t: True, 0)]),
    banded("heart_rate", "Pulse >= 125/min", "/min", [(">= 125", lambda h: h >= 125, 10), ("< 125", lambda h: True, 0)]),
    _psi_lab("ph", "Arterial pH < 7.35", "", lambda x: x < 7.35, 30),
    _psi_lab("bun", "BUN >= 30 mg/dL", " mg/dL", lambda x: x >= 30, 20),
    _psi_lab("sodium", "Sodium < 130 mmol/L", " mmol/L", lambda x: x < 130, 20),
    _psi_lab("glucose", "Glucose >= 250 mg/dL", " mg/dL", lambda x: x >= 250, 10),
    _psi_lab("hematocrit", "Hematocrit < 30 %", " %", lambda x: x < 30, 10),
    Criterion("PaO2 < 60 mm Hg or SpO2 < 90 %", _psi_oxygen),
    present("pleural_effusion", "Pleural effusion on imaging", 10),
], "Pneumonia Severity Index")


def _psi(v: Values):
    points, steps = PSI(v)
    klass = ("II" if points <= 70 else "III" if points <= 90 else "IV" if points <= 130 else "V")
    return points, [*steps, f"PSI risk class {klass} (II <= 70, III 71-90, IV 91-130, V > 130; class I is "
                            f"age < 50 with no risk factor, decided before scoring)"]


# ---- FeverPAIN -------------------------------------------------------------------------------------

FEVERPAIN_FINDINGS = {
    "fever_past_24h": "Fever in the past 24 hours",
    "purulent_tonsils": "Purulence (pharyngeal or tonsillar exudate)",
    "rapid_attendance": "Attended within 3 days of symptom onset",
    "severe_tonsil_inflammation": "Severely inflamed tonsils",
    "no_cough_or_coryza": "No cough or coryza",
}

CENTOR_INPUTS = (number("temperature"), finding("tonsillar_exudate", "tonsillar exudate or swelling"),
                 finding("tender_anterior_cervical_nodes", "tender/swollen anterior cervical lymph nodes"),
                 finding("cough", "cough (its absence scores a point)"))

CALCULATORS = [
    Calculator(
        id="sirs", name="SIRS criteria", unit="criteria", integer=True,
        medcalc_id=51,
        aliases=("SIRS", "SIRS criteria", "systemic inflammatory response syndrome criteria"),
        reference="Bone RC et al. Definitions for sepsis and organ failure and guidelines for the use of "
                  "innovative therapies in sepsis. Chest 1992;101:1644-55.",
        inputs=(number("temperature"), number("heart_rate"), number("wbc"),
                number("resp_rate", required=False), number("paco2", required=False),
                finding("bandemia", "immature band neutrophils > 10 %")),
        formula=SIRS),
    Calculator(
        id="curb_65", name="CURB-65 score for pneumonia severity", unit="points", integer=True,
        medcalc_id=45,
        aliases=("CURB-65", "CURB65", "CURB-65 score", "CURB-65 score for pneumonia severity"),
        reference="Lim WS et al. Defining community acquired pneumonia severity on presentation to "
                  "hospital: an international derivation and validation study. Thorax 2003;58:377-82.",
        inputs=(finding("confusion", "new confusion"), number("bun"), number("resp_rate"), number("sbp"),
                number("dbp"), number("age")),
        formula=CURB_65),
    Calculator(
        id="psi", name="Pneumonia Severity Index (PSI/PORT)", unit="points", integer=True, medcalc_id=29,
        aliases=("PSI", "PORT score", "PSI Score: Pneumonia Severity Index for CAP", "Pneumonia Severity Index",
                 "PSI/PORT score"),
        reference="Fine MJ et al. A prediction rule to identify low-risk patients with community-acquired "
                  "pneumonia. N Engl J Med 1997;336:243-50.",
        inputs=(number("age"), SEX, *(finding(n, label) for n, (label, _) in PSI_FINDINGS.items()),
                number("resp_rate"), number("sbp"), number("temperature"), number("heart_rate"),
                *(number(n, required=False) for n in ("ph", "bun", "sodium", "glucose", "hematocrit", "pao2",
                                                      "spo2"))),
        formula=_psi),
    Calculator(
        id="gcs", name="Glasgow Coma Scale", unit="points", integer=True,
        medcalc_id=21,
        aliases=("GCS", "Glasgow Coma Scale", "Glasgow Coma Score", "Glasgow Coma Score (GCS)"),
        reference="Teasdale G, Jennett B. Assessment of coma and impaired consciousness: a practical scale. "
                  "Lancet 1974;2:81-4; Teasdale G et al. The Glasgow Coma Scale at 40 years: standing the test of "
                  "time. Lancet Neurol 2014;13:844-54.",
        inputs=(GCS_EYE, GCS_VERBAL, GCS_MOTOR), formula=_gcs),
    Calculator(
        id="centor", name="Centor score for streptococcal pharyngitis", unit="points", integer=True,
        aliases=("Centor", "Centor score", "Centor criteria", "original Centor score"),
        reference="Centor RM et al. The diagnosis of strep throat in adults in the emergency room. "
                  "Med Decis Making 1981;1:239-46.",
        inputs=CENTOR_INPUTS, formula=point_score(CENTOR_CRITERIA, "Centor score")),
    Calculator(
        id="mcisaac", name="McIsaac (modified Centor) score", unit="points", integer=True,
        medcalc_id=20,
        aliases=("McIsaac", "McIsaac score", "modified Centor score",
                 "Centor score (modified/McIsaac) for strep pharyngitis"),
        reference="McIsaac WJ et al. A clinical score to reduce unnecessary antibiotic use in patients with "
                  "sore throat. CMAJ 1998;158:75-83.",
        inputs=(number("age", low=3), *CENTOR_INPUTS),
        formula=point_score([*CENTOR_CRITERIA, MCISAAC_AGE], "McIsaac score")),
    Calculator(
        id="feverpain", name="FeverPAIN score for streptococcal pharyngitis", unit="points", integer=True,
        medcalc_id=33,
        aliases=("FeverPAIN", "FeverPAIN score", "FeverPAIN Score for Strep Pharyngitis"),
        reference="Little P et al. Clinical score and rapid antigen detection test to guide antibiotic use for "
                  "sore throats: randomised controlled trial of PRISM (primary care streptococcal management). "
                  "BMJ 2013;347:f5806.",
        inputs=tuple(finding(n, label) for n, label in FEVERPAIN_FINDINGS.items()),
        formula=point_score([present(n, label) for n, label in FEVERPAIN_FINDINGS.items()], "FeverPAIN score")),
]
