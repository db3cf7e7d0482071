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
eGFR, BMI) carry an expression and are always computed, never sampled or trusted.

    >>> reg = registry()
    >>> round(reg.get("creatinine").to_canonical(88.42, "µmol/L"), 3)
    1.0
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.datafiles import read_yaml, validation_errors
from simulator.errors import UnitError
from simulator.expressions import Expression

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"


def unit_key(unit: str) -> str:
    """Normalise a unit string for lookup: case, spaces, micro signs, degree signs, 'per'.

    >>> unit_key(" µmol/L "), unit_key("umol/l"), unit_key("°F"), unit_key("mEq / L")
    ('umol/l', 'umol/l', 'degf', 'meq/l')
    """
    u = str(unit).strip().lower().replace(" ", "")
    u = u.replace("\u00b5", "u").replace("\u03bc", "u").replace("mcg", "ug")
    u = u.replace("°", "deg").replace("degrees", "deg").replace("per", "/")
    u = u.replace("[", "").replace("]", "").replace("{", "").replace("}", "")
    u = re.sub(r"/l$", "/l", u)
    return u


class Conversion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    factor: float = Field(description="canonical = value * factor + offset")
    offset: float = Field(0.0, description="added after scaling (temperatures, HbA1c IFCC)")


class Coupling(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    expr: str = Field(description="expression of other variables, e.g. 'hemoglobin * 3'")
    sd: float = Field(ge=0, description="standard deviation of the noise added (canonical unit)")


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
    units: dict[str, Conversion | float] = Field(
        default_factory=dict, description="accepted alternative unit -> factor or {factor, offset}")
    limits: tuple[float, float] = Field(description="hard physiological limits [low, high]")
    normal: tuple[float, float] | dict[Literal["M", "F"], tuple[float, float]] = Field(
        description="adult reference interval [low, high], or {M: [...], F: [...]}")
    scale: Literal["linear", "log"] = Field("linear", description="'log' for skewed markers")
    decimals: int = Field(0, ge=0, le=4, description="decimals kept when a value is rounded")
    loinc: str | None = Field(None, description="LOINC code, where one exists")
    derive: str | None = Field(None, description="expression that computes this variable exactly")
    coupled: Coupling | None = Field(None, description="when not set by a presentation, sampled as "
                                     "expr + normal noise (e.g. hematocrit ~ 3 x hemoglobin)")
    ref: str = Field(description="id of the reference for the ranges (see `references`)")

    @field_validator("units", mode="after")
    @classmethod
    def _conversions(cls, v):
        return {k: (c if isinstance(c, Conversion) else Conversion(factor=float(c))) for k, c in v.items()}

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

    def to_canonical(self, value: float, unit: str | None) -> float:
        """Convert `value` given in `unit` (None = canonical) to the canonical unit."""
        if unit is None or unit == "" or unit == self.unit:
            return float(value)
        conv = self._unit_table.get(unit_key(unit))
        if conv is None:
            raise UnitError(f"{self.id}: unit {unit!r} is not accepted; use one of "
                            f"{', '.join(self.accepted_units())}")
        return float(value) * conv.factor + conv.offset

    def from_canonical(self, value: float, unit: str) -> float:
        conv = self._unit_table.get(unit_key(unit))
        if conv is None:
            raise UnitError(f"{self.id}: unit {unit!r} is not accepted; use one of "
                            f"{', '.join(self.accepted_units())}")
        return (float(value) - conv.offset) / conv.factor

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


class Registry:
    """All variables and findings known to a set of packs, with name lookup."""

    def __init__(self):
        self.variables: dict[str, Variable] = {}
        self.findings: dict[str, Finding] = {}
        self.references: dict[str, str] = {}
        self.constraints: list[tuple[Constraint, Expression]] = []
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


def load_registry_file(path: Path) -> RegistryFile:
    """A registry file (knowledge/variables.yaml, or a pack's own entries), schema-checked."""
    data, root = read_yaml(path)
    try:
        return RegistryFile.model_validate(data or {})
    except ValidationError as exc:
        raise validation_errors(path, exc, root) from None


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    """The shared registry from knowledge/variables.yaml (packs' own entries not included)."""
    reg = Registry()
    reg.add(load_registry_file(KNOWLEDGE_DIR / "variables.yaml"))
    return reg
