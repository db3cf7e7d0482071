"""The CLI and its readers never crash on bad input: each malformed file gives one line on
stderr that names the file and the fix, the documented exit code, and the input file as it was.

    .venv/bin/python -m pytest tests/test_cli_bad_input.py -q

Covered: JSON nested past the recursion limit, keys written twice (case JSON, pack YAML),
output paths that cannot be written, a missing --packs-dir, broken CSV quoting in MedCalc
conversion, and program output holding terminal escape codes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

DEEP = "[" * 100_000 + "]" * 100_000
MEDCALC = ROOT / "azmed" / "eval" / "data" / "medcalc_bench_dev.csv"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result, *pieces: str, code: int = 2) -> str:
    """The result failed with `code` and one "azmed: error: ..." line holding every piece."""
    err = result.stderr.strip()
    assert result.returncode == code, (result.returncode, result.stdout, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("azmed: error: "), err
    for piece in pieces:
        assert piece in err, (piece, err)
    return err


@pytest.mark.parametrize("args, what", [
    (["case", "check"], "a case"),
    (["exec", "check"], "a triplet"),
])
def test_deep_json_document(tmp_path, args, what):
    f = tmp_path / "deep.json"
    f.write_text(DEEP)
    before = digest(f)
    one_line_error(run_cli(*args, f), str(f), "nested too deeply", what)
    assert digest(f) == before


def test_deep_json_row_in_conversion_and_finetune(tmp_path):
    f = tmp_path / "deep.jsonl"
    f.write_text(DEEP + "\n")
    before = digest(f)
    out = tmp_path / "cases.jsonl"
    one_line_error(run_cli("data", "convert", "--from", "agentclinic", f, out), str(f), "line 1", "nested too deeply")
    one_line_error(run_cli("finetune", "--data", f), str(f), "line 1", "nested too deeply")
    assert digest(f) == before and not out.exists()


def test_deep_json_in_evaluation_inputs(tmp_path):
    f = tmp_path / "deep.jsonl"
    f.write_text(DEEP + "\n")
    before = digest(f)
    one_line_error(run_cli("eval", "--suite", "agentclinic", "--agentclinic-jsonl", f, "--out", tmp_path / "e.json"),
                   str(f), "line 1", "nested too deeply")
    one_line_error(run_cli("eval", "--compare", f, f), str(f), "nested too deeply")
    assert digest(f) == before


def test_duplicate_key_in_case_json(tmp_path):
    f = tmp_path / "case.json"
    f.write_text('{"age": 60, "sex": "M", "age": 70, "measurements": {"sodium": 140}}')
    before = digest(f)
    one_line_error(run_cli("case", "check", f), str(f), "duplicate key 'age'", "keep one of them")
    assert digest(f) == before


def test_duplicate_key_in_pack_yaml(tmp_path):
    template = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    text = template.replace("__NAME__", "dup").replace("__TITLE__", "Dup")
    text = re.sub(r"^title: .*$", lambda m: m.group(0) + "\ntitle: Dup again", text, count=1, flags=re.M)
    f = tmp_path / "dup.yaml"
    f.write_text(text)
    before = digest(f)
    validate = run_cli("packs", "validate", f)
    assert validate.returncode == 1 and len(validate.stderr.strip().splitlines()) == 1, validate.stderr
    assert f"{f}:" in validate.stderr and "duplicate key 'title'" in validate.stderr and "Fix:" in validate.stderr
    one_line_error(run_cli("simulate", "--packs-dir", f, "--n", "1"), str(f), "duplicate key 'title'", "keep one")
    assert digest(f) == before


def test_simulate_into_a_missing_folder(tmp_path):
    out = tmp_path / "missing" / "cases.jsonl"
    one_line_error(run_cli("simulate", "--n", "2", "--out", out), str(out), "does not exist", "create it first")
    assert not out.parent.exists()


def test_simulate_keeps_the_old_file_when_it_fails(tmp_path):
    out = tmp_path / "cases.jsonl"
    out.write_text("precious\n")
    one_line_error(run_cli("simulate", "--n", "2", "--diagnosis", "no-such-diagnosis", "--out", out))
    assert out.read_text() == "precious\n" and [p.name for p in tmp_path.iterdir()] == ["cases.jsonl"]
    ok = run_cli("simulate", "--n", "2", "--out", out)
    assert ok.returncode == 0 and len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize("args", [
    ["simulate", "--n", "1"],
    ["packs", "list"],
    ["packs", "report", "--n", "1"],
])
def test_missing_packs_dir(tmp_path, args):
    missing = tmp_path / "no-such-packs"
    one_line_error(run_cli(*args, "--packs-dir", missing), str(missing), "no such folder", "rule pack")


def test_missing_packs_dir_for_case_check(tmp_path):
    case = tmp_path / "case.json"
    case.write_text('{"age": 60, "sex": "M", "measurements": {"sodium": 140}}')
    missing = tmp_path / "no-such-packs"
    one_line_error(run_cli("case", "check", case, "--packs-dir", missing), str(missing), "no such folder")


def _medcalc_sample(tmp_path: Path, break_quoting) -> Path:
    """The first rows of the shipped MedCalc-Bench dev CSV with one row's quoting broken."""
    rows = list(csv.reader(io.StringIO(MEDCALC.read_text(encoding="utf-8-sig"))))[:6]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    f = tmp_path / "medcalc.csv"
    f.write_text(break_quoting(buf.getvalue(), rows[3][7]))
    return f


@pytest.mark.parametrize("how, expected", [
    ("unquoted note", "cells for 14 columns"),  # a note with commas and line breaks left unquoted
    ("unclosed quote", "unreadable CSV"),  # its closing quote missing: it would swallow the next rows
    ("shifted columns", "'Output Type' is"),  # one comma too many and one too few: 14 cells, shifted
])
def test_broken_csv_quoting(tmp_path, how, expected):
    def broken(text: str, note: str) -> str:
        quoted = '"' + note.replace('"', '""') + '"'
        if how == "unquoted note":
            return text.replace(quoted, note.replace('"', ""), 1)
        if how == "unclosed quote":
            return text.replace(quoted + ",", quoted[:-1] + ",", 1)
        start = text.index(quoted)
        line_start = text.rindex("\n", 0, start) + 1
        prefix = text[line_start:start].split(",")  # Row Number, ..., Note Type, "" (before the note)
        shifted = ",".join(prefix[:3] + [prefix[3] + ";" + prefix[4]] + prefix[5:-1] + ["extra", ""])
        return text[:line_start] + shifted + text[start:]

    f = _medcalc_sample(tmp_path, broken)
    before = digest(f)
    out = tmp_path / "out.jsonl"
    err = one_line_error(run_cli("data", "convert", "--from", "medcalc", f, out), str(f), expected, "double quotes")
    assert re.search(r"line \d+", err)
    assert digest(f) == before and not out.exists()


def test_program_output_escape_codes_are_shown_not_acted_on(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text('def f():\n    print("\\x1b[2J\\x1b[31mred\\r\\x07")\n    return "\\x1b]0;title\\x07"\n')
    r = run_cli("exec", "run", prog)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\r" not in r.stdout
    assert "\\x1b[2J\\x1b[31mred\\x0d\\x07" in r.stdout and "layers: rlimits, seccomp" in r.stdout


def test_exec_prints_its_layers(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("def f(a):\n    return a\n")
    r = run_cli("exec", "run", prog, "--input", "3")
    assert r.returncode == 0 and r.stdout.startswith("layers: rlimits, seccomp, unprivileged"), r.stdout
    assert "value: 3" in r.stdout
