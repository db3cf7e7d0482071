"""Declared calculator inputs: what a calculator needs, in which unit, within which limits.

Every calculator lists its inputs as `Input` objects built by four constructors:

    number("creatinine")                      # a quantity from QUANTITIES (canonical unit, limits)
    number("age", low=18)                     # ... with a narrower range for this calculator
    finding("hypertension", "history of hypertension")    # boolean, missing = absent
    choice("gcs_eye", "best eye response", {4: "spontaneous", 3: "to voice", ...})

`Input.coerce(value)` turns what a case, a model or a command line gives ("yes", "F", 1.2,
"grade 1-2", 3) into the value a formula uses, or raises `CalculatorInputError` saying which
input was wrong, what was given and what is expected (unit, range or choices).

Formulas always see numbers in the canonical unit of the shared variable registry
(`knowledge/variables.yaml`). A number written with a unit ("106 umol/L", "101.3degF") is
converted by `read_number` / `to_canonical`, through the registry's accepted units; the
`azmed calc` command and the solver's tool calls (`simulator.tools`) both use them. The limits
here are the calculators' own plausibility limits: a value outside them is impossible for the
formula (often a unit slip such as creatinine given in µmol/L), not merely abnormal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal


class CalculatorInputError(ValueError):
    """A calculator could not run on the values it was given; the message says how to fix it."""


class InputUnitError(CalculatorInputError):
    """A number came with a unit its input does not accept; the message lists the accepted ones."""


@dataclass(frozen=True)
class Quantity:
    """A numeric input's meaning, canonical unit and plausibility limits."""

    description: str
    unit: str
    low: float
    high: float


# Canonical units as in knowledge/variables.yaml; limits wide enough for any real patient.
QUANTITIES: dict[str, Quantity] = {
    "age": Quantity("age", "years", 0, 120),
    "weight": Quantity("body weight", "kg", 0.5, 400),
    "height": Quantity("height", "cm", 30, 272),
    "temperature": Quantity("body temperature", "Cel", 25, 46),
    "heart_rate": Quantity("heart rate", "/min", 20, 300),
    "resp_rate": Quantity("respiratory rate", "/min", 0, 80),
    "sbp": Quantity("systolic blood pressure", "mm[Hg]", 30, 300),
    "dbp": Quantity("diastolic blood pressure", "mm[Hg]", 10, 200),
    "spo2": Quantity("oxygen saturation on room air", "%", 30, 100),
    "paco2": Quantity("arterial PaCO2", "mm[Hg]", 5, 200),
    "wbc": Quantity("white blood cell count", "10*3/uL", 0, 500),
    "platelets": Quantity("platelet count", "10*3/uL", 1, 2000),
    "sodium": Quantity("serum sodium", "mmol/L", 90, 200),
    "chloride": Quantity("serum chloride", "mmol/L", 50, 160),
    "bicarbonate": Quantity("serum bicarbonate", "mmol/L", 1, 60),
    "bun": Quantity("blood urea nitrogen", "mg/dL", 1, 300),
    "creatinine": Quantity("serum creatinine", "mg/dL", 0.1, 30),
    "glucose": Quantity("serum glucose", "mg/dL", 10, 3000),
    "calcium": Quantity("total serum calcium", "mg/dL", 2, 20),
    "albumin": Quantity("serum albumin", "g/dL", 0.5, 7),
    "total_bilirubin": Quantity("total bilirubin", "mg/dL", 0.01, 60),
    "ast": Quantity("aspartate aminotransferase (AST)", "U/L", 1, 20000),
    "alt": Quantity("alanine aminotransferase (ALT)", "U/L", 1, 20000),
    "inr": Quantity("international normalized ratio", "{ratio}", 0.5, 20),
    "qt_interval": Quantity("QT interval", "ms", 150, 800),
    "alcohol_drinks_per_week": Quantity("alcoholic drinks per week", "/wk", 0, 200),
}

_YES = {"true", "yes", "y", "1", "present", "positive", "+"}
_NO = {"false", "no", "n", "0", "absent", "negative", "-", "none"}


def _key(text: Any) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").split())


