"""Answer verification as pure functions: synonyms, normalisation, hedging, tolerance."""

from __future__ import annotations

import pytest

from simulator.verify import DiagnosisIndex, extract_number, grade_diagnosis, grade_next_step, grade_number


@pytest.fixture(scope="module")
def demo(sim_with_extra):
    s = sim_with_extra
    return s, DiagnosisIndex(s.diagnoses.values())


@pytest.mark.parametrize("answer,ok", [
    ("Iron deficiency anemia", True),
    ("iron-deficiency anaemia", True),
    ("The diagnosis is IDA.", True),
    ("D50.9", True),
    ("Final answer: iron deficiency anemia", True),
    ("Anemia of chronic disease", False),
    ("Iron deficiency anemia or anemia of chronic disease", False),  # hedged
    ("IDA, ACD", False),
])
def test_diagnosis_grading(demo, answer, ok):
    sim, index = demo
    assert grade_diagnosis(answer, "D50.9", index).correct is ok


def test_unparseable_diagnosis_is_a_format_failure(demo):
    sim, index = demo
    v = grade_diagnosis("I am not sure", "D50.9", index)
    assert not v.correct and not v.formatted
    v = grade_diagnosis("IDA or ACD", "D50.9", index)
    assert not v.correct and v.formatted and "hedged" in v.why


@pytest.mark.parametrize("text,value", [
    ("12", 12.0), ("The anion gap is 12 mmol/L.", 12.0), ("Answer: 3 points", 3.0),
    ("Na 140 - Cl 104 - HCO3 24 = 12", 12.0), ("-2.5", -2.5), ("1,234.5 mL", 1234.5), ("none", None),
])
def test_extract_number(text, value):
    assert extract_number(text) == value


def test_number_tolerance():
    assert grade_number("104.9", 100.0, integer=False).correct
    assert not grade_number("105.2", 100.0, integer=False).correct
    assert grade_number("3", 3, integer=True).correct
    assert not grade_number("4", 3, integer=True).correct
    assert not grade_number("3.2", 3, integer=True).correct
    assert not grade_number("no idea", 3, integer=True).formatted


def test_next_step(demo):
    sim, _ = demo
    step = sim.diagnoses["D50.9"].management[-1]
    accepted = [step.first_line, *step.synonyms]
    others = [p for d in sim.diagnoses.values() if d.id != "D50.9" for m in d.management for p in (m.first_line, *m.synonyms)]
    assert grade_next_step("Start oral iron supplementation", accepted, others).correct
    assert not grade_next_step("treat the underlying disease", accepted, others).correct
    assert not grade_next_step("oral iron or treat the underlying disease", accepted, others).correct
