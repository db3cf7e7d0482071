"""The `real-cases` suite grades answers by answer type (pure functions, no model): diagnoses by
normalised match or pack synonyms, numbers within range or ±5 %, integers exactly, dates in any
written form, weeks-and-days in days, other text after normalisation."""

from __future__ import annotations

import json

import pytest

from azmed.eval.harness import SuiteDataError
from azmed.eval.real_cases import RealCaseOptions, RealCaseSuite, grade_answer
from azmed.real_cases import RealCase


@pytest.fixture(scope="module")
def suite():
    return RealCaseSuite(RealCaseOptions())


def _case(answer, **kw) -> RealCase:
    return RealCase(case="a patient", question="q?", answer=answer, **kw)


@pytest.mark.parametrize("answer,text,ok", [
    ("Myasthenia gravis", "Myasthenia Gravis.", True),
    ("Hirschsprung disease", "The most likely diagnosis is Hirschsprung's disease", True),
    ("Myasthenia gravis", "Lambert-Eaton syndrome", False),
    ("ST-elevation myocardial infarction", "STEMI", True),          # a rule-pack synonym
    ("ST-elevation myocardial infarction", "NSTEMI", False),
    ("Diabetic ketoacidosis", "DKA or sepsis", False),  # hedged between two diagnoses
])
def test_diagnosis(suite, answer, text, ok):
    assert grade_answer(_case(answer, task_type="diagnosis"), text, suite).correct is ok


@pytest.mark.parametrize("case_kw,text,ok", [
    (dict(answer="106.192", answer_type="number", answer_range=(100.88, 111.5)), "Answer: 101 mL/min", True),
    (dict(answer="106.192", answer_type="number", answer_range=(100.88, 111.5)), "99.9", False),
    (dict(answer="100", answer_type="number"), "104.9", True),    # default +-5 %
    (dict(answer="100", answer_type="number"), "105.1", False),
    (dict(answer="-20", answer_type="number"), "-19.5", True),    # the range is ordered for negatives
    (dict(answer="3", answer_type="integer"), "3 points", True),
    (dict(answer="3", answer_type="integer"), "4", False),
    (dict(answer="3", answer_type="integer"), "3 or 4", False),
    (dict(answer="12/09/2007", answer_type="date"), "December 9, 2007", True),
    (dict(answer="12/09/2007", answer_type="date"), "2007-09-12", False),
    (dict(answer="14 weeks, 1 days"), "(14 weeks, 1 day)", True),
    (dict(answer="14 weeks, 1 days"), "14 weeks", False),
    (dict(answer="Aspirin", task_type="next_step"), "aspirin.", True),
])
def test_numbers_dates_and_text(suite, case_kw, text, ok):
    verdict = grade_answer(_case(**case_kw), text, suite)
    assert verdict.correct is ok, verdict.why


def test_unanswerable_is_not_formatted(suite):
    assert grade_answer(_case("12", answer_type="number"), "I cannot tell", suite).formatted is False


def test_items_and_prompts_come_from_the_file(tmp_path):
    rows = [{"id": "a", "case": "x", "question": "Which?", "answer": "y", "task_type": "diagnosis", "source": "s"},
            {"id": "b", "case": "z", "question": "How many?", "answer": 2, "answer_type": "integer"}]
    p = tmp_path / "cases.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = RealCaseSuite(RealCaseOptions(jsonl=str(p)))
    items = s.items()
    assert [i.id for i in items] == ["a", "b"] and items[0].groups == {"task_type": "diagnosis",
                                                                        "answer_type": "text", "source": "s"}
    assert s.prompt(items[1]).endswith("How many? Answer with the number only.") and len(s.items(limit=1)) == 1
    p.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"case": "x"}) + "\n")
    with pytest.raises(SuiteDataError, match="line 2, field `question`"):
        s.items()
    with pytest.raises(SuiteDataError, match="real_cases.jsonl=PATH"):
        RealCaseSuite(RealCaseOptions()).items()
