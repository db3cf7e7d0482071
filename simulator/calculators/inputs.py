"""Declared calculator inputs: what a calculator needs, in which unit, within which limits.

Every calculator lists its inputs as `Input` objects built by five constructors:

    number("creatinine")                      # a quantity from QUANTITIES (canonical unit, limits)
    number("age", low=18)                     # ... with a narrower range for this calculator
    finding("hypertension", "history of hypertension")    # boolean, missing = absent
    choice("gcs_eye", "best eye response", {4: "spontaneous", 3: "to voice", ...})
    date("last_menstrual_date", "first day of the last menstrual period")

`Input.coerce(value)` turns what a case, a model or a command line gives ("yes", "F", 1.2,
"grade 1-2", 3, "02/28/2007") into the value a formula uses, or raises `CalculatorInputError`
saying which input was wrong, what was given and what is expected (unit, range or choices).

Formulas always see numbers in the canonical unit of the shared variable registry
(`knowledge/variables.yaml`) when the registry has the quantity, else in the unit declared
here. A number written with a unit ("106 umol/L", "101.3degF", "100.4 degrees Fahrenheit") is
converted by `read_number` / `to_canonical`: through the registry (exactly, so 100.4 °F is
38.0 °C), through the few conversions declared here for quantities the registry lacks (age in
months or weeks, cholesterol in mmol/L, insulin in pmol/L, doses in µg), or between any two
counts per volume; the `azmed calc` command, the solver's tool calls (`simulator.tools`) and
MedCalc-Bench's entities (`simulator.calculators.medcalc`) all use them. The limits here are the
calculators' own plausibility limits: a value outside them is impossible for the formula (often
a unit slip such as creatinine given in µmol/L), not merely abnormal.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from simulator.calculators.dates import parse_date


class CalculatorInputError(ValueError):
    """A calculator could not run on the values it was given; the message says how to fix it."""


class InputUnitError(CalculatorInputError):
    """A number came with a unit its input does not accept; the message lists the accepted ones."""


@dataclass(frozen=True)
class Quantity:
    """A numeric input's meaning, canonical unit and plausibility limits. `units` are
    conversions (canonical = value x factor; a factor may be an exact ratio "1/12") for a
    quantity the variable registry does not have; `registry` names the registry variable whose
    units it shares when that is not its own name."""

    description: str
    unit: str
    low: float
    high: float
    units: dict[str, str] = field(default_factory=dict)
    registry: str = ""


_CREATININE_UNITS = {"umol/L": "50/4421", "mmol/L": "50000/4421"}  # 1 mg/dL = 88.42 µmol/L
_CHOLESTEROL_UNITS = {"mmol/L": "38.67"}  # cholesterol 386.65 g/mol: 1 mmol/L = 38.67 mg/dL
MASS_UNITS = {"mg": "1", "ug": "1/1000", "g": "1000"}


# Canonical units as in knowledge/variables.yaml; limits wide enough for any real patient.
QUANTITIES: dict[str, Quantity] = {
    "age": Quantity("age", "years", 0, 120,
                    units={"year": "1", "yr": "1", "yrs": "1", "y": "1", "months": "1/12", "month": "1/12",
                           "mo": "1/12", "weeks": "28/1461", "week": "28/1461", "wk": "28/1461",  # 7 / 365.25
                           "days": "4/1461", "day": "4/1461"}),
    "weight": Quantity("body weight", "kg", 0.5, 400),
    "height": Quantity("height", "cm", 30, 272, units={"ft": "30.48", "feet": "30.48", "foot": "30.48"}),
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
    "alcohol_drinks_per_week": Quantity("alcoholic drinks per week", "/wk", 0, 200,
                                        units={"drinks/week": "1", "drinks/wk": "1", "/week": "1"}),
    "potassium": Quantity("serum potassium", "mmol/L", 1, 12),
    "hemoglobin": Quantity("hemoglobin", "g/dL", 1, 25),
    "hematocrit": Quantity("hematocrit", "%", 5, 80),
    "ph": Quantity("arterial pH", "[pH]", 6.5, 8.0),
    "pao2": Quantity("arterial PaO2", "mm[Hg]", 10, 700),
    "fio2": Quantity("fraction of inspired oxygen (FiO2)", "%", 21, 100),
    "a_a_gradient": Quantity("alveolar-arterial (A-a) oxygen gradient", "mm[Hg]", 0, 700,
                             units={"mmHg": "1"}),
    "gcs": Quantity("Glasgow Coma Scale total", "{score}", 3, 15),
    "map": Quantity("mean arterial pressure", "mm[Hg]", 20, 250),
    "bmi": Quantity("body mass index", "kg/m2", 8, 100),
    "urine_sodium": Quantity("urine sodium", "mmol/L", 1, 300),
    "urine_creatinine": Quantity("urine creatinine", "mg/dL", 1, 1000, units=_CREATININE_UNITS),
    "urine_output": Quantity("urine output", "mL/d", 0, 20000,
                             units={"mL/day": "1", "mL/24h": "1", "mL/24hr": "1", "L/d": "1000", "L/day": "1000"}),
    "insulin": Quantity("fasting insulin", "u[IU]/mL", 0.1, 1000,
                        units={"uIU/mL": "1", "uU/mL": "1", "mIU/L": "1", "mU/L": "1", "pmol/L": "1/6"}),
    "total_cholesterol": Quantity("total cholesterol", "mg/dL", 20, 2000, units=_CHOLESTEROL_UNITS),
    "hdl_cholesterol": Quantity("HDL cholesterol", "mg/dL", 1, 300, units=_CHOLESTEROL_UNITS),
    "triglycerides": Quantity("triglycerides", "mg/dL", 5, 20000),
    "cycle_length": Quantity("menstrual cycle length", "d", 20, 45, units={"days": "1", "day": "1"}),
    "vasopressor_dose": Quantity("vasopressor infusion rate", "ug/kg/min", 0, 500),
    "dose_mg": Quantity("dose", "mg", 0, 10000),
    "dose_ug": Quantity("dose", "ug", 0, 100000),
    "doses_per_day": Quantity("doses a day", "/d", 0, 48, units={"times/d": "1", "x/d": "1", "doses/d": "1"}),
    "fentanyl_patch_rate": Quantity("fentanyl patch delivery rate", "ug/h", 0, 1000),
}

_YES = {"true", "yes", "y", "1", "present", "positive", "+"}
_NO = {"false", "no", "n", "0", "absent", "negative", "-", "none"}


def _key(text: Any) -> str:
    return " ".join(str(text).strip().lower().replace("_", " ").split())


@dataclass(frozen=True)
class Input:
    """One declared input of a calculator.

    kind: "number" (float in `unit`, within [low, high]), "bool" (a finding, present/absent),
    "choice" (one of `options`: value -> label; `synonyms` maps other words to a value) or
    "date" (a `datetime.date`; text is read as M/D/Y, Y-M-D or with a month name).
    A required input has no default; a missing optional one takes `default`.
    """

    name: str
    kind: Literal["number", "bool", "choice", "date"]
    description: str
    required: bool = True
    default: Any = None
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    options: dict[Any, str] = field(default_factory=dict)
    synonyms: dict[str, Any] = field(default_factory=dict)
    quantity: str = ""  # the entry of QUANTITIES a number input measures, when not its own name

    def expects(self) -> str:
        """What a valid value looks like, for error messages and listings."""
        if self.kind == "number":
            return f"a number in {self.unit} between {self.low:g} and {self.high:g}"
        if self.kind == "bool":
            return "yes or no (missing = no)"
        if self.kind == "date":
            return "a date such as 02/28/2007 (MM/DD/YYYY) or 2007-02-28"
        return "one of " + ", ".join(f"{label!r} ({value})" for value, label in self.options.items())

    def label(self, value: Any) -> str:
        """How a coerced value reads in an explanation."""
        if self.kind == "bool":
            return "present" if value else "absent"
        if self.kind == "choice":
            return self.options[value]
        if self.kind == "date":
            return value.strftime("%m/%d/%Y")
        return f"{value:g} {self.unit}"

    def coerce(self, value: Any) -> Any:
        """The value a formula uses, or CalculatorInputError naming this input."""
        if self.kind == "number":
            return self._number(value)
        if self.kind == "bool":
            return self._bool(value)
        if self.kind == "date":
            return self._date(value)
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
            raise self._fail(value, f"outside the range this calculator accepts; was it given in another unit than {self.unit}?")
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

    def _date(self, value: Any) -> _dt.date:
        d = parse_date(value) if isinstance(value, (str, _dt.date)) else None
        if d is None:
            raise self._fail(value)
        return d

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


def number(name: str, *, low: float | None = None, high: float | None = None, required: bool = True,
           default: float | None = None, description: str = "", quantity: str = "") -> Input:
    """A numeric input from QUANTITIES (`quantity`, default its own name), optionally with a
    narrower range for one calculator."""
    q = QUANTITIES[quantity or name]
    return Input(name, "number", description or q.description, required=required, default=default,
                 unit=q.unit, low=q.low if low is None else low, high=q.high if high is None else high,
                 quantity=quantity if quantity and quantity != name else "")


def finding(name: str, description: str) -> Input:
    """A boolean finding; a missing finding counts as absent."""
    return Input(name, "bool", description, required=False, default=False)


def date(name: str, description: str) -> Input:
    """A required calendar date."""
    return Input(name, "date", description)


def choice(name: str, description: str, options: dict[Any, str], *, default: Any = None,
           synonyms: dict[str, Any] | None = None) -> Input:
    """One of a few graded options; required unless a default is given."""
    syn = {_key(k): v for k, v in (synonyms or {}).items()}
    return Input(name, "choice", description, required=default is None, default=default,
                 options=dict(options), synonyms=syn)


SEX = choice("sex", "sex", {"M": "male", "F": "female"}, synonyms={"man": "M", "woman": "F"})


# ---- numbers written with a unit ------------------------------------------------------------------

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


def to_canonical(inp: Input, value: float, unit: str | None) -> float:
    """`value` of the numeric input `inp`, given in `unit`, in the input's canonical unit, exactly
    (see the module docstring); InputUnitError names the accepted units when `unit` is not one.

    >>> to_canonical(number("temperature"), 100.4, "degrees Fahrenheit")
    38.0
    >>> to_canonical(number("age"), 30, "months"), to_canonical(number("wbc"), 11000, "cells/µL")
    (2.5, 11.0)
    """
    from simulator.variables import count_per_litre, exact, unit_key  # the registry loads lazily

    if unit is None or not str(unit).strip() or unit_key(unit) == unit_key(inp.unit):
        return float(value)
    q = QUANTITIES.get(inp.quantity or inp.name)
    local = dict(q.units) if q else {}
    if unit_key(inp.unit) in {unit_key(u) for u in MASS_UNITS}:
        base = Fraction(MASS_UNITS[next(u for u in MASS_UNITS if unit_key(u) == unit_key(inp.unit))])
        local.update({u: str(Fraction(f) / base) for u, f in MASS_UNITS.items()})
    for u, factor in local.items():
        if unit_key(u) == unit_key(unit):
            return float(exact(value) * exact(factor))
    registry_name = (q.registry if q and q.registry else inp.quantity or inp.name)
    variable = _registry_variable(registry_name)
    if variable is not None and unit_key(variable.unit) == unit_key(inp.unit):
        from simulator.errors import UnitError
        try:
            return variable.to_canonical(value, unit)
        except UnitError:
            pass
    given, canonical = count_per_litre(unit), count_per_litre(inp.unit)
    if given is not None and canonical is not None:
        return float(exact(value) * given / canonical)
    accepted = [inp.unit, *local, *(variable.accepted_units()[1:] if variable is not None else [])]
    raise InputUnitError(f"{inp.name}: unit {unit!r} is not accepted; use one of "
                         f"{', '.join(dict.fromkeys(accepted))}")


def _registry_variable(name: str):
    """The registry's variable `name`, or None when the registry has no such variable."""
    from simulator.errors import SimulatorError
    from simulator.variables import registry
    try:
        return registry().get(name)
    except KeyError:
        return None
    except (SimulatorError, OSError) as e:
        raise InputUnitError(f"{name}: the variable registry could not be loaded ({e}); give the value "
                             f"in its canonical unit without a unit") from None
