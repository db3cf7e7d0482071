"""Case specifications as text: every key and twist kind parses (in the lenient forms a small
model writes), every bad specification is rejected with its reason, the canonical text round
trips and finds repeats, and the vocabulary a prompt shows is short and parses."""

from __future__ import annotations

import random

import pytest

from simulator.case import Rejection
from simulator.notes import STYLES
from simulator.spec import MAX_TWISTS, Spec, Words, parse_spec, sample_spec, vocabulary
from simulator.spec.format import TWIST_KINDS, parse_twist

DKA = "E11.10"


def spec(sim, text) -> Spec:
    got = parse_spec(sim, text)
    assert isinstance(got, Spec), f"{text!r} -> {got}"
    return got


def rejected(sim, text, reason) -> Rejection:
    got = parse_spec(sim, text)
    assert isinstance(got, Rejection), f"{text!r} was accepted: {got}"
    assert got.reason == reason, f"{text!r}: {got}"
    assert len(got.detail) > 20  # a sentence for a person
    return got


# ---- keys ----------------------------------------------------------------------------------------

def test_every_key(sim):
    s = spec(sim, "diagnosis: diabetic ketoacidosis\nseverity: severe\nage: 45\nsex: F\ntwist: add fever")
    assert (s.diagnosis, s.severity, s.age, s.sex, s.kind) == (DKA, "severe", 45, "F", "diagnosis")
    assert s.diagnosis_name == "Diabetic ketoacidosis" and [t.line for t in s.twists] == ["add fever"]
    c = spec(sim, "calculator: Anion Gap")
    assert (c.calculator, c.diagnosis, c.kind) == ("anion_gap", None, "calculation")
    both = spec(sim, "calculator: anion_gap\ndiagnosis: DKA")
    assert (both.calculator, both.diagnosis) == ("anion_gap", DKA)


@pytest.mark.parametrize("written", ["DKA", "E11.10", "diabetic ketoacidosis", "DIABETIC KETOACIDOSIS",
                                     "E11.10 Diabetic ketoacidosis", "Diabetic ketoacidosis (DKA)"])
def test_diagnosis_by_name_synonym_or_id(sim, written):
    assert spec(sim, f"diagnosis: {written}").diagnosis == DKA


@pytest.mark.parametrize("written,value", [("mild", "mild"), ("Moderate", "moderate"), ("severe", "severe"),
                                           ("critical", "severe"), ("0.7", 0.7), ("0", 0.0), ("35%", 0.35)])
def test_severity_words_and_numbers(sim, written, value):
    assert spec(sim, f"diagnosis: DKA\nseverity: {written}").severity == value


def test_lenient_forms_give_the_same_spec(sim):
    plain = spec(sim, "diagnosis: DKA\nseverity: mild\nage: 45\nsex: F\ntwist: add fever\ntwist: hide polyuria\n"
                      "twist: style ward_round")
    sloppy = ["Specification:", "```", "**Diagnosis**: Diabetic ketoacidosis.", "1. Severity = Mild",
              "- Age: 45 years", "* Gender: female", "Twists:", "  - Add a fever", "  - hide polyuria", "```",
              "note style: progress note"]
    assert spec(sim, "\n".join(sloppy)) == plain
    one_line = "dx: DKA\nsev: low\nage: 45 y\nsex: woman\ntwists: add fever; hide polyuria, present as a ward round note"
    assert spec(sim, one_line) == plain
    keyless = "diagnosis: DKA\nseverity: mild\nage: 45\nsex: F\nstyle: ward round\nremove polyuria\nwith fever"
    assert spec(sim, keyless) == plain
    units = spec(sim, "diagnosis: DKA\nUnits: glucose to mmol/L")
    assert units == spec(sim, "diagnosis: DKA\nchange units of glucose to mmol/L")
    assert units.twists[0].line == "units glucose mmol/L"


