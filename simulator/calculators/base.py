"""The `Calculator` object, its result, point-score criteria and the grading tolerance.

A calculator is declarative data plus one formula (MedCalc-Bench style): an id, a name, the
names people type for it, its MedCalc-Bench Calculator ID where it has one, what its answer is
(an integer score graded by exact match, a decimal graded within ±5 %, a date written
MM/DD/YYYY, or a duration in (weeks, days)), the output unit, a citation, its declared
`Input`s and a `formula(values) -> (answer, steps)` that works on validated values in canonical
units and writes each step with the numbers substituted.

    calc.compute({"sodium": 140, "chloride": 104, "bicarbonate": 24})
    # CalcResult(calculator='anion_gap', answer=12.0, unit='mmol/L', explanation='...', inputs={...})

Point scores are built from `Criterion`s (one line of the explanation each) by `point_score`,
so a score's definition reads like its table in the paper.

`answer_correct(answer, truth, kind)` is the grading rule for every kind of answer; numbers go
through `within_tolerance`.

Limits: inputs must already be in canonical units (see `inputs.py`); calculators never guess a
unit. Decimal answers are rounded to 3 decimals, as MedCalc-Bench reports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

from simulator.calculators.dates import format_weeks_days, parse_date, parse_weeks_days
from simulator.calculators.inputs import CalculatorInputError, Input

Values = Mapping[str, Any]
Formula = Callable[[Values], tuple[Any, list[str]]]
AnswerKind = Literal["integer", "decimal", "date", "weeks_days"]

RELATIVE_TOLERANCE = 0.05  # MedCalc-Bench: lower/upper limit = truth * 0.95 / truth * 1.05


def within_tolerance(answer: float, truth: float, integer: bool) -> bool:
    """True when `answer` counts as correct for `truth`: exact for integer scores, else within
    MedCalc-Bench's limits truth*0.95 .. truth*1.05 (ordered, so negative truths work too).

    >>> within_tolerance(3, 3.0, True), within_tolerance(4, 3, True)
    (True, False)
    >>> within_tolerance(104.9, 100, False), within_tolerance(105.2, 100, False)
    (True, False)
    >>> within_tolerance(-7.3, -7, False)
    True
    """
    try:
        a, t = float(answer), float(truth)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(a) and math.isfinite(t)):
        return False
    if integer:
        return abs(a - t) < 1e-9
    lo, hi = sorted((t * (1 - RELATIVE_TOLERANCE), t * (1 + RELATIVE_TOLERANCE)))
    # A hair of slack so a value printed exactly on MedCalc-Bench's limit is not lost to float error.
    eps = 1e-9 * max(1.0, abs(t))
    return lo - eps <= a <= hi + eps


def answer_correct(answer: Any, truth: Any, kind: AnswerKind) -> bool:
    """The grading rule for every kind of calculator answer: integer scores exactly, decimals
    within ±5 % (`within_tolerance`), dates as the same day whatever the notation ("12/09/2007",
    "2007-12-09", a `date`), durations as the same number of days ((14, 1), "14 weeks 1 day",
    MedCalc-Bench's "('14 weeks', '1 days')").

    >>> answer_correct("2007-12-09", "12/09/2007", "date"), answer_correct((14, 1), "('14 weeks', '1 days')", "weeks_days")
    (True, True)
    >>> answer_correct("12/10/2007", "12/09/2007", "date"), answer_correct(104.9, 100, "decimal")
    (False, True)
    """
    if kind in ("integer", "decimal"):
        return within_tolerance(answer, truth, kind == "integer")
    if kind == "date":
        a, t = parse_date(answer), parse_date(truth)
        return a is not None and a == t
    if kind == "weeks_days":
        a, t = parse_weeks_days(answer), parse_weeks_days(truth)
        return a is not None and t is not None and 7 * a[0] + a[1] == 7 * t[0] + t[1]
    raise ValueError(f"unknown answer kind {kind!r}; expected integer, decimal, date or weeks_days")


def fmt(x: float) -> str:
    """A number as it reads in an explanation: integers bare, else up to 3 decimals.

    >>> fmt(12.0), fmt(93.33333), fmt(0.00012346), fmt(-2.5)
    ('12', '93.333', '0.0001235', '-2.5')
    """
    x = float(x)
    if x.is_integer():
        return str(int(x))
    if abs(x) < 0.001:
        return f"{x:.4g}"
    return f"{x:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class CalcResult:
    """What a calculator returns: the answer (int for integer scores, a "MM/DD/YYYY" string for
    dates, a (weeks, days) tuple for durations), its unit, a step-by-step explanation with the
    numbers substituted, and the validated inputs it used."""

    calculator: str
    answer: float | int | str | tuple[int, int]
    unit: str
    explanation: str
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        inputs = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.inputs.items()}
        answer = list(self.answer) if isinstance(self.answer, tuple) else self.answer
        return {"calculator": self.calculator, "answer": answer, "unit": self.unit,
                "explanation": self.explanation, "inputs": inputs}


@dataclass(frozen=True)
class Calculator:
    """One clinical calculator. `integer` True means an exactly graded point score (Wells PE
    counts half points, so its answer may be x.5); False means a decimal graded within ±5 %.
    `output` "date" or "weeks_days" marks the pregnancy-dating calculators, whose answers are a
    date or a duration. `medcalc_id` is MedCalc-Bench's Calculator ID where it has this one."""

    id: str
    name: str
    aliases: tuple[str, ...]
    integer: bool
    unit: str
    reference: str
    inputs: tuple[Input, ...]
    formula: Formula
    medcalc_id: int | None = None
    output: Literal["number", "date", "weeks_days"] = "number"

    @property
    def kind(self) -> AnswerKind:
        """How the answer is graded: "integer", "decimal", "date" or "weeks_days"."""
        if self.output != "number":
            return self.output
        return "integer" if self.integer else "decimal"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.required)

    def answer_text(self, answer: Any) -> str:
        """The answer as a person reads it: '93.333', '12/05/2007', '14 weeks 1 day'."""
        if self.output == "weeks_days":
            weeks, days = answer
            return format_weeks_days(weeks, days)
        return answer if isinstance(answer, str) else fmt(answer)

    def input(self, name: str) -> Input:
        for i in self.inputs:
            if i.name == name:
                return i
        raise CalculatorInputError(f"{self.id} has no input {name!r}; its inputs are "
                                   f"{', '.join(i.name for i in self.inputs)}")

    def validate(self, values: Values) -> dict[str, Any]:
        """Every declared input, coerced; missing optional ones take their default. Keys of
        `values` that are not inputs are ignored (a whole case's values may be passed)."""
        missing = [i for i in self.inputs if i.required and values.get(i.name) is None]
        if missing:
            need = "; ".join(f"{i.name} ({i.description}: {i.expects()})" for i in missing)
            raise CalculatorInputError(f"{self.id} is missing required input(s): {need}")
        out: dict[str, Any] = {}
        for i in self.inputs:
            raw = values.get(i.name)
            out[i.name] = i.default if raw is None else i.coerce(raw)
        return out

    def compute(self, values: Values) -> CalcResult:
        """Validate `values` and apply the formula."""
        v = self.validate(values)
        try:
            answer, steps = self.formula(v)
        except ZeroDivisionError:
            raise CalculatorInputError(f"{self.id}: these inputs make the formula divide by zero "
                                       f"({', '.join(f'{k}={x}' for k, x in v.items())})") from None
        if self.output != "number":
            pass  # a date string or a (weeks, days) tuple, as the formula wrote it
        elif self.integer and float(answer).is_integer():
            answer = int(answer)
        else:
            answer = round(float(answer), 3)
        return CalcResult(self.id, answer, self.unit, "\n".join(steps), v)


