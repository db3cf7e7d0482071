"""The clinical environment on the protocol, with edit proposals over 'name: value unit' lines and
multiple-choice diagnoses (`proposals: edit`, `case_format: lines`, `choices: 4`, no tools): every
task type seeds, prompts without the hidden answer, verifies right and wrong answers, and
validates proposals (rejections counted by reason). The default configuration (notes, free text,
calculator calls, case specifications) is tested in test_clinical_notes_env.py."""

from __future__ import annotations

import json
import random

import pytest

from azmed.envs.base import Environment, Rejection, Task
from azmed.envs.clinical import HELDOUT_SEED_BASE, TASK_TYPES, ClinicalEnv


@pytest.fixture(scope="module")
def env(extra_pack_dir):
    return ClinicalEnv(packs_dirs=[str(extra_pack_dir)], seed_tasks_per_type=4, proposals="edit",
                       case_format="lines", choices=4, tools=[])


def test_is_an_environment(env):
    assert isinstance(env, Environment)
    assert tuple(env.task_types) == TASK_TYPES


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_seed_tasks_prompts_and_verification(env, task_type):
    tasks = env.seed_tasks(task_type)
    assert len(tasks) == 4
    for task in tasks:
        prompt = env.solve_prompt(task)
        if task_type in ("diagnosis", "self_edit", "next_step"):
            assert task.answer not in prompt  # the ICD id / management text never shown
        if task_type == "next_step":
            assert task.answer not in prompt
        if task_type == "calculation":
            assert json.dumps(task.answer) not in prompt.split("from:")[0]
        right = env.verify(task, str(task.answer) if task_type != "diagnosis" else env.sim.diagnoses[task.answer].name)
        assert right.correct, (task_type, right)
        wrong = env.verify(task, "banana")
        assert not wrong.correct


def test_diagnosis_prompt_never_holds_the_label(env):
    for task in env.seed_tasks("diagnosis"):
        prompt = env.solve_prompt(task)
        assert task.answer not in prompt
        assert "diagnosis" not in json.dumps(task.payload["case"])  # no label in the case JSON


def test_abduction_accepts_any_valid_value(env):
    task = next(t for t in env.seed_tasks("abduction"))
    hidden = task.payload["hidden"]
    assert hidden not in task.payload["case"]["measurements"]
    assert env.verify(task, str(task.answer)).correct
    # another value on the same side of the threshold also works
    tree = str(env.sim.trees[task.payload["diagnosis_id"]])
    candidates = [task.answer * f for f in (0.9, 1.1, 0.8, 1.25)]
    assert sum(env.verify(task, f"{c:g}").correct for c in candidates) >= 1, tree


def test_proposal_copy_is_duplicate_and_edit_is_valid(env):
    ref = env.seed_tasks("diagnosis")[0]
    copy = env.validate("diagnosis", ref.payload["lines"])
    assert isinstance(copy, Rejection) and copy.reason == "duplicate"
    edited = ref.payload["lines"].replace(f"age: {ref.payload['case']['age']}", f"age: {ref.payload['case']['age'] + 1}")
    task = env.validate("diagnosis", edited)
    assert isinstance(task, Task), task
    assert task.answer in env.sim.diagnoses


def test_an_edit_of_the_reference_is_applied_before_the_engine_labels_it(env):
    ref = env.seed_tasks("diagnosis")[1]
    age = ref.payload["case"]["age"]
    # a copy of the reference is a duplicate, also when the proposer was shown it
    copy = env.validate("diagnosis", ref.payload["lines"], references=[ref])
    assert isinstance(copy, Rejection) and copy.reason == "duplicate"
    # the changed line only: the rest comes from the reference
    task = env.validate("diagnosis", f"Age: {age + 2}", references=[ref])
    assert isinstance(task, Task), task
    assert task.payload["case"]["age"] == age + 2
    def measured(t):  # derived values (eGFR from age...) are recomputed
        return {k: round(float(m["value"]), 1) for k, m in t.payload["case"]["measurements"].items()
                if not env.reg.variables[k].derive}
    assert measured(task) == measured(ref)
    assert task.answer == ref.answer  # two years older: the engine still gives the same label
    # without the reference the same text is not a case
    alone = env.validate("diagnosis", f"Age: {age + 3}")
    assert isinstance(alone, Rejection) and alone.reason == "schema"
    # lines that name nothing of the case are a parse rejection, not an unchanged copy
    noise = env.validate("diagnosis", "Patient name: John Smith\nStatus: 1", references=[ref])
    assert isinstance(noise, Rejection) and noise.reason == "parse"
    # an edit that changes nothing (the same value written again) is a duplicate
    same = env.validate("diagnosis", f"age: {age}", references=[ref])
    assert isinstance(same, Rejection) and same.reason == "duplicate"
    # a value out of limits in an edit is still rejected with the reason
    bad = env.validate("diagnosis", "sodium: 400 mmol/L", references=[ref])
    assert isinstance(bad, Rejection) and bad.reason == "implausible"


def test_an_edit_of_a_calculation_reference_recomputes_the_answer(env):
    ref = next(t for t in env.seed_tasks("calculation") if "age" in t.payload["inputs"])
    prompt = env.propose_prompt("calculation", [ref], random.Random(0))
    assert f"calculator: {ref.payload['calculator']}" in prompt and "changed lines only" in prompt
    copy = env.validate("calculation", f"age: {ref.payload['case']['age']}\nStatus: 1", references=[ref])
    assert isinstance(copy, Rejection) and copy.reason == "duplicate"
    older = int(ref.payload["case"]["age"]) + 30 if ref.payload["case"]["age"] < 70 else 20
    task = env.validate("calculation", f"age: {older}", references=[ref])
    assert isinstance(task, Task), task
    assert task.payload["calculator"] == ref.payload["calculator"]
    assert task.payload["inputs"]["age"] == older
    assert task.key != ref.key


def test_malformed_proposals_are_rejections(env):
    for text in ["", "lorem ipsum", "age: 40\nsex: M\nsodium: 400 mmol/L", "{\"age\": 40"]:
        r = env.validate("diagnosis", text)
        assert isinstance(r, Rejection) and r.reason, text


def test_calculation_proposal(env):
    text = "calculator: anion_gap\nage: 50\nsex: F\nsodium: 140 mmol/L\nchloride: 104 mmol/L\nbicarbonate: 24 mmol/L"
    task = env.validate("calculation", text)
    assert isinstance(task, Task), task
    assert task.answer == 12
    assert env.verify(task, "12").correct and not env.verify(task, "24").correct
    r = env.validate("calculation", "age: 50\nsex: F\nsodium: 140 mmol/L")
    assert isinstance(r, Rejection) and "calculator" in r.detail


def test_propose_prompts_show_references(env):
    rng = random.Random(0)
    refs = env.seed_tasks("diagnosis")[:2]
    for tt in TASK_TYPES:
        prompt = env.propose_prompt(tt, refs, rng)
        assert refs[0].payload["lines"].splitlines()[0] in prompt


def test_heldout_tasks_are_fixed_and_disjoint_from_training(env):
    a = env.heldout_tasks(10)
    b = env.heldout_tasks(10)
    assert [t.key for t in a] == [t.key for t in b]
    assert {t.task_type for t in a} == {"diagnosis", "calculation"}
    train = env.sample_tasks("diagnosis", 10, random.Random(1))
    assert not {t.key for t in a} & {t.key for t in train}
    assert HELDOUT_SEED_BASE > 1_000_000_000
