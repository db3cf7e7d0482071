"""Generated cases obey physiology. Every coupling is checked here with its formula written out in
this file (nothing is imported from the simulator's coupling code), on 200 cases of every
diagnosis (more than 10,000 in all): at most 1 % of cases may break a coupling overall and at most
5 % of any one diagnosis's cases. The same proposal validation must refuse a case that breaks one.

Formulas and tolerances (the references are the registry's, knowledge/variables.yaml):
- Henderson-Hasselbalch: pH = 6.1 + log10(HCO3 / (0.0307 x PaCO2)), within 0.05.
- Winter's formula, metabolic acidosis (HCO3 < 22): PaCO2 = 1.5 x HCO3 + 8 +- 2 (when the case
  has no PaCO2, the PaCO2 that its pH and HCO3 imply is checked).
- Respiratory acidosis (PaCO2 > 45): HCO3 between the acute (+1 per 10 mmHg) and chronic
  (+4 per 10 mmHg) compensation, +- 2.
- Osmolality: measured minus 2 Na + glucose/18 + BUN/2.8 (the osmolal gap) within -4 to +10.
- Pulse pressure 25-65 % of the systolic pressure (cardiac tamponade declares a narrow one).
- Chloride/sodium ratio 0.65-0.85, and an anion gap of at least 3.
- SpO2 within 5 points of the Severinghaus oxygen dissociation curve at the case's PaO2.
- Confusion with a GCS of 15, or a GCS of 13 or less without confusion.
- CSF glucose at most 0.9 x serum glucose.
- Fever below 37.8 C, or 38.3 C or more without fever.
- A CKD history with an eGFR (CKD-EPI 2021, computed here) of 60 or more and no albuminuria.
- Estrogen use in a man.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import pytest

from simulator.case import Rejection

# Diagnoses whose definition includes a departure from one coupling (declared in their pack).
DECLARED = {"I31.4": {"pulse_pressure"}}


def severinghaus(pao2: float) -> float:
    """Oxygen saturation (%) at a PaO2 (mmHg) on the standard dissociation curve (Severinghaus 1979)."""
    return 100.0 / (23400.0 / (pao2 ** 3 + 150.0 * pao2) + 1.0)


def ckd_epi_2021(creatinine: float, age: float, female: bool) -> float:
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    r = creatinine / kappa
    return 142 * min(r, 1) ** alpha * max(r, 1) ** -1.2 * 0.9938 ** age * (1.012 if female else 1.0)


def broken(case: dict) -> set[str]:
    """The couplings a case (the JSON of `Case.to_json`, canonical units) breaks."""
    m = {k: float(v["value"]) for k, v in case["measurements"].items()}
    f = set(case.get("symptoms", [])) | set(case.get("history", [])) | set(case.get("tests", []))
    out = set()
    ph, hco3, paco2 = m.get("ph"), m.get("bicarbonate"), m.get("paco2")
    if ph is not None and hco3 is not None and paco2 is not None:
        if abs(ph - (6.1 + math.log10(hco3 / (0.0307 * paco2)))) > 0.05:
            out.add("henderson_hasselbalch")
    if paco2 is None and ph is not None and hco3 is not None:
        paco2 = hco3 / (0.0307 * 10 ** (ph - 6.1))  # what the pH and bicarbonate imply
    if hco3 is not None and paco2 is not None:
        if hco3 < 22 and abs(paco2 - (1.5 * hco3 + 8)) > 2:
            out.add("winter")
        rise = paco2 - 40
        if paco2 > 45 and not 24 + 0.1 * rise - 2 <= hco3 <= 24 + 0.4 * rise + 2:
            out.add("respiratory_compensation")
    if {"serum_osmolality", "sodium", "glucose", "bun"} <= set(m):
        gap = m["serum_osmolality"] - (2 * m["sodium"] + m["glucose"] / 18 + m["bun"] / 2.8)
        if not -4 <= gap <= 10:
            out.add("osmolality")
    if "sbp" in m and "dbp" in m:
        pp = m["sbp"] - m["dbp"]
        if not 0.25 * m["sbp"] <= pp <= 0.65 * m["sbp"]:
            out.add("pulse_pressure")
    if "sodium" in m and "chloride" in m:
        if not 0.65 <= m["chloride"] / m["sodium"] <= 0.85:
            out.add("chloride_sodium")
        if hco3 is not None and m["sodium"] - m["chloride"] - hco3 < 3:
            out.add("anion_gap")
    if "spo2" in m and "pao2" in m and abs(m["spo2"] - severinghaus(m["pao2"])) > 5:
        out.add("oxygen_dissociation")
    if "gcs" in m and (("confusion" in f and m["gcs"] >= 15) or (m["gcs"] <= 13 and "confusion" not in f)):
        out.add("confusion_gcs")
    if "csf_glucose" in m and "glucose" in m and m["csf_glucose"] > 0.9 * m["glucose"]:
        out.add("csf_glucose")
    if "temperature" in m and (("fever" in f and m["temperature"] < 37.8)
                               or (m["temperature"] >= 38.3 and "fever" not in f)):
        out.add("fever_temperature")
    if "chronic_kidney_disease" in f and "creatinine" in m:
        egfr = ckd_epi_2021(m["creatinine"], case["age"], case["sex"] == "F")
        if egfr >= 60 and m.get("uacr", 0) < 30:
            out.add("ckd_renal_function")
    if "estrogen_use" in f and case["sex"] == "M":
        out.add("estrogen_sex")
    return out - DECLARED.get((case.get("diagnosis") or {}).get("id"), set())


def realism(cases: list[dict]) -> tuple[float, dict[str, float], Counter]:
    """(share of cases breaking any coupling, share per diagnosis, breaks per coupling)."""
    per_dx, n_dx, per_coupling = Counter(), Counter(), Counter()
    bad = 0
    for c in cases:
        dx = c["diagnosis"]["id"]
        n_dx[dx] += 1
        b = broken(c)
        per_coupling.update(b)
        if b:
            bad += 1
            per_dx[dx] += 1
    return bad / len(cases), {d: per_dx[d] / n_dx[d] for d in n_dx}, per_coupling


@pytest.fixture(scope="module")
def generated(sim):
    cases = []
    for dx in sim.diagnoses:
        for seed in range(200):
            cases.append(sim.generate(seed, diagnosis=dx).to_json(sim.registry, reveal=True))
    return cases


def test_generated_cases_keep_the_couplings(generated):
    assert len(generated) >= 10_000
    overall, per_dx, per_coupling = realism(generated)
    worst = sorted(per_dx.items(), key=lambda kv: -kv[1])[:5]
    assert overall <= 0.01, (overall, per_coupling.most_common(), worst)
    assert all(share <= 0.05 for share in per_dx.values()), worst


def test_every_coupling_is_exercised(generated):
    """Each coupling's variables appear together in enough cases that the check above means something."""
    seen = defaultdict(int)
    for c in generated:
        m, f = c["measurements"], set(c["symptoms"]) | set(c["history"]) | set(c["tests"])
        seen["acid_base"] += {"ph", "bicarbonate", "paco2"} <= set(m)
        seen["osmolality"] += {"serum_osmolality", "sodium", "glucose", "bun"} <= set(m)
        seen["oxygen"] += {"spo2", "pao2"} <= set(m)
        seen["gcs"] += "gcs" in m and "confusion" in f
        seen["csf"] += "csf_glucose" in m
        seen["fever"] += "fever" in f
        seen["ckd"] += "chronic_kidney_disease" in f
        seen["estrogen"] += "estrogen_use" in f
    assert all(n >= 20 for n in seen.values()), dict(seen)
    assert not any("estrogen_use" in c["history"] and c["sex"] == "M" for c in generated)


