"""Task buffers, per-step metrics, the held-out comparison and the learning-curve plot of
self-play (azmed.selfplay.buffer, .metrics, .heldout, azmed plot) — no model needed."""

from __future__ import annotations

import json
import random

import pytest

from azmed.envs.base import Task
from azmed.selfplay.buffer import TaskBuffer
from azmed.selfplay.heldout import comparison, comparison_table
from azmed.runs import RunLog
from azmed.selfplay.metrics import Outcome, console_line, overall, summarise_groups
from tests.conftest import run_cli


def _task(i: int) -> Task:
    return Task("clinical", "diagnosis", {"summary": f"case {i}"}, f"DX{i}", f"k{i}", {"pack": "p"})


def test_buffer_deduplicates_caps_and_serves_new_tasks_first():
    buf = TaskBuffer(cap=3)
    assert buf.add(_task(1)) and not buf.add(_task(1))
    buf.extend([_task(2), _task(3), _task(4)])
    assert len(buf) == 3 and "k1" not in buf  # the oldest left
    rng = random.Random(0)
    assert [t.key for t in buf.sample(2, rng)] == ["k4", "k3"]  # newest unserved first
    assert [t.key for t in buf.sample(1, rng)] == ["k2"]
    later = buf.sample(3, rng)  # then uniform over everything
    assert sorted(t.key for t in later) == ["k2", "k3", "k4"]
    assert len(buf.sample(5, rng)) == 5  # smaller buffer: drawn with replacement
    assert buf.novelty(["k2", "zz"]) == 0.5


def test_buffer_save_and_load_round_trip(tmp_path):
    buf = TaskBuffer(cap=10)
    buf.extend(_task(i) for i in range(5))
    buf.sample(2, random.Random(1))
    buf.save(tmp_path / "b.jsonl")
    again = TaskBuffer.load(tmp_path / "b.jsonl", cap=10)
    assert again == buf
    assert [t.to_json() for t in again.tasks()] == [t.to_json() for t in buf.tasks()]
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 5


def test_group_metrics_by_hand():
    outcomes = [
        Outcome(("clinical", "diagnosis", "solve"), 1.0, 4, correct=True, formatted=True),
        Outcome(("clinical", "diagnosis", "solve"), 0.0, 6, correct=False, formatted=True, reason="wrong-input"),
        Outcome(("clinical", "diagnosis", "solve"), -0.5, 16, correct=False, formatted=False, reason="no-call"),
        Outcome(("clinical", "diagnosis", "propose"), 0.75, 100, valid=True, solve_rate=0.25),
        Outcome(("clinical", "diagnosis", "propose"), 0.0, 90, valid=True, solve_rate=1.0),
        Outcome(("clinical", "diagnosis", "propose"), -0.5, 80, valid=False, reason="duplicate"),
        Outcome(("clinical", "diagnosis", "propose"), -0.5, 160, valid=False, reason="parse"),
    ]
    g = summarise_groups(outcomes)
    solve, prop = g["clinical/diagnosis/solve"], g["clinical/diagnosis/propose"]
    assert solve["accuracy"] == pytest.approx(1 / 3, abs=1e-4) and solve["formatted"] == pytest.approx(2 / 3, abs=1e-4)
    assert solve["reward"] == pytest.approx(0.5 / 3, abs=1e-4) and solve["response_len"] == pytest.approx(26 / 3, abs=1e-4)
    assert solve["format_failures"] == {"no-call": 1} and solve["wrong_inputs"] == 1
    assert prop["valid"] == 0.5 and prop["duplicate"] == 0.25
    assert prop["rejections"] == {"duplicate": 1, "parse": 1}
    assert prop["learnability_hist"] == {"0.25": 1, "1": 1} and prop["learnable"] == 0.5
    o = overall(g)
    assert o["solve_acc"] == pytest.approx(1 / 3, abs=1e-4) and o["valid"] == 0.5 and o["dup"] == 0.25


def _record(step: int, acc: float) -> dict:
    groups = {"clinical/diagnosis/solve": {"n": 4, "reward": acc, "accuracy": acc, "formatted": 1.0, "response_len": 5},
              "clinical/diagnosis/propose": {"n": 2, "reward": -0.5, "valid": 0.5, "duplicate": 0.0, "response_len": 50}}
    return {"step": step, "overall": overall(groups), "groups": groups, "update": {"loss": 0.1},
            "time": {"total": 12.5}, "tokens": {"per_s": 140.0}}


def test_console_line_is_greppable():
    line = console_line(_record(10, 0.41), 200)
    assert line.startswith("step 00010/00200 (5.00%) | solve acc: 0.41 | valid: 0.50 | dup: 0.00 | loss: 0.1000")
    assert line.endswith("dt: 12.5s | tok/s: 140")


def test_runlog_truncate_drops_steps_after_a_checkpoint(tmp_path):
    log = RunLog(tmp_path)
    for s in (1, 2, 3):
        log.write_step(_record(s, 0.5))
        log.write_samples([{"step": s, "role": "solve"}])
    log.truncate(2)
    assert [json.loads(x)["step"] for x in log.metrics.read_text().splitlines()] == [1, 2]
    assert [json.loads(x)["step"] for x in log.samples.read_text().splitlines()] == [1, 2]


def test_heldout_comparison_by_hand():
    base = {"n": 4, "metrics": {"accuracy": 0.25},
            "groups": {"task_type": {"diagnosis": {"n": 2, "accuracy": 0.5}, "calculation": {"n": 2, "accuracy": 0.0}},
                       "pack": {"cardiology": {"n": 4, "accuracy": 0.25}}}}
    adapter = {"n": 4, "metrics": {"accuracy": 0.75},
               "groups": {"task_type": {"diagnosis": {"n": 2, "accuracy": 1.0}, "calculation": {"n": 2, "accuracy": 0.5}},
                          "pack": {"cardiology": {"n": 4, "accuracy": 0.75}}}}
    c = comparison(base, adapter)
    assert c["delta"] == 0.5 and c["per_task_type"]["calculation"] == {"n": 2, "base": 0.0, "adapter": 0.5, "delta": 0.5}
    table = comparison_table(c)
    assert "25.0" in table and "75.0" in table and "+50.0" in table


def test_plot_writes_a_png_and_fails_cleanly_without_metrics(tmp_path):
    log = RunLog(tmp_path)
    for s in range(1, 6):
        log.write_step(_record(s, s / 10))
    r = run_cli("plot", tmp_path, "--out", tmp_path / "curve.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("plot", empty)
    assert r.returncode == 2 and "metrics.jsonl" in r.stderr and "Traceback" not in r.stderr