# ---- twists --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,kind,target,option", [
    ("add fever", "add", "fever", ""),
    ("add a confounder", "add", "confounder", ""),
    ("add comorbidity", "add", "comorbidity", ""),
    ("add history of hypertension", "add", "hypertension", ""),
    ("add confounding finding: cough", "add", "cough", ""),
    ("hide Kussmaul breathing", "hide", "kussmaul_breathing", ""),
    ("hide beta-hydroxybutyrate", "hide", "beta_hydroxybutyrate", ""),
    ("hide the give-away", "hide", "give-away", ""),
    ("units glucose mmol/L", "units", "glucose", "mmol/L"),
    ("units creatinine µmol/L", "units", "creatinine", "umol/L"),
    ("units temperature F", "units", "temperature", "degF"),
    ("units glucose", "units", "glucose", ""),
    ("units", "units", "any", ""),
    ("push potassium toward threshold", "push", "potassium", "toward"),
    ("push K+ just short of the cutoff", "push", "potassium", "short"),
    ("push pH to threshold", "push", "ph", "toward"),
    ("push any toward threshold", "push", "any", "toward"),
    ("push eGFR short of threshold", "push", "egfr", "short"),
    ("style referral letter", "style", "referral", ""),
    ("as a lab report", "style", "lab_report", ""),
])
def test_every_twist_kind_parses(sim, text, kind, target, option):
    t = parse_twist(Words.of(sim), text)
    assert not isinstance(t, Rejection), t
    assert (t.kind, t.target, t.option) == (kind, target, option)
    again = parse_twist(Words.of(sim), t.line)  # the canonical line reads back to the same twist
    assert again == t


@pytest.mark.parametrize("style", list(STYLES))
def test_every_note_style_parses(sim, style):
    s = spec(sim, f"diagnosis: DKA\ntwist: style {style}")
    assert s.twists[0].target == style


# ---- rejections ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,reason", [
    ("", "spec-parse"),
    ("age: 40\nsex: M", "spec-parse"),
    ("diagnosis: DKA\nweight: 80 kg", "spec-parse"),
    ("diagnosis: DKA\nthe patient is very unwell", "spec-parse"),
    ("diagnosis: dragon pox", "unknown-diagnosis"),
    ("calculator: magic number", "unknown-calculator"),
    ("diagnosis: DKA\ntwist: add unicorn horn", "unknown-finding"),
    ("diagnosis: DKA\ntwist: add potassium", "unknown-finding"),
    ("diagnosis: DKA\ntwist: hide the moon", "unknown-finding"),
    ("diagnosis: DKA\ntwist: push flux capacitor toward threshold", "unknown-variable"),
    ("diagnosis: DKA\ntwist: units fever mmol/L", "unknown-variable"),
    ("diagnosis: DKA\ntwist: teleport the patient", "unknown-twist"),
    ("diagnosis: DKA\ntwist: style haiku", "unknown-style"),
    ("diagnosis: DKA\ntwist: units glucose furlongs", "bad-unit"),
    ("diagnosis: DKA\ntwist: units glucose mg/dL", "bad-unit"),
    ("diagnosis: DKA\ntwist: units sodium mEq/L", "bad-unit"),
    ("diagnosis: DKA\ntwist: units anion gap mmol/L", "bad-unit"),
    ("diagnosis: DKA\nage: 12", "bad-value"),
    ("diagnosis: DKA\nage: old", "bad-value"),
    ("diagnosis: DKA\nsex: X", "bad-value"),
    ("diagnosis: DKA\nseverity: extreme", "bad-value"),
    ("diagnosis: DKA\nseverity: 1.5", "bad-value"),
    ("diagnosis: DKA\ntwist: add fever\ntwist: hide polyuria\ntwist: style triage\ntwist: units glucose",
     "too-many-twists"),
    ("diagnosis: DKA\ntwist: style triage\ntwist: style referral", "conflict"),
    ("diagnosis: DKA\ntwist: add fever\ntwist: add a fever", "conflict"),
    ("diagnosis: DKA\ntwist: add polyuria\ntwist: hide polyuria", "conflict"),
    ("diagnosis: DKA\ntwist: hide potassium\ntwist: push potassium toward threshold", "conflict"),
    ("diagnosis: DKA\ntwist: push potassium toward threshold\ntwist: push potassium short of threshold", "conflict"),
    ("diagnosis: DKA\ndiagnosis: pneumonia", "conflict"),
    ("calculator: anion_gap\ndiagnosis: DKA\ntwist: hide sodium", "conflict"),
    ("diagnosis: DKA\nsex: M\ntwist: add estrogen use", "conflict"),
    ("diagnosis: acute pyelonephritis\ntwist: hide fever\ntwist: units temperature", "conflict"),
    ("diagnosis: DKA\ntwist: hide troponin", "absent"),
    ("diagnosis: DKA\ntwist: push troponin toward threshold", "absent"),
    ("diagnosis: DKA\ntwist: units troponin ng/mL", "absent"),
])
def test_bad_specifications_are_rejected_with_their_reason(sim, text, reason):
    rejected(sim, text, reason)


