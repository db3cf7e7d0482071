"""The `medcalc` suite: MedCalc-Bench (Khandekar et al., NeurIPS 2024 Datasets & Benchmarks).

    azmed eval --suite medcalc --model embedded --limit 20 --out base.json
    azmed eval --suite medcalc --medcalc-csv path/to/test_data.csv ...

Each row's patient note and question go to the model in the prompt of the clinical environment's
direct calculation tasks (`azmed.envs.clinical.prompts.direct_prompt`: the note, the question
and "Answer with the number only." / "...the date only (MM/DD/YYYY)." / "...the weeks and days
only"), as the tools setting uses training's tool prompt. (Until this prompt was shared, the
direct setting ended in MedCalc-Bench's style, `Answer: <value>`; an adapter trained on the
environment's prompts copied the placeholder.) The answer is read by the reader every grader
shares (`simulator.answers`, the same one the self-play reward uses) and scored by the row's
`Output Type`:
- decimal and integer: correct when Lower Limit <= value <= Upper Limit (the row's own limits:
  +-5 % for decimals, exact for integer scores);
- date: the date must equal the ground truth exactly (written M/D/Y, Y-M-D or with a month
  name);
- a ground truth written as weeks and days (gestational age, Output Type integer): the same
  number of days.
Several different values in the answer ("3 or 4", "20-25") are a hedge and wrong. Accuracy is
reported overall, per calculator and per category.

`--limit N` takes rows round-robin over the calculators (in file order), so a quick look covers
N different calculators instead of the first few rows of one; `medcalc.per_calculator=1` keeps
the first row of each calculator (the end-of-run subset).

Settings (`--setting direct|tools|both`): in `tools` the prompt is the note, the question and
the calculators whose names best match it (the prompt of the clinical environment's calculation
tasks, `azmed.envs.clinical.prompts.tool_prompt`), the answer is one calculator call in the kit's
grammar, the call runs on the kit's calculators and its result is graded against the row's
limits. Where MedCalc-Bench's ground truth departs from the calculator's published source (see
simulator/calculators), the kit's calculator follows the source, so a right call can be graded
wrong on those rows.

The shipped copy (`azmed/eval/data/medcalc_bench_dev.csv`, CC-BY-SA 4.0, see
`azmed/eval/data/LICENSES.md`) is a quarter of each calculator's test rows; any CSV with the
same columns works (the full `test_data.csv`).

Limits: no arithmetic in answers is evaluated; units in an answer are ignored (the value is
taken in the unit the question asks for).
"""

from __future__ import annotations

import csv
import datetime as _dt
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from azmed.envs.base import Verdict
from azmed.envs.clinical.prompts import direct_prompt, tool_guide, tool_prompt
from azmed.eval.harness import Item, Suite, SuiteDataError, scored
from simulator import calculators
from simulator.tools import ToolFailure, execute_call
from simulator.answers import parse_date, parse_weeks_days, read_date, read_weeks_days
from simulator.verify import answer_number

REQUIRED_COLUMNS = ("Row Number", "Calculator Name", "Category", "Output Type", "Patient Note", "Question",
                    "Ground Truth Answer", "Lower Limit", "Upper Limit")
OUTPUT_TYPES = ("decimal", "integer", "date")
DIRECT_KIND = {"number": "decimal", "date": "date", "weeks_days": "weeks_days"}  # truth kind -> the answer-format sentence


def load_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of a MedCalc-Bench CSV, checked for the columns the suite needs."""
    path = Path(path)
    if not path.is_file():
        raise SuiteDataError(f"MedCalc-Bench CSV {path} does not exist: pass --medcalc-csv PATH (a CSV with the "
                             "columns of MedCalc-Bench's test_data.csv) or leave it out to use the shipped copy")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # patient notes are long
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SuiteDataError(f"{path} lacks the MedCalc-Bench column(s) {', '.join(missing)}; "
                                     f"its header is {', '.join(reader.fieldnames or []) or '(empty)'}")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise SuiteDataError(f"{path} is not UTF-8 text ({exc.reason}): save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise SuiteDataError(f"{path} is not a readable CSV: {exc}") from None
    for n, row in enumerate(rows, start=1):  # data rows, not lines: notes hold line breaks
        where = f"{path} data row {n} (Row Number {row.get('Row Number')})"
        kind = (row.get("Output Type") or "").strip()
        if kind not in OUTPUT_TYPES:
            raise SuiteDataError(f"{where}: Output Type {kind!r} is not one of {', '.join(OUTPUT_TYPES)}")
        try:
            truth_of(row)
        except ValueError as exc:
            raise SuiteDataError(f"{where}: {exc}") from None
    if not rows:
        raise SuiteDataError(f"{path} has a header but no rows")
    return rows


def truth_of(row: dict[str, str]) -> dict[str, Any]:
    """The row's ground truth as {"kind", "answer", "lower", "upper"}: kind is "number",
    "date" or "weeks_days" (a ground truth written as weeks and days)."""
    answer = (row["Ground Truth Answer"] or "").strip()
    if row["Output Type"].strip() == "date":
        d = parse_date(answer)
        if d is None:
            raise ValueError(f"Ground Truth Answer {answer!r} is not a date (M/D/Y)")
        return {"kind": "date", "answer": d.isoformat()}
    if "week" in answer.lower() or answer.startswith("("):
        wd = parse_weeks_days(answer)
        if wd is None:
            raise ValueError(f"Ground Truth Answer {answer!r} is neither a number nor weeks and days")
        return {"kind": "weeks_days", "answer": list(wd)}
    try:
        lower, upper = float(row["Lower Limit"]), float(row["Upper Limit"])
        value = float(answer)
    except (TypeError, ValueError):
        raise ValueError(f"Ground Truth Answer / Lower Limit / Upper Limit ({answer!r}, {row['Lower Limit']!r}, "
                         f"{row['Upper Limit']!r}) must be numbers for Output Type {row['Output Type']!r}") from None
    lower, upper = min(lower, upper), max(lower, upper)
    return {"kind": "number", "answer": value, "lower": lower, "upper": upper,
            "integer": row["Output Type"].strip() == "integer"}


def grade(truth: dict[str, Any], answer: str) -> Verdict:
    """Grade a free-text answer against a row's truth (see the module docstring)."""
    kind = truth["kind"]
    if kind == "number":
        value = answer_number(answer)
        if isinstance(value, Verdict):
            return value
        lo, hi = truth["lower"], truth["upper"]
        eps = 1e-9 * max(1.0, abs(lo), abs(hi))  # a value printed exactly on a limit is not lost to float error
        ok = lo - eps <= value <= hi + eps
        rule = f"= {truth['answer']:g} exactly" if lo == hi else f"in [{lo:g}, {hi:g}]"
        return Verdict(ok, value, f"{value:g} {'is' if ok else 'is not'} {rule}")
    if kind == "date":
        r = read_date(answer)
        if r.value is None:
            return Verdict(False, None, "no date in the answer", formatted=False)
        if r.hedged:
            return Verdict(False, [d.isoformat() for d in (r.value, *r.others)], "several different dates; one is required")
        want = _dt.date.fromisoformat(truth["answer"])
        ok = r.value == want
        return Verdict(ok, r.value.isoformat(), f"{r.value.isoformat()} {'==' if ok else '!='} {want.isoformat()}")
    r = read_weeks_days(answer)
    if r.value is None:
        return Verdict(False, None, "no weeks/days in the answer", formatted=False)
    (w, d), (tw, td) = r.value, truth["answer"]
    ok = 7 * w + d == 7 * tw + td
    return Verdict(ok, [w, d], f"{w} weeks {d} days {'==' if ok else '!='} {tw} weeks {td} days")