# ---- proposal validation enforces the same couplings ---------------------------------------------
def _dka(**changes) -> dict:
    """A hand-written DKA proposal whose values keep every coupling (computed here)."""
    hco3, paco2 = 10, 23                                   # Winter's: 1.5 x 10 + 8 = 23
    ph = round(6.1 + math.log10(hco3 / (0.0307 * paco2)), 2)  # 7.25
    m = {"glucose": 400, "beta_hydroxybutyrate": 5.0, "bicarbonate": hco3, "paco2": paco2, "ph": ph,
         "sodium": 134, "chloride": 100, "potassium": 5.0, "temperature": 37.0, "heart_rate": 110,
         "sbp": 115, "dbp": 72}
    case = {"age": 30, "sex": "M", "symptoms": ["polyuria", "kussmaul_breathing"], "history": ["diabetes"],
            "measurements": m}
    for k, v in changes.items():
        if k in ("symptoms", "history", "sex", "age"):
            case[k] = v
        elif v is None:
            m.pop(k)
        else:
            m[k] = v
    return case


def test_a_consistent_case_is_accepted(sim):
    case = sim.check(_dka())
    assert not isinstance(case, Rejection), case
    assert case.label == "E11.10" and not sim.physiology_breaks(case)


@pytest.mark.parametrize("changes,reason,words", [
    ({"paco2": 35, "ph": 7.07}, "implausible", "Winter"),                 # hidden respiratory acidosis
    ({"ph": 7.40}, "implausible", "Henderson-Hasselbalch"),               # pH that the gas cannot have
    ({"paco2": None}, "schema", "PaCO2"),                                 # a pH without its blood gas
    ({"chloride": 120}, "implausible", "chloride"),                       # Cl/Na 0.90
    ({"dbp": 105}, "implausible", "pulse pressure"),                      # 115/105
    ({"temperature": 39.0}, "implausible", "fever"),                      # a fever not recorded
    ({"symptoms": ["polyuria", "kussmaul_breathing", "fever"]}, "implausible", "fever"),  # at 37.0 C
    ({"history": ["diabetes", "estrogen_use"]}, "implausible", "hormone"),                # in a man
    ({"history": ["diabetes", "chronic_kidney_disease"], "creatinine": 0.9}, "implausible", "chronic kidney disease"),
    ({"pao2": 50, "spo2": 99}, "implausible", "dissociation"),
    ({"serum_osmolality": 250, "bun": 15}, "implausible", "osmolality"),  # gap -54
])
def test_a_case_that_breaks_a_coupling_is_rejected_with_the_reason(sim, changes, reason, words):
    r = sim.check(_dka(**changes))
    assert isinstance(r, Rejection) and r.reason == reason, r
    assert words.lower() in r.detail.lower(), r.detail


