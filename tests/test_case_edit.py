"""A proposal that edits a reference case (simulator.validation.edit_case): the reference stays a
`Case` (read back from a task's JSON once, never re-rendered and parsed), the edit is validated in
one call, and an unchanged copy is told apart from a change."""

from __future__ import annotations

import random

import pytest

from azmed.envs.base import Rejection, Task
from azmed.envs.clinical import ClinicalEnv
from simulator.validation import CaseEdit, case_from_json, case_identity, edit_case, parse_case


@pytest.fixture(scope="module")
def env(sim):
    return ClinicalEnv(simulator=sim)


def test_edit_case_applies_the_lines_to_the_reference(sim):
    reference = sim.generate(11)
    edit = edit_case(sim, reference, f"age: {reference.age + 1}")
    assert isinstance(edit, CaseEdit) and edit.changed and edit.case.age == reference.age + 1
    assert edit.case.label in sim.diagnoses
    same = edit_case(sim, reference, f"age: {reference.age}")
    assert isinstance(same, CaseEdit) and not same.changed
    calc = edit_case(sim, reference, "sodium: 141 mmol/L", fields={"calculator": "anion_gap"}, label=False)
    assert isinstance(calc, CaseEdit) and calc.fields == {"calculator": "anion_gap"} and calc.case.label is None
    for text, reason in [("Patient name: John", "parse"), ("", "parse"), ("sodium: 400 mmol/L", "implausible")]:
        rejected = edit_case(sim, reference, text)
        assert isinstance(rejected, Rejection) and rejected.reason == reason, (text, rejected)


def test_a_task_case_reads_back_as_the_same_case(sim, env):
    for task in env.sample_tasks("diagnosis", 20, random.Random(3)):
        back = case_from_json(sim, task.payload["case"])
        assert back is not None
        assert case_identity(back) == case_identity(parse_case(sim, task.payload["case"]))
    assert case_from_json(sim, {"age": 40, "sex": "F", "measurements": {"no_such_lab": {"value": 1}}}) is None


def test_an_abduction_reference_missing_its_hidden_value_is_still_edited(sim, env):
    """An abduction task's case lacks its hidden value; when that value is an input of a physiology
    coupling the case no longer passes validation, yet it is a fine reference to edit and show."""
    tasks = env.sample_tasks("abduction", 200, random.Random(5))
    ref = next((t for t in tasks if isinstance(parse_case(sim, t.payload["case"]), Rejection)), None)
    if ref is None:
        pytest.skip("no sampled abduction task hides a physiology input with these packs")
    prompt = env.propose_prompt("abduction", [ref], random.Random(0))
    assert f"age: {ref.payload['case']['age']}" in prompt
    result = env.validate("abduction", f"age: {ref.payload['case']['age'] + 1}", references=[ref])
    assert isinstance(result, (Task, Rejection))  # a verdict on the proposal, never an exception
