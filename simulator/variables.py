"""The variable registry: what can be measured on a patient, in which units, within which limits.

`knowledge/variables.yaml` declares every numeric variable (vitals, labs, blood gas, cardiac and
endocrine markers, urine, bedside scores) with
- a canonical unit (UCUM-style) and accepted alternative units with their conversion
  (canonical = value * factor + offset), e.g. creatinine µmol/L -> mg/dL, °F -> °C;
- hard physiological limits (outside them a value is impossible, not abnormal);
- an adult reference interval, by sex where it differs;
- a LOINC code where one exists, and a reference for the ranges;
and every boolean finding (symptom, sign, history item) with its display name and synonyms.
Rule packs may add variables and findings of their own. Derived variables (MAP, anion gap,
eGFR, BMI) carry an expression and are always computed, never sampled or trusted. The physiology
couplings between variables (PaCO2 by Winter's formula, pH by Henderson-Hasselbalch, ...) are
listed under `couplings:` and compiled by `simulator.physiology`.

    >>> reg = registry()
    >>> round(reg.get("creatinine").to_canonical(88.42, "µmol/L"), 3)
    1.0
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from simulator.errors import UnitError
from simulator.expressions import Expression
from simulator.physiology import Coupling

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"


def unit_key(unit: str) -> str:
    """Normalise a unit string for lookup, so the spellings clinicians write meet one key: case,
    spaces, micro and degree signs, 'per', count nouns ("beats per minute" = "/min", "cells/µL"
    = "/uL"), µL = mm3, powers of ten ("x 10^9/L" = "10*9/L" = "10⁹/L"), "degrees Fahrenheit".

    >>> unit_key(" µmol/L "), unit_key("umol/l"), unit_key("°F"), unit_key("mEq / L")
    ('umol/l', 'umol/l', 'degf', 'meq/l')
    >>> unit_key("beats per minute"), unit_key("breaths/min"), unit_key("degrees Fahrenheit")
    ('/min', '/min', 'degf')
    >>> unit_key("cells/mm^3"), unit_key("x 10^9/L"), unit_key("10*9/L"), unit_key("×10⁹/L")
    ('/ul', '10^9/l', '10^9/l', '10^9/l')
    """
    u = str(unit).strip().lower().replace(" ", "")
    u = u.replace("\u00b5", "u").replace("\u03bc", "u").replace("mcg", "ug")
    u = u.replace("°", "deg").replace("degrees", "deg").replace("degree", "deg").replace("per", "/")
    u = u.replace("[", "").replace("]", "").replace("{", "").replace("}", "")
    u = re.sub(r"fahr[a-z]*", "f", u)            # "fahrenheit" and its misspellings
    u = re.sub(r"cels[a-z]*|centigrade", "c", u)  # "celsius", "celcius", ...
    u = re.sub(r"minutes?$", "min", u)
    u = re.sub(r"/days?$", "/d", re.sub(r"/(?:hours?|hrs?)$", "/h", u))
    u = re.sub(r"^(?:beats|breaths|cells|counts?|#)(?=/)", "", u)  # a counted noun is dimensionless
    u = re.sub(r"10([\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)", lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS), u)
    u = u.replace("\u00d7", "x").replace("*", "^")
    u = re.sub(r"^x(?=10\^)", "", u)
    u = re.sub(r"mm\^?3|cumm", "ul", u)           # 1 mm3 = 1 µL
    u = re.sub(r"m(?:\^2|\u00b2)", "m2", u)        # kg/m^2, kg/m²
    return u


_SUPERSCRIPTS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079", "0123456789")
_COUNT_UNIT = re.compile(r"^(?:10\^(\d+))?/(l|dl|ml|ul|nl)$")
_LITRES = {"l": Fraction(1), "dl": Fraction(1, 10), "ml": Fraction(1, 1000), "ul": Fraction(1, 10**6),
           "nl": Fraction(1, 10**9)}


def count_per_litre(unit: str) -> Fraction | None:
    """How many items per litre one unit of a count concentration is ("10*3/uL" -> 10^9,
    "cells/L" -> 1); None when `unit` is not a count per volume.

    >>> count_per_litre("10*3/uL") == 10**9, count_per_litre("/mm3") == 10**6, count_per_litre("mg/dL")
    (True, True, None)
    """
    m = _COUNT_UNIT.match(unit_key(unit))
    if m is None:
        return None
    return Fraction(10) ** int(m.group(1) or 0) / _LITRES[m.group(2)]


def exact(x: float | int | str) -> Fraction:
    """A number as the exact decimal it is written as (100.4 is 502/5, not the nearest binary
    float), or an exact ratio written "5/9". Conversions use these so that thresholds hold:
    100.4 °F is exactly 38 °C."""
    if isinstance(x, str):
        return Fraction(x.strip())
    return Fraction(repr(float(x))) if isinstance(x, float) else Fraction(x)


class Conversion(BaseModel):
    """canonical = (value + shift) x factor + offset, computed exactly (see `exact`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    factor: float | str = Field(description="scale; a number or an exact ratio such as '5/9'")
    offset: float = Field(0.0, description="added after scaling (HbA1c IFCC)")
    shift: float = Field(0.0, description="added before scaling: °F -> °C is (value - 32) x 5/9, shift -32")

    @field_validator("factor")
    @classmethod
    def _ratio(cls, v):
        try:
            ok = exact(v) != 0
        except (ValueError, ZeroDivisionError):
            ok = False
        if not ok:  # reported like any number that does not parse (the pack loader adds its fix)
            raise PydanticCustomError("float_parsing", "factor {value!r} must be a non-zero number or a ratio "
                                      "such as '5/9'", {"value": v})
        return v

    def apply(self, value: float) -> float:
        return float((exact(value) + exact(self.shift)) * exact(self.factor) + exact(self.offset))

    def invert(self, value: float) -> float:
        return float((exact(value) - exact(self.offset)) / exact(self.factor) - exact(self.shift))


class Variable(BaseModel):
    """One measurable quantity."""

    model_config = ConfigDict(extra="forbid")
    id: str = ""
    name: str = Field(description="display name, e.g. 'Serum sodium'")
    aliases: list[str] = Field(default_factory=list, description="other names people write")
    category: Literal["demographic", "vital", "blood_count", "chemistry", "blood_gas", "cardiac",
                      "endocrine", "inflammation", "urine", "bedside", "lung_function", "coagulation",
                      "liver", "other"]
    unit: str = Field(description="canonical unit (UCUM-style)")
    units: dict[str, Conversion | float | str] = Field(
        default_factory=dict, description="accepted alternative unit -> factor or {factor, offset}")
    limits: tuple[float, float] = Field(description="hard physiological limits [low, high]")
    normal: tuple[float, float] | dict[Literal["M", "F"], tuple[float, float]] = Field(
        description="adult reference interval [low, high], or {M: [...], F: [...]}")
    scale: Literal["linear", "log"] = Field("linear", description="'log' for skewed markers")
    decimals: int = Field(0, ge=0, le=4, description="decimals kept when a value is rounded")
    loinc: str | None = Field(None, description="LOINC code, where one exists")
    derive: str | None = Field(None, description="expression that computes this variable exactly")
    ref: str = Field(description="id of the reference for the ranges (see `references`)")

    @field_validator("units", mode="after")
    @classmethod
    def _conversions(cls, v):
        return {k: (c if isinstance(c, Conversion) else Conversion(factor=c)) for k, c in v.items()}

    @model_validator(mode="after")
    def _ranges(self):
        lo, hi = self.limits
        if not lo < hi:
            raise ValueError(f"limits must be [low, high] with low < high, got {list(self.limits)}")
        for sex, (nlo, nhi) in self.normal_by_sex().items():
            if not (lo <= nlo <= nhi <= hi):
                raise ValueError(f"normal range {[nlo, nhi]} ({sex}) must lie inside limits {list(self.limits)}")
        return self

    def normal_by_sex(self) -> dict[str, tuple[float, float]]:
        if isinstance(self.normal, dict):
            return {s: tuple(self.normal[s]) for s in ("M", "F") if s in self.normal}
        return {"M": tuple(self.normal), "F": tuple(self.normal)}

    def normal_for(self, sex: str) -> tuple[float, float]:
        ranges = self.normal_by_sex()
        return ranges.get(sex) or next(iter(ranges.values()))

    @functools.cached_property
    def _unit_table(self) -> dict[str, Conversion]:
        table = {unit_key(self.unit): Conversion(factor=1.0)}
        for u, c in self.units.items():
            table[unit_key(u)] = c
        return table

    def accepted_units(self) -> list[str]:
        return [self.unit, *self.units]

    def _conversion(self, unit: str) -> Conversion:
        conv = self._unit_table.get(unit_key(unit))
        if conv is None:  # any count per volume converts to another ("cells/L", "x10^9/L", "/µL")
            given, canonical = count_per_litre(unit), count_per_litre(self.unit)
            if given is not None and canonical is not None:
                return Conversion(factor=str(given / canonical))
            raise UnitError(f"{self.id}: unit {unit!r} is not accepted; use one of "
                            f"{', '.join(self.accepted_units())}")
        return conv

    def to_canonical(self, value: float, unit: str | None) -> float:
        """Convert `value` given in `unit` (None = canonical) to the canonical unit, exactly:
        100.4 °F is 38.0 °C, not 38.0000044."""
        if unit is None or unit == "" or unit == self.unit:
            return float(value)
        return self._conversion(unit).apply(value)

    def from_canonical(self, value: float, unit: str) -> float:
        return self._conversion(unit).invert(value)

    def round(self, value: float) -> float | int:
        v = round(float(value), self.decimals)
        return int(v) if self.decimals == 0 else v

    def is_abnormal(self, value: float, sex: str) -> bool:
        lo, hi = self.normal_for(sex)
        return value < lo or value > hi


class Finding(BaseModel):
    """A boolean finding: present or absent."""

    model_config = ConfigDict(extra="forbid")
    id: str = ""
    name: str = Field(description="display name, e.g. 'chest pain'")
    kind: Literal["symptom", "sign", "history", "imaging", "ecg", "test"] = "symptom"
    aliases: list[str] = Field(default_factory=list)


class Constraint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expr: str = Field(description="must hold whenever all its variables are present, e.g. 'sbp > dbp'")
    message: str = Field(description="what is wrong when it fails, for a person")


class RegistryFile(BaseModel):
    """The schema of knowledge/variables.yaml (and of the `variables`/`findings` of packs)."""

    model_config = ConfigDict(extra="forbid")
    references: dict[str, str] = Field(default_factory=dict, description="reference id -> citation")
    variables: dict[str, Variable] = Field(default_factory=dict)
    findings: dict[str, Finding] = Field(default_factory=dict)
    constraints: list[Constraint] = Field(default_factory=list)
    couplings: list[Coupling] = Field(default_factory=list,
                                      description="physiology couplings (see simulator/physiology.py)")


class Registry:
    """All variables and findings known to a set of packs, with name lookup."""

    def __init__(self):
        self.variables: dict[str, Variable] = {}
        self.findings: dict[str, Finding] = {}
        self.references: dict[str, str] = {}
        self.constraints: list[tuple[Constraint, Expression]] = []
        self.couplings: list[Coupling] = []
        self._names: dict[str, str] = {}
        self.derived: dict[str, Expression] = {}

    # -- building ------------------------------------------------------------------------------
    def add(self, data: RegistryFile) -> None:
        self.references.update(data.references)
        for vid, var in data.variables.items():
            var.id = vid
            self.variables[vid] = var
            if var.derive:
                self.derived[vid] = Expression.parse(var.derive)
            for n in (vid, var.name, *var.aliases):
                self._names.setdefault(_name_key(n), vid)
        for fid, f in data.findings.items():
            f.id = fid
            self.findings[fid] = f
            for n in (fid, f.name, *f.aliases):
                self._names.setdefault(_name_key(n), fid)
        for c in data.constraints:
            self.constraints.append((c, Expression.parse(c.expr)))
        self.couplings.extend(data.couplings)

    # -- lookup --------------------------------------------------------------------------------
    def get(self, name: str) -> Variable:
        vid = self._names.get(_name_key(name))
        if vid is None or vid not in self.variables:
            raise KeyError(f"unknown variable {name!r}")
        return self.variables[vid]

    def resolve(self, name: str) -> str | None:
        """Canonical id of a variable or finding named `name` (id, display name or alias)."""
        return self._names.get(_name_key(name))

    def ordered_derived(self) -> list[tuple[str, Expression]]:
        """Derived variables in dependency order (a derived value may use another)."""
        done: list[tuple[str, Expression]] = []
        pending = dict(self.derived)
        while pending:
            ready = [v for v, e in pending.items() if not (e.names & set(pending))]
            if not ready:
                raise ValueError(f"derived variables depend on each other in a cycle: {sorted(pending)}")
            for v in ready:
                done.append((v, pending.pop(v)))
        return done


def _name_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name).strip().lower())


@functools.lru_cache(maxsize=1)
def registry_file() -> RegistryFile:
    """knowledge/variables.yaml as read (with its YAML tree, for line numbers in errors)."""
    from simulator.packs import load_registry_file

    return load_registry_file(KNOWLEDGE_DIR / "variables.yaml")


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    """The shared registry from knowledge/variables.yaml (packs' own entries not included)."""
    reg = Registry()
    reg.add(registry_file())
    return reg