def test_a_declared_departure_is_accepted_only_for_its_diagnosis(sim):
    tamponade = {"age": 60, "sex": "F", "symptoms": ["pericardial_effusion", "rv_diastolic_collapse", "dyspnea"],
                 "measurements": {"heart_rate": 125, "sbp": 82, "dbp": 70, "temperature": 36.8}}
    case = sim.check(tamponade)
    assert not isinstance(case, Rejection) and case.label == "I31.4", case
    assert [b.coupling for b in sim.physiology_breaks(case)] == ["pulse_pressure"]
    # the same narrow pulse pressure (12 mmHg) in a case the engine labels otherwise is refused
    other = {**tamponade, "symptoms": ["atrial_fibrillation_ecg", "palpitations"]}
    r = sim.check(other)
    assert isinstance(r, Rejection) and r.reason == "implausible" and "pulse pressure" in r.detail


def test_generated_cases_pass_proposal_validation(sim):
    for seed in range(300):
        case = sim.generate(seed)
        assert not sim.physiology_breaks(case, case.label), seed
        back = sim.check(case.to_json(sim.registry))
        assert not isinstance(back, Rejection) and back.label == case.label, (seed, back)


@pytest.mark.parametrize("coupling,field,words", [
    ("{id: x, name: x, target: ferritn, expr: '2 * hemoglobin', why: w, ref: who2024}", "couplings[0].target", "unknown variable 'ferritn'"),
    ("{id: x, name: x, target: ferritin, expr: '2 * hemoglbin', why: w, ref: who2024}", "couplings[0].expr", "unknown variable 'hemoglbin'"),
    ("{id: x, name: x, finding: pica, requires: 'ferritin <', why: w, ref: who2024}", "couplings[0].requires", "cannot parse"),
    ("{id: x, name: x, target: ferritin, expr: '2 * hemoglobin', why: w, ref: nowhere}", "couplings[0].ref", "not declared"),
    ("{id: winter, name: x, target: ferritin, expr: '2 * hemoglobin', why: w, ref: who2024}", "couplings[0].id", "used twice"),
])
def test_a_bad_coupling_in_a_pack_names_file_field_line_and_fix(tmp_path, coupling, field, words):
    from tests.conftest import ROOT, run_cli

    text = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    text = text.replace("__NAME__", "demo").replace("__TITLE__", "Demo")
    text = text.replace("\npanel:", f"\ncouplings:\n  - {coupling}\npanel:", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    r = run_cli("packs", "validate", path)
    assert r.returncode != 0
    line = next(x for x in r.stderr.splitlines() if field in x)
    assert re.search(r"demo\.yaml:\d+: ", line) and words in line and "Fix:" in line, r.stderr


def test_an_unknown_departure_is_an_error(tmp_path):
    from tests.conftest import ROOT, run_cli

    text = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    text = text.replace("__NAME__", "demo").replace("__TITLE__", "Demo")
    text = text.replace("    differentials: [D63.8]\n", "    differentials: [D63.8]\n    departures: [pulse_presure]\n", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    r = run_cli("packs", "validate", path)
    assert r.returncode != 0 and "diagnoses[0].departures[0]" in r.stderr and "pulse_pressure" in r.stderr, r.stderr
