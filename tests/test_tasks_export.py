"""`azmed tasks export`: every clinical task type as JSONL rows (prompt, answer, demonstration,
metadata), the same rows for the same seed, no answer in any prompt, and a demonstration that
the environment grades correct."""

from __future__ import annotations

import json

import pytest

from azmed.envs.base import Task
from azmed.envs.clinical import TASK_TYPES, ClinicalEnv
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def env(sim):
    return ClinicalEnv(simulator=sim)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_exports_rows_a_trainer_can_use(tmp_path, env, task_type):
    out = tmp_path / f"{task_type}.jsonl"
    r = run_cli("tasks", "export", "--type", task_type, "--n", 5, "--seed", 7, "--out", out)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 and all(row["task_type"] == task_type and row["env"] == "clinical" for row in rows)
    again = run_cli("tasks", "export", "--type", task_type, "--n", 5, "--seed", 7)
    assert [json.loads(line) for line in again.stdout.splitlines()] == rows  # the seed fixes the rows
    for row in rows:
        assert "demo" not in row["meta"] and row["meta"]["source"] == "simulator"
        answer = str(row["answer"])
        if task_type in ("diagnosis", "self_edit"):
            assert answer not in row["prompt"] and env.sim.diagnoses[answer].name not in row["prompt"]
        if task_type == "next_step":
            assert answer not in row["prompt"]
        if row["demonstration"] is None:  # abduction: any value consistent with the diagnosis is right
            continue
        task = Task("clinical", task_type, _payload(env, row), row["answer"], row["key"], row["meta"])
        assert env.verify(task, row["demonstration"]).correct, row


def _payload(env, row):
    """The payload back from a fresh environment task of the same seed (the row keeps the prompt)."""
    import random

    tasks = env.sample_tasks(row["task_type"], 5, random.Random(7))
    return next(t.payload for t in tasks if t.key == row["key"])


def test_settings_and_formats(tmp_path):
    direct = run_cli("tasks", "export", "--type", "calculation", "--n", 3, "--seed", 1, "--setting", "direct")
    tools = run_cli("tasks", "export", "--type", "calculation", "--n", 3, "--seed", 1)
    d = [json.loads(x) for x in direct.stdout.splitlines()]
    t = [json.loads(x) for x in tools.stdout.splitlines()]
    assert [r["setting"] for r in d] == ["direct"] * 3 and [r["setting"] for r in t] == ["tools"] * 3
    assert all("Calculators:" in r["prompt"] and "(" in r["demonstration"] for r in t)
    assert all("Calculators:" not in r["prompt"] and "(" not in r["demonstration"].split()[0] for r in d)
    lines = run_cli("tasks", "export", "--type", "diagnosis", "--n", 2, "--format", "lines")
    assert all(json.loads(x)["prompt"].startswith("Patient: ") for x in lines.stdout.splitlines())


def test_bad_requests_are_one_line_errors(tmp_path):
    r = run_cli("tasks", "export", "--type", "triage", "--n", 2)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "offers diagnosis" in r.stderr
    r = run_cli("tasks", "export", "--type", "diagnosis", "--n", 2, "--out", tmp_path / "missing" / "x.jsonl")
    assert r.returncode == 2 and "missing" in r.stderr
