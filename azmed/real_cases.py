"""The real-case JSONL schema: one clinical case with a question and its answer per line,
validated row by row, and the prompt / completion a case becomes. Fine-tuning trains on it,
`azmed data convert` writes it, and the `real-cases` evaluation suite scores a model on it.

    from azmed.real_cases import read_cases, prompt_text, completion_text
    cases = read_cases("cases.jsonl")            # skips bad rows, counts them
    cases = read_cases("cases.jsonl", strict=True)  # RealCaseError at the first bad row
    for line, case in cases.rows: print(line, prompt_text(case), "->", completion_text(case))

A row (documented with examples in docs/real-cases.md):

    {"id": "ac-1", "case": "A 35-year-old woman with double vision ...",
     "question": "What is the most likely diagnosis?", "answer": "Myasthenia gravis",
     "task_type": "diagnosis"}

`case` (free text) or `findings` (structured, nested name -> value) or both must be given;
`question` and `answer` always. Optional: `answer_type` (text, number, integer, date),
`answer_range` (accepted [low, high] for numbers), `rationale`, `source`, `meta`.

Every problem names its line and field. Reading never changes the input file. Identical
cases (same presentation and question) are reported as duplicates, because a duplicate could
land on both sides of the held-out split. Limits: one file is read into memory (real-case
sets are small: hundreds to tens of thousands of rows).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Collection, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from azmed.envs.base import stable_key
from azmed.runs import write_jsonl
from simulator.readers import InputError, loads_json

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
# How many problems a report lists in full; the rest are only counted.
FIRST_PROBLEMS = 10


class RealCaseError(ValueError):
    """An unreadable real-case file, or (with --strict) its first bad row."""


class RealCase(BaseModel):
    """One real case: a presentation, a question about it and the answer."""

    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(None, max_length=200, description="unique row id (default: derived from the line number)")
    case: Text | None = Field(None, description="the case as free text (history, examination, results)")
    findings: dict[str, Any] | None = Field(
        None, description="structured findings: name -> text, number, yes/no, list, or a nested group of findings")
    question: Text = Field(description="what is asked about the case, e.g. 'What is the most likely diagnosis?'")
    answer: Text = Field(description="the correct answer (a number may be given as a JSON number)")
    task_type: Literal["diagnosis", "calculation", "next_step", "question"] = Field(
        "question", description="kind of question; sets the answer instruction in the prompt")
    answer_type: Literal["text", "number", "integer", "date"] = Field(
        "text", description="how the answer is graded: text, number (tolerance), integer (exact), date")
    answer_range: tuple[float, float] | None = Field(
        None, description="accepted [low, high] for number and integer answers (default: +-5 % for numbers)")
    rationale: Text | None = Field(None, description="how the answer is reached (optional)")
    source: Text | None = Field(None, description="where the case comes from, e.g. 'agentclinic-medqa'")
    meta: dict[str, Any] = Field(default_factory=dict, description="any other JSON metadata; never shown to the model")

    @field_validator("answer", mode="before")
    @classmethod
    def _number_answer_as_text(cls, v):
        # JSON numbers are natural for numeric answers; bools are never an answer.
        if isinstance(v, bool):
            raise ValueError("must be text or a number, not true/false")
        if isinstance(v, (int, float)):
            if not math.isfinite(v):
                raise ValueError("must be a finite number")
            return format(v, "g") if isinstance(v, float) else str(v)
        return v

    @field_validator("findings")
    @classmethod
    def _findings_shape(cls, v):
        if v is not None:
            if not v:
                raise ValueError("is empty: give at least one finding, or leave `findings` out and use `case`")
            _check_finding_values(v, "findings")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.case is None and self.findings is None:
            raise ValueError("give the presentation as `case` (text) or `findings` (structured), or both")
        if self.answer_type in ("number", "integer"):
            value = _as_number(self.answer)
            if value is None:
                raise ValueError(f"answer {self.answer!r} is not a number but answer_type is {self.answer_type!r}")
            if self.answer_type == "integer" and value != int(value):
                raise ValueError(f"answer {self.answer!r} is not a whole number but answer_type is 'integer'")
            if self.answer_range is not None:
                low, high = self.answer_range
                if not low <= value <= high:
                    raise ValueError(f"answer {self.answer} lies outside answer_range [{low}, {high}]")
        elif self.answer_range is not None:
            raise ValueError("answer_range is only for answer_type 'number' or 'integer'")
        if self.answer_type == "date" and _as_date(self.answer) is None:
            raise ValueError(f"answer {self.answer!r} is not a date as MM/DD/YYYY or YYYY-MM-DD")
        return self

    def content_key(self) -> str:
        """Identifies the case by content (presentation + question): the held-out split and the
        duplicate check use it, so a row keeps its side of the split when rows move."""
        return stable_key(self.case, self.findings, self.question)


def _check_finding_values(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not str(k).strip():
                raise ValueError(f"{where} has an empty finding name")
            _check_finding_values(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                raise ValueError(f"{where}[{i}] must be text or a number (lists hold plain values)")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"{where} has an unsupported value {value!r}")


def _as_number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _as_date(text: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


# ---- reading a file row by row -----------------------------------------------------------------

@dataclass(frozen=True)
class RowProblem:
    """A bad row: its 1-based line, the field at fault ('' for the whole row) and why."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field `{self.field}`" if self.field else "")
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class CaseFile:
    """The good rows of a file (with their line numbers) and the problems of the others."""

    path: str
    rows: list[tuple[int, RealCase]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def cases(self) -> list[RealCase]:
        return [c for _, c in self.rows]

    def report(self) -> dict[str, Any]:
        """What the run's report says about the input: counts and the first few problems."""
        return {"path": self.path, "rows_read": len(self.rows) + len(self.problems), "rows_used": len(self.rows),
                "rows_skipped": len(self.problems),
                "first_problems": [p.to_json() for p in self.problems[:FIRST_PROBLEMS]]}


def problems_from_validation(line: int, exc: ValidationError) -> list[RowProblem]:
    """One RowProblem per pydantic error, with the field as a dotted path."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field; the fields are: {', '.join(RealCase.model_fields)}"
        elif err["type"] == "missing":
            msg = "is required"
        out.append(RowProblem(line, loc, msg))
    return out


def parse_row(line_no: int, text: str) -> RealCase | list[RowProblem]:
    """One JSONL line -> a RealCase, or the problems that make it a bad row."""
    try:
        obj = loads_json(text)
    except InputError as exc:
        return [RowProblem(line_no, "", str(exc))]
    except json.JSONDecodeError as exc:
        return [RowProblem(line_no, "", f"not valid JSON ({exc.msg} at column {exc.colno})")]
    if not isinstance(obj, dict):
        return [RowProblem(line_no, "", f"must be a JSON object, got {type(obj).__name__}")]
    try:
        return RealCase.model_validate(obj)
    except ValidationError as exc:
        return problems_from_validation(line_no, exc)


def check_rows(path: str, numbered: Iterable[tuple[int, RealCase | list[RowProblem]]], strict: bool) -> CaseFile:
    """Collect parsed rows into a CaseFile: default ids, duplicate checks, and in strict mode
    a RealCaseError at the first problem. Shared by the JSONL reader and the converters."""
    out = CaseFile(path=path)
    ids: dict[str, int] = {}
    contents: dict[str, int] = {}
    for line_no, parsed in numbered:
        problems = parsed if isinstance(parsed, list) else []
        if not problems:
            case = parsed if parsed.id is not None else parsed.model_copy(update={"id": f"line-{line_no}"})
            if case.id in ids:
                problems = [RowProblem(line_no, "id", f"id {case.id!r} is already used on line {ids[case.id]}")]
            elif case.content_key() in contents:
                problems = [RowProblem(line_no, "", f"repeats the case and question of line "
                                                    f"{contents[case.content_key()]}; remove one of them")]
        if problems:
            if strict:
                raise RealCaseError(f"{path}: {problems[0]} (fix the row, or drop --strict to skip bad rows)")
            out.problems.extend(problems[:1])  # one entry per bad row keeps the count = rows skipped
            continue
        ids[case.id] = line_no
        contents[case.content_key()] = line_no
        out.rows.append((line_no, case))
    return out


def read_cases(path: str | os.PathLike, strict: bool = False) -> CaseFile:
    """Read and validate a real-case JSONL file. Blank lines are ignored. With `strict`, the
    first bad row raises RealCaseError naming its line and field; otherwise bad rows are
    skipped and listed in `problems`. The file is only read."""
    p = Path(path)
    if not p.is_file():
        raise RealCaseError(f"{p}: no such file (give a JSONL file of real cases; see docs/real-cases.md)")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise RealCaseError(f"{p}: not UTF-8 text (byte {exc.start}); save the file as UTF-8 JSONL") from None

    def numbered():
        for i, text in enumerate(lines, 1):
            if text.strip():
                yield i, parse_row(i, text)

    out = check_rows(str(p), numbered(), strict)
    if not out.rows and not out.problems:
        raise RealCaseError(f"{p}: the file has no rows (one JSON object per line; see docs/real-cases.md)")
    return out


def write_cases(cases: Iterable[RealCase], path: str | os.PathLike) -> int:
    """Write cases as JSONL, atomically (a temporary file renamed into place); returns the count."""
    return write_jsonl(Path(path), (case.model_dump(exclude_none=True) for case in cases))


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- what the model sees -----------------------------------------------------------------------

def render_findings(findings: dict[str, Any], depth: int = 0, *, list_sep: str = ", ",
                    skip: Collection[str] = ()) -> list[str]:
    """Nested findings as indented 'Name: value' lines (underscores read as spaces; keys in
    `skip` and empty values left out). The one renderer of nested case data: real cases here,
    AgentClinic OSCE cases in the evaluation.

    >>> render_findings({"Vital_signs": {"HR": 104, "febrile": True}, "Labs": ["Na 131", "K 3.1"]})
    ['Vital signs:', '  HR: 104', '  febrile: yes', 'Labs: Na 131, K 3.1']
    """
    lines = []
    pad = "  " * depth
    for name, value in findings.items():
        if name in skip:
            continue
        label = str(name).replace("_", " ").strip()
        if isinstance(value, dict):
            lines.append(f"{pad}{label}:")
            lines.extend(render_findings(value, depth + 1, list_sep=list_sep, skip=skip))
        elif isinstance(value, list):
            lines.append(f"{pad}{label}: {list_sep.join(_plain(v) for v in value)}")
        elif value is not None:
            lines.append(f"{pad}{label}: {_plain(value)}")
    return lines


def _plain(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def answer_instruction(case: RealCase) -> str:
    """The answer-format sentence ending the prompt; it matches the self-play solver prompts
    (the clinical environment asks for 'the diagnosis name only', 'the number only')."""
    if case.answer_type in ("number", "integer"):
        return "Answer with the number only."
    if case.answer_type == "date":
        return "Answer with the date only."
    if case.task_type == "diagnosis":
        return "Answer with the diagnosis name only."
    if case.task_type == "next_step":
        return "Answer in a few words."
    return "Answer briefly."


def presentation_text(case: RealCase) -> str:
    """The case as the model reads it: the free text, then the structured findings."""
    parts = []
    if case.case:
        parts.append(f"Patient: {case.case}")
    if case.findings:
        if case.case:
            parts.append("\n".join(["Findings:", *render_findings(case.findings, 1)]))
        else:
            parts.append("\n".join(render_findings(case.findings)))
    return "\n\n".join(parts)


def prompt_text(case: RealCase, presentation: str | None = None) -> str:
    """The user message for `case` (never contains the answer). `presentation` replaces the
    rendered case, e.g. a shortened one that fits the token budget."""
    body = presentation if presentation is not None else presentation_text(case)
    return f"{body}\n\n{case.question} {answer_instruction(case)}"


def completion_text(case: RealCase, with_rationale: bool = False) -> str:
    """What the model learns to answer: the answer, optionally after the rationale (then the
    answer follows 'Answer:', which the numeric graders look for)."""
    if with_rationale and case.rationale:
        return f"{case.rationale}\nAnswer: {case.answer}"
    return case.answer
