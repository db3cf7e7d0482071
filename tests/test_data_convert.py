"""`azmed data convert`: the AgentClinic and MedCalc-Bench readers on the real files (the project's
shipped copies, else ../shared/data), checked row by row against the source, and their bad-row
handling on damaged copies. No model."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from azmed.finetune.convert import convert
from azmed.real_cases import file_sha256, prompt_text, read_cases
from tests.conftest import ROOT, run_cli


def data_file(name: str) -> Path:
    """A real data file: the shipped copy (azmed/eval/data), else the shared data folder."""
    shared = Path(os.environ.get("AZMED_SHARED_DATA", ROOT.parent / "shared" / "data"))
    for folder in (ROOT / "azmed" / "eval" / "data", shared):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is neither shipped in azmed/eval/data nor in {shared}")


@pytest.fixture(scope="module")
def agentclinic() -> Path:
    return data_file("agentclinic_medqa.jsonl")


@pytest.fixture(scope="module")
def medcalc() -> Path:
    return data_file("medcalc_bench_dev.csv")


def test_agentclinic_every_case_converts_with_its_diagnosis(agentclinic):
    source = [json.loads(line) for line in agentclinic.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = convert("agentclinic", str(agentclinic), strict=True)
    assert len(result.rows) == len(source) and not result.problems
    for (line, case), raw in zip(result.rows, source):
        osce = raw["OSCE_Examination"]
        assert case.answer == osce["Correct_Diagnosis"].strip()
        assert case.task_type == "diagnosis" and case.source == "agentclinic" and case.id == f"agentclinic-{line}"
        assert case.findings["Patient"] == osce["Patient_Actor"]
        assert "Correct_Diagnosis" not in json.dumps(case.findings)
        prompt = prompt_text(case)
        assert osce["Patient_Actor"]["Demographics"] in prompt and "Correct Diagnosis" not in prompt
        assert prompt.endswith("What is the most likely diagnosis? Answer with the diagnosis name only.")


def test_medcalc_every_row_converts_with_its_answer_and_range(medcalc):
    with open(medcalc, encoding="utf-8", newline="") as fh:
        source = list(csv.DictReader(fh))
    result = convert("medcalc", str(medcalc), strict=True)
    assert len(result.rows) == len(source) and not result.problems
    kinds = {"decimal": "number", "integer": "integer", "date": "date"}
    for (_, case), row in zip(result.rows, source):
        assert case.id == f"medcalc-{row['Row Number']}" and case.case == row["Patient Note"].strip()
        assert case.question == row["Question"].strip() and case.task_type == "calculation"
        assert case.meta["calculator_name"] == row["Calculator Name"]
        assert case.rationale == row["Ground Truth Explanation"].strip()
        if case.answer_type == "text":  # gestational age: a (weeks, days) tuple kept as text
            assert row["Ground Truth Answer"].startswith("(") and "weeks" in case.answer and "days" in case.answer
            continue
        assert case.answer_type == kinds[row["Output Type"]] and case.answer == row["Ground Truth Answer"].strip()
        if case.answer_type != "date":
            assert case.answer_range == (float(row["Lower Limit"]), float(row["Upper Limit"]))
            assert isinstance(case.meta["relevant_entities"], dict)  # parsed from the Python literal


def test_cli_converts_both_files_and_output_reads_back(tmp_path, agentclinic, medcalc):
    for source, path, n in (("agentclinic", agentclinic, 107), ("medcalc", medcalc, 261)):
        out = tmp_path / f"{source}.jsonl"
        before = file_sha256(path)
        r = run_cli("data", "convert", "--from", source, path, out, "--strict")
        assert r.returncode == 0, r.stderr
        assert f"converted {n} cases" in r.stdout and "0 rows skipped" in r.stdout
        assert len(read_cases(out, strict=True).rows) == n
        assert file_sha256(path) == before


def test_agentclinic_bad_rows_skipped_or_strict(tmp_path, agentclinic):
    lines = agentclinic.read_text(encoding="utf-8").splitlines()[:4]
    no_dx = json.loads(lines[1])
    del no_dx["OSCE_Examination"]["Correct_Diagnosis"]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join([lines[0], json.dumps(no_dx), "{oops", json.dumps({"case": "x"}), lines[3]]) + "\n")
    before = file_sha256(damaged)
    out = tmp_path / "out.jsonl"
    r = run_cli("data", "convert", "--from", "agentclinic", damaged, out)
    assert r.returncode == 0 and "converted 2 cases" in r.stdout and "3 rows skipped" in r.stdout
    assert "line 2, field `OSCE_Examination.Correct_Diagnosis`" in r.stderr
    assert "line 3: not valid JSON" in r.stderr and "line 4, field `OSCE_Examination`" in r.stderr
    r = run_cli("data", "convert", "--from", "agentclinic", damaged, tmp_path / "strict.jsonl", "--strict")
    assert r.returncode == 2 and "line 2, field `OSCE_Examination.Correct_Diagnosis`" in r.stderr
    assert not (tmp_path / "strict.jsonl").exists()
    assert file_sha256(damaged) == before


def test_medcalc_bad_rows_name_their_line_and_column(tmp_path, medcalc):
    with open(medcalc, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, [next(reader) for _ in range(3)]
    rows[1] = dict(rows[1], **{"Output Type": "decimal", "Ground Truth Answer": "about ten"})
    rows[2] = dict(rows[2], **{"Patient Note": "  "})
    damaged = tmp_path / "damaged.csv"
    with open(damaged, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows)
    result = convert("medcalc", str(damaged))
    assert len(result.rows) == 1
    fields = [(p.field, p.message) for p in result.problems]
    assert fields[0][0] == "Ground Truth Answer" and "not a number" in fields[0][1]
    assert fields[1] == ("Patient Note", "is empty: the case text is required")
    # Lines count the notes' embedded newlines: each problem points at the row's first line.
    text = damaged.read_text(encoding="utf-8").splitlines()
    assert all(text[p.line - 1].startswith(rows[i + 1]["Row Number"] + ",") for i, p in enumerate(result.problems))


def test_wrong_file_kind_and_same_output_are_refused(tmp_path, agentclinic, medcalc):
    r = run_cli("data", "convert", "--from", "medcalc", agentclinic, tmp_path / "x.jsonl")
    assert r.returncode == 2 and "not a MedCalc-Bench CSV: missing column(s)" in r.stderr
    r = run_cli("data", "convert", "--from", "agentclinic", medcalc, tmp_path / "y.jsonl")
    assert r.returncode == 2 and "no row could be converted" in r.stderr and "line 1" in r.stderr
    copy = tmp_path / "in.jsonl"
    copy.write_text(agentclinic.read_text(encoding="utf-8"), encoding="utf-8")
    r = run_cli("data", "convert", "--from", "agentclinic", copy, copy)
    assert r.returncode == 2 and "is the input file" in r.stderr
    r = run_cli("data", "convert", "--from", "agentclinic", tmp_path / "missing.jsonl", tmp_path / "z.jsonl")
    assert r.returncode == 2 and "no such file" in r.stderr
