"""Readers that turn external clinical data sets into the real-case schema (azmed.real_cases).

    azmed data convert --from agentclinic agentclinic_medqa.jsonl cases.jsonl
    azmed data convert --from medcalc medcalc_bench_dev.csv calc_cases.jsonl --strict

    from azmed.finetune.convert import convert
    result = convert("agentclinic", "agentclinic_medqa.jsonl")   # a CaseFile

- **AgentClinic OSCE JSONL** (Schmidgall et al. 2024; the MedQA and MIMIC-IV files share the
  layout): one `{"OSCE_Examination": {...}}` per line. The patient, examination and test
  sections become structured `findings`, `Correct_Diagnosis` the answer, and the doctor's
  objective goes to `meta` (it describes the task, not the patient). Each case asks for the
  most likely diagnosis.
- **MedCalc-Bench CSV** (Khandekar et al. 2024): the patient note becomes `case`, the question
  stays, `Ground Truth Answer` is the answer with `Lower Limit`/`Upper Limit` as its accepted
  range, the explanation becomes the rationale, and the calculator, note and relevant entities
  go to `meta`. Output types decimal/integer/date map to answer types number/integer/date.

Bad rows are handled as for real-case files: `strict` stops at the first with its line and
field; otherwise they are skipped and counted. A CSV whose quoting is broken (a row whose
cells do not fit the columns) is unreadable: the conversion stops there, naming the line and
the fix, since every later row may be shifted too. The input file is only read.
Limits: the NEJM image cases of AgentClinic (no OSCE section) are not supported.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from azmed.real_cases import CaseFile, RealCase, RealCaseError, RowProblem, check_rows, problems_from_validation
from simulator.readers import InputError, loads_json

Parsed = RealCase | list[RowProblem]

# ---- AgentClinic OSCE ----------------------------------------------------------------------------

AGENTCLINIC_SECTIONS = {
    "Patient_Actor": "Patient",
    "Physical_Examination_Findings": "Physical examination",
    "Test_Results": "Test results",
}
DIAGNOSIS_QUESTION = "What is the most likely diagnosis?"


def agentclinic_row(line: int, obj: Any) -> Parsed:
    """One AgentClinic OSCE object -> a diagnosis case."""
    if not isinstance(obj, dict):
        return [RowProblem(line, "", f"must be a JSON object, got {type(obj).__name__}")]
    osce = obj.get("OSCE_Examination")
    if not isinstance(osce, dict):
        return [RowProblem(line, "OSCE_Examination", "missing or not an object: is this an AgentClinic OSCE file? "
                           "(each line should be {\"OSCE_Examination\": {...}})")]
    diagnosis = osce.get("Correct_Diagnosis")
    if not isinstance(diagnosis, str) or not diagnosis.strip():
        return [RowProblem(line, "OSCE_Examination.Correct_Diagnosis", "missing or empty: the answer is required")]
    findings = {AGENTCLINIC_SECTIONS.get(k, k): v for k, v in osce.items()
                if k not in ("Correct_Diagnosis", "Objective_for_Doctor") and v not in (None, "", {}, [])}
    meta = {"objective": osce["Objective_for_Doctor"]} if osce.get("Objective_for_Doctor") else {}
    return _validated(line, dict(id=f"agentclinic-{line}", findings=findings, question=DIAGNOSIS_QUESTION,
                                 answer=diagnosis, task_type="diagnosis", source="agentclinic", meta=meta),
                      rename={"findings": "OSCE_Examination", "answer": "OSCE_Examination.Correct_Diagnosis"})


def read_agentclinic(path: Path) -> Iterator[tuple[int, Parsed]]:
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                obj = loads_json(text)
            except InputError as exc:
                yield line, [RowProblem(line, "", str(exc))]
                continue
            except json.JSONDecodeError as exc:
                yield line, [RowProblem(line, "", f"not valid JSON ({exc.msg} at column {exc.colno})")]
                continue
            yield line, agentclinic_row(line, obj)


# ---- MedCalc-Bench -------------------------------------------------------------------------------

MEDCALC_REQUIRED = ("Patient Note", "Question", "Ground Truth Answer", "Output Type")
MEDCALC_ANSWER_TYPES = {"decimal": "number", "integer": "integer", "date": "date"}
MEDCALC_META = {"Row Number": "row_number", "Calculator ID": "calculator_id", "Calculator Name": "calculator_name",
                "Category": "category", "Note ID": "note_id", "Note Type": "note_type"}


def medcalc_row(line: int, row: dict[str, str]) -> Parsed:
    """One MedCalc-Bench CSV row -> a calculation case."""
    if not (row.get("Patient Note") or "").strip():
        return [RowProblem(line, "Patient Note", "is empty: the case text is required")]
    answer_type = MEDCALC_ANSWER_TYPES.get((row.get("Output Type") or "").strip().lower(), "text")
    answer = row.get("Ground Truth Answer")
    parts = _python_literal(answer.strip()) if (answer or "").strip().startswith("(") else None
    if isinstance(parts, list) and parts and all(isinstance(x, str) for x in parts):
        # Gestational age is answered as a tuple, e.g. ('14 weeks', '1 days'), under output type
        # 'integer': keep it as the text "14 weeks, 1 days", graded as text.
        answer, answer_type = ", ".join(x.strip() for x in parts), "text"
    answer_range = None
    if answer_type in ("number", "integer"):
        try:
            answer_range = (float(row["Lower Limit"]), float(row["Upper Limit"]))
        except (KeyError, TypeError, ValueError):
            answer_range = None  # the range is optional; graders fall back to the +-5 % rule
    meta: dict[str, Any] = {key: row[col].strip() for col, key in MEDCALC_META.items() if (row.get(col) or "").strip()}
    entities = (row.get("Relevant Entities") or "").strip()
    if entities:
        meta["relevant_entities"] = _python_literal(entities)
    row_id = meta.get("row_number")
    fields = dict(id=f"medcalc-{row_id}" if row_id else f"medcalc-line-{line}", case=row.get("Patient Note"),
                  question=row.get("Question"), answer=answer, task_type="calculation",
                  answer_type=answer_type, answer_range=answer_range,
                  rationale=(row.get("Ground Truth Explanation") or "").strip() or None, source="medcalc-bench",
                  meta=meta)
    # Row-level errors left once the note is present concern the answer (type, range).
    return _validated(line, fields, rename={"question": "Question", "answer": "Ground Truth Answer",
                                            "answer_range": "Lower Limit/Upper Limit", "": "Ground Truth Answer"})


def _python_literal(text: str) -> Any:
    """MedCalc-Bench writes entities as a Python dict with (value, unit) tuples; keep it as
    JSON (tuples become lists), or as the raw text when it is not a literal."""
    try:
        return json.loads(json.dumps(ast.literal_eval(text)))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


QUOTING_FIX = ("the CSV's quoting is broken near here: put every field that holds a comma, a quote or a line "
               "break in double quotes and double the quotes inside it (\"\"), then convert again")


def _shifted(row: dict[str, str | None]) -> str:
    """Why a row's cells cannot be in their columns ('' when they can): the columns that
    always hold a number or a known word tell a row shifted by a broken quote."""
    number = (row.get("Row Number") or "").strip()
    if number and not number.isdigit():
        return f"'Row Number' is {number[:40]!r}, not a whole number"
    kind = (row.get("Output Type") or "").strip().lower()
    if kind and kind not in MEDCALC_ANSWER_TYPES:
        return f"'Output Type' is {kind[:40]!r}, not one of {', '.join(MEDCALC_ANSWER_TYPES)}"
    return ""


def read_medcalc(path: Path) -> Iterator[tuple[int, Parsed]]:
    """Rows of a MedCalc-Bench CSV. A row whose cells do not fit the columns (a missing or
    stray quote shifts or merges rows, so no later row can be trusted either) stops the
    conversion with a RealCaseError naming the line, whatever `strict` says."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, strict=True)
        header = reader.fieldnames or []
        missing = [c for c in MEDCALC_REQUIRED if c not in header]
        if missing:
            raise RealCaseError(f"{path}: not a MedCalc-Bench CSV: missing column(s) {', '.join(missing)} "
                                f"(found: {', '.join(header) or 'no header'})")
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise RealCaseError(f"{path}: line {start}: unreadable CSV ({exc}); {QUOTING_FIX}") from None
            extra, absent = len(row.get(None) or []), sum(v is None for k, v in row.items() if k is not None)
            problem = (f"{len(header) + extra - absent} cells for {len(header)} columns" if extra or absent
                       else _shifted(row))
            if problem:
                raise RealCaseError(f"{path}: line {start}: {problem}; {QUOTING_FIX}")
            if any((v or "").strip() for v in row.values()):
                yield start, medcalc_row(start, row)
            start = reader.line_num + 1


