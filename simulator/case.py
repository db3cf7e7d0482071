"""A patient case: demographics, findings and measurements, plus the hidden label.

Measurements are stored in canonical units (`values`) and, for display, with the unit they were
reported in (`units`, canonical unless a case was proposed in other units or re-expressed).
`to_json()` writes the documented JSONL schema:

    {"seed": 7, "pack": "endocrinology", "age": 54, "sex": "F",
     "symptoms": ["polyuria", ...], "history": ["diabetes"], "tests": ["ketonuria"],
     "measurements": {"glucose": {"value": 512, "unit": "mg/dL", "ucum": "mg/dL"},
                      "sbp": {"value": 96, "unit": "mmHg", "ucum": "mm[Hg]"}, ...},
     "diagnosis": {"id": "E11.10", "name": "..."}}          # only with reveal=True

`unit` is spelled as clinicians write it (mmHg, °C, '' for a ratio; `simulator.render`), and
reads back to the same unit; `ucum` is the registry's code for it (UCUM for canonical units).

The label is never part of what a solver sees unless `reveal` is set explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Case:
    age: int
    sex: str
    values: dict[str, float]                       # canonical units, registry order
    findings: list[str]                            # present finding ids, registry order
    pack: str = ""
    seed: int | None = None
    label: str | None = None                       # hidden diagnosis id (engine-derived)
    label_name: str | None = None
    units: dict[str, str] = field(default_factory=dict)    # display unit per variable
    shown: dict[str, float] = field(default_factory=dict)  # value in display unit, when not canonical
    ignored: list[str] = field(default_factory=list)       # unknown names dropped by lenient parsing

    def facts(self) -> dict[str, Any]:
        """What the rule engine sees: variables, age, sex and present findings."""
        f: dict[str, Any] = dict(self.values)
        f["age"] = self.age
        f["sex"] = self.sex
        for x in self.findings:
            f[x] = True
        return f

    def to_json(self, registry, reveal: bool = False) -> dict[str, Any]:
        kinds = {"symptoms": [], "history": [], "tests": []}
        for fid in self.findings:
            kind = registry.findings[fid].kind
            kinds["history" if kind == "history" else "tests" if kind in ("ecg", "imaging", "test") else "symptoms"].append(fid)
        out: dict[str, Any] = {"seed": self.seed, "pack": self.pack, "age": self.age, "sex": self.sex, **kinds}
        from simulator.unit_spelling import reader_unit

        meas = {}
        for vid, v in self.values.items():
            var = registry.variables[vid]
            unit = self.units.get(vid, var.unit)
            value = self.shown.get(vid, v) if unit != var.unit else v
            meas[vid] = {"value": var.round(value) if unit == var.unit else round(value, 4),
                         "unit": reader_unit(var, unit), "ucum": unit}
        out["measurements"] = meas
        if reveal and self.label:
            out["diagnosis"] = {"id": self.label, "name": self.label_name}
        return out

    def dumps(self, registry, reveal: bool = False) -> str:
        return json.dumps(self.to_json(registry, reveal), ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True)
class Rejection:
    """A proposal that was refused. `reason` is a short category counted in training metrics
    (e.g. "parse", "schema", "implausible", "ambiguous", "duplicate"); `detail` says, for a
    person, what was wrong and how to fix it. Shared by every environment (azmed.envs.base)."""

    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """The grade of one answer. `parsed` is what was understood of it (None when nothing could be
    parsed: `formatted` is then False and a trainer applies its format penalty); `why` explains the
    grade to a person; `reason` names what was wrong with an unusable answer, countable in metrics. Shared by every environment (azmed.envs.base)."""

    correct: bool
    parsed: Any
    why: str
    formatted: bool = True
    reason: str | None = None      # a short category when the answer could not be used (e.g. "no-call")
