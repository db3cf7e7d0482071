"""The real-case JSONL schema: good rows load, every kind of bad row is named by line and field,
--strict stops at the first, the default skips and counts, the input is never changed; prompts
never hold the answer; the held-out split is stable; the config names unknown keys. No model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azmed.finetune.config import ConfigError, load_config
from azmed.real_cases import (RealCase, RealCaseError, completion_text, file_sha256, prompt_text,
                                   read_cases, write_cases)
from azmed.finetune.trainer import split_cases
from tests.conftest import ROOT, run_cli

GOOD = [
    {"id": "dx-1", "case": "A 64-year-old man with crushing chest pain for 40 minutes; ST elevation in II, III, aVF.",
     "question": "What is the most likely diagnosis?", "answer": "Inferior STEMI", "task_type": "diagnosis",
     "rationale": "ST elevation in the inferior leads with ischaemic pain."},
    {"id": "calc-1", "findings": {"sex": "female", "age": 70, "vitals": {"sbp": 150, "dbp": 90}},
     "question": "What is the mean arterial pressure in mm Hg?", "answer": 110, "task_type": "calculation",
     "answer_type": "number", "answer_range": [104.5, 115.5], "source": "made-up", "meta": {"note": "x"}},
    {"case": "Last menstrual period 01/01/2020, cycle 28 days.", "question": "Estimated due date?",
     "answer": "10/07/2020", "answer_type": "date"},
]

# (row, line field expected in the message, words expected in the message)
BAD = [
    ("{not json", "", "not valid JSON"),
    ("[1, 2]", "", "must be a JSON object"),
    (json.dumps({"case": "x", "answer": "y"}), "question", "is required"),
    (json.dumps({"question": "q?", "answer": "y"}), "", "`case` (text) or `findings`"),
    (json.dumps({"case": "x", "question": "q?", "answer": "  "}), "answer", "at least 1 character"),
    (json.dumps({"case": "x", "question": "q?", "answer": "y", "anwser": "z"}), "anwser", "unknown field"),
    (json.dumps({"case": "x", "question": "q?", "answer": "twelve", "answer_type": "number"}), "", "not a number"),
    (json.dumps({"case": "x", "question": "q?", "answer": "7.5", "answer_type": "integer"}), "", "not a whole number"),
    (json.dumps({"case": "x", "question": "q?", "answer": "50", "answer_type": "number", "answer_range": [1, 2]}),
     "", "outside answer_range"),
    (json.dumps({"case": "x", "question": "q?", "answer": "yesterday", "answer_type": "date"}), "", "not a date"),
    (json.dumps({"case": "x", "question": "q?", "answer": "y", "task_type": "triage"}), "task_type", "diagnosis"),
    (json.dumps({"findings": {}, "question": "q?", "answer": "y"}), "findings", "is empty"),
    (json.dumps({"findings": {"a": [{"b": 1}]}, "question": "q?", "answer": "y"}), "findings", "plain values"),
    (json.dumps({"case": "x", "question": "q?", "answer": True}), "answer", "not true/false"),
]


def _write(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "cases.jsonl"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_good_rows_load_with_defaults(tmp_path):
    p = _write(tmp_path, [json.dumps(r) for r in GOOD] + [""])  # a blank line is ignored
    cf = read_cases(p, strict=True)
    assert [c.id for c in cf.cases] == ["dx-1", "calc-1", "line-3"]
    assert cf.problems == []
    calc = cf.cases[1]
    assert calc.answer == "110" and calc.answer_range == (104.5, 115.5)
    assert cf.cases[2].task_type == "question" and cf.cases[2].answer_type == "date"


@pytest.mark.parametrize("row,field,words", BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_row_is_named_by_line_and_field(tmp_path, row, field, words):
    p = _write(tmp_path, [json.dumps(GOOD[0]), row])
    before = file_sha256(p)
    cf = read_cases(p)  # default: skipped and counted
    assert len(cf.rows) == 1 and len(cf.problems) == 1
    problem = cf.problems[0]
    assert problem.line == 2 and problem.field == field and words in problem.message
    assert cf.report()["rows_skipped"] == 1 and cf.report()["first_problems"][0]["line"] == 2
    with pytest.raises(RealCaseError) as err:
        read_cases(p, strict=True)
    assert "line 2" in str(err.value) and (not field or f"field `{field}`" in str(err.value))
    assert file_sha256(p) == before  # nothing in the input file is changed


def test_duplicates_are_bad_rows(tmp_path):
    dup_id = dict(GOOD[1], case="another case")
    same_case = dict(GOOD[0], id="dx-2")
    cf = read_cases(_write(tmp_path, [json.dumps(GOOD[0]), json.dumps(GOOD[1]), json.dumps(dup_id),
                                      json.dumps(same_case)]))
    assert [(p.line, p.field) for p in cf.problems] == [(3, "id"), (4, "")]
    assert "line 2" in cf.problems[0].message and "line 1" in cf.problems[1].message


def test_strict_stops_at_the_first_bad_row_and_default_lists_the_first_few(tmp_path):
    rows = [json.dumps(GOOD[0])] + [json.dumps({"case": f"c{i}", "question": "q?"}) for i in range(15)]
    p = _write(tmp_path, rows)
    with pytest.raises(RealCaseError, match=r"line 2, field `answer`"):
        read_cases(p, strict=True)
    report = read_cases(p).report()
    assert report["rows_read"] == 16 and report["rows_used"] == 1 and report["rows_skipped"] == 15
    assert [x["line"] for x in report["first_problems"]] == list(range(2, 12))  # the first ten


def test_unreadable_files(tmp_path):
    with pytest.raises(RealCaseError, match="no such file"):
        read_cases(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(RealCaseError, match="no rows"):
        read_cases(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"case": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(RealCaseError, match="not UTF-8"):
        read_cases(latin)


def test_prompt_holds_the_case_and_question_but_never_the_answer():
    dx = RealCase.model_validate(GOOD[0])
    p = prompt_text(dx)
    assert "crushing chest pain" in p and "most likely diagnosis" in p and "diagnosis name only" in p
    assert "STEMI" not in p and "inferior leads" not in p  # neither answer nor rationale
    assert completion_text(dx) == "Inferior STEMI"
    assert completion_text(dx, with_rationale=True).endswith("\nAnswer: Inferior STEMI")
    calc = RealCase.model_validate(GOOD[1])
    p = prompt_text(calc)
    assert "vitals:" in p and "  sbp: 150" in p and "number only" in p and "110" not in p
    assert "note" not in p  # meta is never shown


def test_write_then_read_round_trip(tmp_path):
    cases = [RealCase.model_validate(r) for r in GOOD[:2]]
    out = tmp_path / "sub" / "out.jsonl"
    assert write_cases(cases, out) == 2
    assert read_cases(out, strict=True).cases == cases


def _cases(n: int) -> list[RealCase]:
    return [RealCase(id=f"c{i}", case=f"case number {i}", question="q?", answer=f"a{i}") for i in range(n)]


def test_split_is_by_content_and_seed():
    cases = _cases(50)
    train, held = split_cases(cases, 0.2, seed=0)
    assert len(held) == 10 and len(train) == 40
    assert {c.id for c in train}.isdisjoint({c.id for c in held})
    # Same content, other order -> same held-out cases; another seed -> another split.
    _, held_rev = split_cases(list(reversed(cases)), 0.2, seed=0)
    assert {c.id for c in held_rev} == {c.id for c in held}
    _, held_other = split_cases(cases, 0.2, seed=1)
    assert {c.id for c in held_other} != {c.id for c in held}
    assert split_cases(cases, 0.0, seed=0) == (cases, [])
    assert len(split_cases(_cases(3), 0.1, seed=0)[1]) == 1  # at least one held out


def test_config_defaults_overrides_and_errors(tmp_path):
    cfg = load_config(ROOT / "configs" / "finetune.yaml", ["trainer.lr=1e-4", "data.eval_fraction=0.3"])
    assert cfg.trainer.lr == 1e-4 and cfg.data.eval_fraction == 0.3 and cfg.model.name == "embedded"
    with pytest.raises(ConfigError, match="unknown setting 'trainer.lrr': trainer has lr"):
        load_config(None, ["trainer.lrr=1"])
    with pytest.raises(ConfigError, match="trainer is a block"):
        load_config(None, ["trainer=3"])
    with pytest.raises(ConfigError, match="must be below trainer.max_length"):
        load_config(None, ["data.max_prompt_tokens=2048"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=f"{bad}: trainer.epoch: unknown setting"):
        load_config(bad)


def test_cli_strict_names_line_and_field_without_loading_a_model(tmp_path):
    p = _write(tmp_path, [json.dumps(GOOD[0]), json.dumps({"case": "x", "question": "q?", "answer": "y", "tags": 1})])
    r = run_cli("finetune", "--data", p, "--strict", f"run.out_dir={tmp_path / 'run'}")
    assert r.returncode == 2
    assert "line 2, field `tags`: unknown field" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()
    r = run_cli("finetune", "--data", p, "trainer.nope=1")
    assert r.returncode == 2 and "unknown setting 'trainer.nope'" in r.stderr
    r = run_cli("finetune", "--data", p, "--from-adapter", tmp_path)
    assert r.returncode == 2 and "not a LoRA adapter folder" in r.stderr
    r = run_cli("finetune", "--resume", tmp_path)
    assert r.returncode == 2 and "not a fine-tuning run folder" in r.stderr
    r = run_cli("finetune")
    assert r.returncode == 2 and "--data FILE.jsonl" in r.stderr