# ---- shared ----------------------------------------------------------------------------------------

def _validated(line: int, fields: dict[str, Any], rename: dict[str, str]) -> Parsed:
    """Validate converted fields; problems name the input's own field (column or key)."""
    try:
        return RealCase.model_validate(fields)
    except ValidationError as exc:
        return [RowProblem(p.line, _renamed(p.field, rename), p.message)
                for p in problems_from_validation(line, exc)]


def _renamed(field: str, rename: dict[str, str]) -> str:
    head, _, rest = field.partition(".")
    if head in rename:
        return rename[head] + (f".{rest}" if rest else "")
    return rename.get(field, field)


SOURCES: dict[str, Callable[[Path], Iterator[tuple[int, Parsed]]]] = {
    "agentclinic": read_agentclinic,
    "medcalc": read_medcalc,
}


def convert(source: str, in_path: str, strict: bool = False) -> CaseFile:
    """Read an external file of kind `source` ('agentclinic' or 'medcalc') into real cases."""
    if source not in SOURCES:
        raise RealCaseError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    p = Path(in_path)
    if not p.is_file():
        raise RealCaseError(f"{p}: no such file")
    try:
        out = check_rows(str(p), SOURCES[source](p), strict)
    except UnicodeDecodeError as exc:
        raise RealCaseError(f"{p}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    if not out.rows and not out.problems:
        raise RealCaseError(f"{p}: no rows to convert")
    return out