@dataclass(frozen=True)
class Input:
    """One declared input of a calculator.

    kind: "number" (float in `unit`, within [low, high]), "bool" (a finding, present/absent) or
    "choice" (one of `options`: value -> label; `synonyms` maps other words to a value).
    A required input has no default; a missing optional one takes `default`.
    """

    name: str
    kind: Literal["number", "bool", "choice"]
    description: str
    required: bool = True
    default: Any = None
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    options: dict[Any, str] = field(default_factory=dict)
    synonyms: dict[str, Any] = field(default_factory=dict)

    def expects(self) -> str:
        """What a valid value looks like, for error messages and listings."""
        if self.kind == "number":
            return f"a number in {self.unit} between {self.low:g} and {self.high:g}"
        if self.kind == "bool":
            return "yes or no (missing = no)"
        return "one of " + ", ".join(f"{label!r} ({value})" for value, label in self.options.items())

    def label(self, value: Any) -> str:
        """How a coerced value reads in an explanation."""
        if self.kind == "bool":
            return "present" if value else "absent"
        if self.kind == "choice":
            return self.options[value]
        return f"{value:g} {self.unit}"

    def coerce(self, value: Any) -> Any:
        """The value a formula uses, or CalculatorInputError naming this input."""
        if self.kind == "number":
            return self._number(value)
        if self.kind == "bool":
            return self._bool(value)
        return self._choice(value)

    def _fail(self, value: Any, why: str = "") -> CalculatorInputError:
        why = f" ({why})" if why else ""
        return CalculatorInputError(f"{self.name}={value!r} is not valid{why}: expected {self.expects()}")

    def _number(self, value: Any) -> float:
        if isinstance(value, bool):
            raise self._fail(value, "a yes/no was given for a number")
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise self._fail(value) from None
        if not math.isfinite(x):
            raise self._fail(value)
        if not self.low <= x <= self.high:
            raise self._fail(value, f"outside the plausible range; was it given in another unit than {self.unit}?")
        return x

    def _bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        k = _key(value)
        if k in _YES:
            return True
        if k in _NO:
            return False
        raise self._fail(value)

    def _choice(self, value: Any) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in self.options:
            return next(v for v in self.options if v == value)  # the value itself (2.0 finds 2)
        k = _key(value)
        for v, label in self.options.items():
            if k == _key(label) or k == _key(v):
                return v
        if k in self.synonyms:
            return self.synonyms[k]
        raise self._fail(value)


def number(name: str, *, low: float | None = None, high: float | None = None,
           required: bool = True, default: float | None = None, description: str = "") -> Input:
    """A numeric input from QUANTITIES, optionally with a narrower range for one calculator."""
    q = QUANTITIES[name]
    return Input(name, "number", description or q.description, required=required, default=default,
                 unit=q.unit, low=q.low if low is None else low, high=q.high if high is None else high)


def finding(name: str, description: str) -> Input:
    """A boolean finding; a missing finding counts as absent."""
    return Input(name, "bool", description, required=False, default=False)


def choice(name: str, description: str, options: dict[Any, str], *, default: Any = None,
           synonyms: dict[str, Any] | None = None) -> Input:
    """One of a few graded options; required unless a default is given."""
    syn = {_key(k): v for k, v in (synonyms or {}).items()}
    return Input(name, "choice", description, required=default is None, default=default,
                 options=dict(options), synonyms=syn)


SEX = choice("sex", "sex", {"M": "male", "F": "female"}, synonyms={"man": "M", "woman": "F"})


# ---- numbers written with a unit ---------------------------------------------------------------

NUMBER_WITH_UNIT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def read_number(inp: Input, raw: str) -> float:
    """A number with an optional unit ("1.2 mg/dL", "106umol/L", "140") in `inp`'s canonical
    unit. Raises CalculatorInputError when `raw` is not a number, InputUnitError for a unit
    `inp` does not accept. The plausibility range is checked later, by `Input.coerce`."""
    m = NUMBER_WITH_UNIT.match(str(raw))
    if not m:
        raise CalculatorInputError(f"{inp.name}={raw!r} is not a number with an optional unit "
                                   f"(e.g. {inp.name}=1.2{inp.unit})")
    value, unit = float(m.group(1)), m.group(2)
    return to_canonical(inp, value, unit) if unit else value


def to_canonical(inp: Input, value: float, unit: str) -> float:
    """`value` in `unit` converted to `inp`'s canonical unit through the variable registry (which
    must agree with the calculator on that unit). The result is rounded to the registry's
    precision plus two decimals, so the 7-digit conversion factors cannot move a value across a
    score's threshold (100.4 °F is 38.0 °C, not 38.000003)."""
    from simulator.errors import SimulatorError, UnitError
    from simulator.variables import registry, unit_key

    if unit_key(unit) == unit_key(inp.unit):
        return value
    try:
        variable = registry().get(inp.name)
    except KeyError:
        raise InputUnitError(f"{inp.name} has no unit conversions; give it in {inp.unit or 'no unit'} "
                             f"(got {unit!r})") from None
    except (SimulatorError, OSError) as e:
        raise InputUnitError(f"{inp.name}: the variable registry could not be loaded ({e}); "
                             f"give the value in {inp.unit} without a unit") from None
    if unit_key(variable.unit) != unit_key(inp.unit):
        raise InputUnitError(f"{inp.name}: the variable registry's unit {variable.unit} differs from "
                             f"the calculator's {inp.unit}; give the value in {inp.unit}")
    try:
        return round(variable.to_canonical(value, unit), variable.decimals + 2)
    except UnitError as e:
        raise InputUnitError(str(e)) from None