# ---- point scores ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """One row of a score table: `rule(values) -> (points, what was observed)`."""

    label: str
    rule: Callable[[Values], tuple[float, str]]


def present(name: str, label: str, points: float = 1) -> Criterion:
    """`points` when the finding `name` is present."""
    return Criterion(label, lambda v: (points, "present") if v[name] else (0, "absent"))


def banded(name: str, label: str, unit: str, bands: Sequence[tuple[str, Callable[[float], bool], float]]) -> Criterion:
    """Points of the first band whose test holds for the number `name`; each band is
    (text, test, points), e.g. ("≥ 75", lambda a: a >= 75, 2)."""
    def rule(v: Values) -> tuple[float, str]:
        x = v[name]
        for text, test, points in bands:
            if test(x):
                return points, f"{fmt(x)}{_unit_suffix(unit)} ({text})"
        raise CalculatorInputError(f"{name}={x} falls in no band of {label!r}")
    return Criterion(label, rule)


def _unit_suffix(unit: str) -> str:
    """'/min' and '%' attach to the number ('80/min'); words take a space ('76 years')."""
    return unit if unit[:1] in ("", "/", "%") else " " + unit


def graded(inp: Input, label: str, points: Callable[[Any], float] | None = None) -> Criterion:
    """Points for a choice input: its value itself, or `points(value)`."""
    def rule(v: Values) -> tuple[float, str]:
        value = v[inp.name]
        return (points(value) if points else value), inp.label(value)
    return Criterion(label, rule)


def point_score(criteria: Sequence[Criterion], title: str) -> Formula:
    """A formula summing the criteria, explaining each row and the total."""
    def formula(v: Values) -> tuple[float, list[str]]:
        steps = [f"{title}: add the points of each criterion."]
        parts: list[float] = []
        for c in criteria:
            pts, seen = c.rule(v)
            parts.append(pts)
            steps.append(f"- {c.label}: {seen} -> {'+' if pts >= 0 else ''}{fmt(pts)}")
        total = sum(parts)
        terms = " + ".join(fmt(p) if p >= 0 else f"({fmt(p)})" for p in parts)
        steps.append(f"Total = {terms} = {fmt(total)}")
        return total, steps
    return formula
