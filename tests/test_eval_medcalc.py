"""MedCalc-Bench suite: reading answers out of free text and scoring them against a row's
limits, on hand-written model outputs (right, wrong, unparseable, hedged, units, dates,
weeks and days), plus the shipped CSV: every row loads and its own ground truth, written as a
model would write it, is graded correct."""

from __future__ import annotations

import csv

import pytest

from simulator.answers import read_date, read_number, read_weeks_days
from azmed.eval.config import MEDCALC_CSV, MedCalcOptions
from azmed.eval.harness import SuiteDataError
from azmed.envs.clinical.prompts import direct_prompt
from azmed.eval.medcalc import MedCalcSuite, grade, load_rows, round_robin, truth_of
from simulator.tools import note_numbers


def row(output_type: str, answer: str, lower: str = "", upper: str = "") -> dict[str, str]:
    """A hand-written MedCalc-Bench row (not a row of the benchmark)."""
    return {"Row Number": "1", "Calculator Name": "Hand", "Category": "lab", "Output Type": output_type,
            "Patient Note": "A note.", "Question": "What?", "Ground Truth Answer": answer,
            "Lower Limit": lower or answer, "Upper Limit": upper or answer}


DECIMAL = truth_of(row("decimal", "24.0", "22.8", "25.2"))
INTEGER = truth_of(row("integer", "3"))
NEGATIVE = truth_of(row("decimal", "-2.0", "-2.1", "-1.9"))
DATE = truth_of(row("date", "03/07/2021"))
WEEKS = truth_of(row("integer", "('10 weeks', '2 days')"))


@pytest.mark.parametrize("answer, correct, formatted", [
    ("Answer: 24.3", True, True),
    ("24", True, True),
    ("The patient's BMI is 23.9 kg/m².", True, True),                       # unit after the value
    ("BMI = 70 / (1.7 ^ 2) = 24.2 kg/m2", True, True),                      # worked answer: after the last '='
    ('{"answer": "25.1"}', True, True),                                     # MedCalc-Bench's JSON format
    ("Answer: 26.0", False, True),                                          # outside +5 %
    ("Answer: 22.7", False, True),                                          # outside -5 %
    ("Answer: 23-25", False, True),                                         # hedged range
    ("It is between 23 and 25.", False, True),
    ("I cannot compute this without more data.", False, False),             # unparseable
    ("", False, False),
])
def test_decimal_answers(answer, correct, formatted):
    v = grade(DECIMAL, answer)
    assert (v.correct, v.formatted) == (correct, formatted), v


@pytest.mark.parametrize("answer, correct", [
    ("Answer: 3", True), ("3 points", True), ("The CHA2DS2-VASc score is 3.", True),   # digits inside names are not values
    ("Answer: 3.0", True), ("Answer: 4", False), ("3 or 4", False), ("Answer: 2.9", False),
    ("The score is 3 out of 9.", True),
])
def test_integer_answers(answer, correct):
    assert grade(INTEGER, answer).correct is correct


def test_negative_values_and_units_with_digits():
    assert grade(NEGATIVE, "The delta gap is -2.03 mEq/L").correct
    assert not grade(NEGATIVE, "The delta gap is 2.0 mEq/L").correct
    assert read_number("The eGFR is 58 mL/min/1.73 m².").value == 58
    assert read_number("FIB-4 index: 1.76").value == 1.76


@pytest.mark.parametrize("answer, correct, formatted", [
    ("Answer: 03/07/2021", True, True), ("3/7/2021", True, True), ("2021-03-07", True, True),
    ("The estimated due date is March 7, 2021.", True, True), ("7 March 2021", True, True),
    ("Answer: 07/03/2021", False, True),                                   # day and month swapped: wrong
    ("03/07/2021 or 03/08/2021", False, True),                             # hedged
    ("around the spring", False, False),
])
def test_date_answers(answer, correct, formatted):
    v = grade(DATE, answer)
    assert (v.correct, v.formatted) == (correct, formatted), v


@pytest.mark.parametrize("answer, correct", [
    ("(10 weeks, 2 days)", True), ("10 weeks and 2 days", True), ("('10 weeks', '2 days')", True),
    ("Answer: 10w2d", True), ("(9 weeks, 9 days)", True),                 # the same number of days
    ("(10 weeks, 3 days)", False), ("10 weeks", False),
])
def test_weeks_and_days_answers(answer, correct):
    assert WEEKS["kind"] == "weeks_days"
    assert grade(WEEKS, answer).correct is correct
    assert read_weeks_days("no idea").value is None


def test_readings_say_what_was_read():
    r = read_number("Answer: 20 - 25 mL/min")
    assert r.hedged and r.value == 20 and r.others == (25,)
    assert read_date("Answer: 12/9/2007").value.isoformat() == "2007-12-09"


def test_shipped_csv_loads_and_its_truths_grade_correct():
    rows = load_rows(MEDCALC_CSV)
    assert len(rows) == 261
    kinds = {truth_of(r)["kind"] for r in rows}
    assert kinds == {"number", "date", "weeks_days"}
    for r in rows:
        # The truth written as a model would: generic extraction must read every row's format.
        for answer in (f"Answer: {r['Ground Truth Answer']}", f"The answer is {r['Ground Truth Answer']}."):
            assert grade(truth_of(r), answer).correct, (r["Row Number"], answer)


def test_limit_covers_different_calculators():
    suite = MedCalcSuite(MedCalcOptions())
    items = suite.items(limit=20)
    assert len({it.groups["calculator"] for it in items}) == 20
    prompt = suite.prompt(items[0])
    # the direct setting asks as training's direct calculation tasks do
    assert prompt == direct_prompt(items[0].data["note"], items[0].data["question"], "decimal")
    assert prompt.endswith("Answer with the number only.") and "<value>" not in prompt
    assert str(items[0].truth["answer"]) not in prompt.split(items[0].data["note"].strip())[1]
    assert [r["k"] for r in round_robin([{"k": 1}, {"k": 1}, {"k": 2}], "k")] == [1, 2, 1]


def test_tools_setting_copies_the_notes_numbers_with_guided_values():
    plain, copying = (MedCalcSuite(MedCalcOptions(guided_values=v), setting="tools") for v in (False, True))
    item = plain.items(limit=1)[0]
    assert plain.guide(item).numbers is None
    assert copying.guide(item).numbers == note_numbers(item.data["note"] + "\n" + item.data["question"])
    assert plain.prompt(item) == copying.prompt(item)  # the prompt is the same; only the writing differs


def test_bad_csv_files_are_named(tmp_path):
    with pytest.raises(SuiteDataError, match="does not exist"):
        load_rows(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SuiteDataError, match="lacks the MedCalc-Bench column"):
        load_rows(bad)
    broken = tmp_path / "broken.csv"
    with open(broken, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row("decimal", "1")))
        w.writeheader()
        w.writerow(row("decimal", "1"))
        w.writerow(row("decimal", "n/a"))
    with pytest.raises(SuiteDataError, match=r"data row 2 .*must be numbers"):
        load_rows(broken)