def round_robin(rows: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    """Rows reordered to cycle through the values of `key` (first-seen order), so the first N
    rows cover N different values.

    >>> [r["k"] for r in round_robin([{"k": "a"}, {"k": "a"}, {"k": "b"}], "k")]
    ['a', 'b', 'a']
    """
    by: dict[str, list] = defaultdict(list)
    for r in rows:
        by[r[key]].append(r)
    queues = list(by.values())
    out = []
    for depth in range(max((len(q) for q in queues), default=0)):
        out += [q[depth] for q in queues if depth < len(q)]
    return out


def first_per_calculator(rows: list[dict[str, str]], k: int) -> list[dict[str, str]]:
    """The first `k` rows of each calculator, in file order.

    >>> [r["n"] for r in first_per_calculator([{"Calculator Name": c, "n": i} for i, c in enumerate("aaba")], 1)]
    [0, 2]
    """
    seen: dict[str, int] = defaultdict(int)
    out = []
    for r in rows:
        if seen[r["Calculator Name"]] < k:
            seen[r["Calculator Name"]] += 1
            out.append(r)
    return out


def grade_call_answer(truth: dict[str, Any], answer: str) -> Verdict:
    """Grade an answer written as one calculator call: the call runs on the kit's calculators
    (`simulator.tools`, nothing else runs) and its result is graded like a direct answer against
    the row's own limits. A call that cannot be parsed or run is unformatted, with its reason."""
    out = execute_call(answer or "")
    if isinstance(out, ToolFailure):
        return Verdict(False, None, f"{out.reason}: {out.detail}", formatted=False, reason=out.reason)
    calc = calculators.get(out.result.calculator)
    value = calc.answer_text(out.answer)
    graded = grade(truth, value)
    return Verdict(graded.correct, {"call": out.call.text, "result": value}, f"{out.call.text} = {value}: {graded.why}",
                   formatted=graded.formatted)


class MedCalcSuite(Suite):
    name = "medcalc"
    group_keys = ("calculator", "category", "output_type")
    settings = ("direct", "tools")

    def items(self, limit: int | None = None) -> list[Item]:
        rows = load_rows(self.options.csv)
        if self.options.per_calculator:
            rows = first_per_calculator(rows, self.options.per_calculator)
        rows = round_robin(rows, "Calculator Name")
        if limit:
            rows = rows[:limit]
        return [Item(id=f"row-{r['Row Number']}", data={"note": r["Patient Note"], "question": r["Question"]},
                     truth=truth_of(r),
                     groups={"calculator": r["Calculator Name"], "category": r["Category"],
                             "output_type": r["Output Type"]})
                for r in rows]

    def prompt(self, item: Item) -> str:
        if self.setting == "tools":  # the prompt of training's calculation tasks
            return tool_prompt(item.data["note"], item.data["question"], self.options.tool_count)
        # the prompt of training's direct calculation tasks, as `tools` uses training's tool prompt
        return direct_prompt(item.data["note"], item.data["question"], DIRECT_KIND.get(item.truth["kind"], "decimal"))

    def guide(self, item: Item):
        if self.setting == "tools" and self.options.guided_calls:  # as training writes its calls
            return tool_guide(item.data["question"], self.options.tool_count,
                              item.data["note"] if self.options.guided_values else None)
        return None

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        if self.setting == "tools":
            return scored(grade_call_answer(item.truth, answer))
        return scored(grade(item.truth, answer))