def test_rejections_say_what_to_write(sim):
    assert "did you mean 'diabetic ketoacidosis'" in rejected(sim, "diagnosis: diabetic ketoacidosi", "unknown-diagnosis").detail
    assert "mmol/L" in rejected(sim, "diagnosis: DKA\ntwist: units glucose furlongs", "bad-unit").detail
    assert "push potassium" in rejected(sim, "diagnosis: DKA\ntwist: add potassium", "unknown-finding").detail
    assert "at most 3" in rejected(sim, "diagnosis: DKA\n" + "\n".join(
        f"twist: style {s}" for s in list(STYLES)[:4]), "too-many-twists").detail


def test_push_needs_a_threshold(sim):
    words = Words.of(sim)
    plain = next(v for v in sim.registry.variables if v not in words.thresholds and not sim.registry.variables[v].derive)
    got = rejected(sim, f"diagnosis: DKA\ntwist: push {plain} toward threshold", "no-threshold")
    assert "criterion" in got.detail


def test_calculator_with_a_diagnosis_that_cannot_carry_it(sim):
    words = Words.of(sim)
    other = next(dx for dx in sorted(sim.diagnoses) if dx not in words.feeding["anion_gap"])
    rejected(sim, f"calculator: anion_gap\ndiagnosis: {other}", "conflict")


# ---- canonical text ------------------------------------------------------------------------------

def test_canonical_text_round_trips(sim):
    rng = random.Random(5)
    for kind in ("diagnosis", "calculation") * 60:
        s = sample_spec(sim, rng, kind)
        assert parse_spec(sim, s.to_text()) == s, s.to_text()


def test_same_meaning_same_canonical_text(sim):
    texts = ["diagnosis: DKA\ntwist: add fever\ntwist: units glucose mmol/L",
             "Twist: units Glucose mmol/l\nDiagnosis: E11.10\nTwist: add pyrexia",
             "- dx: diabetic ketoacidosis\n- twists: units blood glucose in mmol/L; add fever"]
    canonical = {spec(sim, t).to_text() for t in texts}
    assert len(canonical) == 1, canonical
    assert canonical.pop() == "diagnosis: Diabetic ketoacidosis\ntwist: add fever\ntwist: units glucose mmol/L"
    assert spec(sim, "diagnosis: DKA\ntwist: add fever").to_text() != spec(sim, "diagnosis: DKA\ntwist: add cough").to_text()


def test_at_most_three_twists(sim):
    assert MAX_TWISTS == 3
    spec(sim, "diagnosis: DKA\ntwist: add fever\ntwist: hide polyuria\ntwist: style triage")


# ---- the vocabulary a prompt shows ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["diagnosis", "calculation"])
def test_vocabulary_is_short_and_its_examples_parse(sim, kind):
    text = vocabulary(sim, kind, random.Random(3))
    assert len(text) < 1400, len(text)
    for key in ("diagnosis:", "severity:", "age:", "sex:", "twist:", *[f"  {k}" for k in TWIST_KINDS]):
        assert key in text
    assert all(s in text for s in STYLES)
    if kind == "calculation":  # a sample of the calculators, every one of them accepted
        listed = text.split("calculator: any calculator id, e.g. ")[1].splitlines()[0].split(", ")
        assert len(listed) == 8 and set(listed) <= set(Words.of(sim).calculators)
        assert len(Words.of(sim).calculators) == 58
    words = Words.of(sim)
    examples = [e.strip() for line in text.splitlines() if "e.g." in line and line.startswith("  ")
                for e in line.split("e.g.")[1].split(";")[0].split(",")]
    assert len(examples) >= 6
    for e in examples:
        e = e if e.split()[0] in TWIST_KINDS else f"push {e} toward threshold"
        assert not isinstance(parse_twist(words, e), Rejection), e
