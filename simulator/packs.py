"""Rule packs: one YAML file per specialty, validated by pydantic, with errors a pack author can act on.

A pack declares its diagnoses (ICD-10 id, synonyms, priors by age and sex, presentation with a
severity latent, diagnostic criteria, differentials, first-line management, references) and may
extend the shared variable registry with variables and findings of its own. Adding a specialty
is adding a file: `load_packs()` picks up every `*.yaml` in `knowledge/` (except the registry)
and in any extra folder given.

Presentation, in a pack:

    presentation:
      symptoms: {polyuria: 0.8, vomiting: 0.5}      # probability each finding is present
      history:  {diabetes: 0.9}
      variables:
        glucose: [300, 700]                         # value at severity 0 -> severity 1
        temperature: {range: [38.3, 40.0], p: 0.7}  # abnormal in 70% of cases, else normal

Severity is one latent in [0, 1] per case shared by every variable, so values move together
(a sicker DKA patient has a lower bicarbonate *and* a higher glucose). Coupled values (the pH of
that bicarbonate, the osmolality of that sodium and glucose) follow the physiology couplings of
the registry (simulator/physiology.py); a diagnosis that departs from one by definition lists it
under `departures`.

Management is a list of first steps tried in order; the first whose `when` (criteria syntax)
holds on the case is the answer, and the last has no `when`:

    management:
      - when: {any: [seizure, confusion]}
        first_line: give a 150 mL bolus of 3% hypertonic saline over 20 minutes
        synonyms: [hypertonic saline]
        ref: spasovski2014
      - {first_line: restrict fluid intake, synonyms: [fluid restriction], ref: spasovski2014}

A single mapping is one unconditional step. See `knowledge/templates/new_pack.yaml` for a
complete small pack.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from simulator import criteria as C
from simulator import physiology
from simulator.errors import ExpressionError, PackError, PackErrors
from simulator.physiology import Coupling
from simulator.variables import KNOWLEDGE_DIR, Finding, Registry, RegistryFile, Variable, registry, registry_file

ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
REGISTRY_FILE = "variables.yaml"


class AgePrior(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean: float = Field(ge=18, le=100, description="mean age in years of people with the diagnosis")
    sd: float = Field(gt=0, le=40, description="standard deviation of age in years")
    min: float = Field(18, ge=18, description="youngest age generated (adults only)")
    max: float = Field(95, le=105, description="oldest age generated")


class Prior(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(1.0, gt=0, description="relative frequency among the pack's diagnoses")
    age: AgePrior
    female: float = Field(0.5, ge=0, le=1, description="share of patients who are female")


class VariableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    range: tuple[float, float] = Field(description="value at severity 0 and at severity 1 (canonical unit)")
    p: float = Field(1.0, ge=0, le=1, description="probability the variable is abnormal; else a normal value")
    jitter: float = Field(0.12, ge=0, le=0.5, description="noise on severity for this variable")


class Presentation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symptoms: dict[str, float] = Field(default_factory=dict, description="finding -> probability present")
    history: dict[str, float] = Field(default_factory=dict, description="history item -> probability")
    variables: dict[str, VariableSpec] = Field(default_factory=dict)

    @field_validator("variables", mode="before")
    @classmethod
    def _short_form(cls, v):
        if isinstance(v, dict):
            return {k: ({"range": s} if isinstance(s, list) else s) for k, s in v.items()}
        return v

    @field_validator("symptoms", "history")
    @classmethod
    def _probabilities(cls, v):
        bad = {k: p for k, p in v.items() if not 0 <= p <= 1}
        if bad:
            raise ValueError(f"probabilities must be between 0 and 1, got {bad}")
        return v


class Management(BaseModel):
    """One first management step. A diagnosis lists one or more; the first whose `when` holds on
    the case is the answer, so severity can change the step (the last has no `when`)."""

    model_config = ConfigDict(extra="forbid")
    when: Any = Field(None, description="criteria (same syntax as `criteria`) under which this is the first step")
    first_line: str = Field(description="the first management step, one short imperative phrase")
    synonyms: list[str] = Field(default_factory=list, description="other ways to say the first step")
    ref: str = Field(description="reference id for the management step")
    _condition: Any = PrivateAttr(None)

    def applies(self, facts) -> bool:
        """Whether this step's `when` holds on a case's facts (no `when`: always)."""
        if self.when is None:
            return True
        if self._condition is None:
            self._condition = C.parse(self.when, "management.when")
        return C.holds(self._condition, facts)


class Diagnosis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="ICD-10 code, e.g. E11.10")
    name: str
    synonyms: list[str] = Field(default_factory=list)
    prior: Prior
    presentation: Presentation
    criteria: Any = Field(description="diagnostic criteria (see simulator/criteria.py)")
    differentials: list[str] = Field(min_length=1, description="ICD-10 ids of confusable diagnoses")
    supersedes: list[str] = Field(default_factory=list,
                                  description="ids this diagnosis wins over when both rules fire")
    departures: list[str] = Field(default_factory=list,
                                  description="physiology couplings this diagnosis departs from by definition "
                                              "(e.g. pulse_pressure for cardiac tamponade)")
    management: list[Management] = Field(min_length=1, description="first management steps, first match wins")
    references: list[str] = Field(min_length=1, description="reference ids supporting this entry")

    @field_validator("management", mode="before")
    @classmethod
    def _one_step(cls, v):
        return [v] if isinstance(v, dict) else v

    def management_step(self, facts) -> tuple[int, Management]:
        """(index, step): the first management step whose `when` holds on a case's facts."""
        for i, m in enumerate(self.management):
            if m.applies(facts):
                return i, m
        return len(self.management) - 1, self.management[-1]

    @field_validator("id")
    @classmethod
    def _icd10(cls, v):
        if not ICD10.match(v):
            raise ValueError(f"{v!r} is not an ICD-10 code like 'E11.10' or 'J18.9'")
        return v


class RulePack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pack: str = Field(description="pack id: lowercase letters, digits, '_' or '-'")
    title: str
    version: str = "1"
    description: str = ""
    references: dict[str, str] = Field(min_length=1, description="reference id -> full citation")
    variables: dict[str, Variable] = Field(default_factory=dict, description="variables this pack adds")
    findings: dict[str, Finding] = Field(default_factory=dict, description="findings this pack adds")
    couplings: list[Coupling] = Field(default_factory=list, description="physiology couplings this pack adds")
    panel: list[str] = Field(default_factory=list, description="variables measured in every case of this pack")
    background: dict[str, float] = Field(default_factory=dict,
                                         description="history items present in any patient with this probability")
    diagnoses: list[Diagnosis] = Field(min_length=1)
    source: str = Field("", exclude=True)

    @field_validator("pack")
    @classmethod
    def _pack_id(cls, v):
        if not re.fullmatch(r"[a-z][a-z0-9_\-]*", v):
            raise ValueError(f"{v!r} must be lowercase letters, digits, '_' or '-', starting with a letter")
        return v

    @model_validator(mode="after")
    def _unique_ids(self):
        seen = set()
        for d in self.diagnoses:
            if d.id in seen:
                raise ValueError(f"diagnosis id {d.id} appears twice")
            seen.add(d.id)
        return self


# ---- loading with readable errors --------------------------------------------------------------
def _read_yaml(path: Path) -> tuple[Any, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(str(path), "", f"cannot read the file ({exc.strerror}).", "check the path") from None
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PackError(str(path), "", f"malformed YAML: {getattr(exc, 'problem', exc)}.",
                        "check indentation and quoting near that line (strings with ':' need quotes)", line) from None


def _line_of(node, loc: tuple) -> int | None:
    """Line of the YAML node at pydantic location `loc`, best effort."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def _field(loc: tuple) -> str:
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or check its spelling against the schema in simulator/packs.py",
    "float_parsing": "write a plain number",
    "int_parsing": "write a whole number",
    "string_type": "write a string",
    "list_type": "write a YAML list",
    "dict_type": "write a YAML mapping (key: value)",
    "too_short": "add at least one entry",
}


def _validation_errors(path: Path, exc: ValidationError, root) -> PackErrors:
    errors = []
    for e in exc.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = e["msg"].removeprefix("Value error, ")
        errors.append(PackError(str(path), _field(loc), msg[0].upper() + msg[1:] + ".",
                                _FIXES.get(e["type"], ""), _line_of(root, loc)))
    return PackErrors(errors)


def load_registry_file(path: Path) -> RegistryFile:
    data, root = _read_yaml(path)
    try:
        out = RegistryFile.model_validate(data or {})
    except ValidationError as exc:
        raise _validation_errors(path, exc, root) from None
    out._yaml_root = root  # type: ignore[attr-defined]  # for line numbers in semantic errors
    out._source = str(path)  # type: ignore[attr-defined]
    return out


def read_pack(path: str | Path) -> RulePack:
    """Parse and schema-check one pack file (semantic checks happen in `check_packs`)."""
    path = Path(path)
    data, root = _read_yaml(path)
    if not isinstance(data, dict):
        raise PackError(str(path), "", "a pack must be a YAML mapping with 'pack', 'title', 'references' "
                        "and 'diagnoses'.", "start from `azmed packs new NAME`")
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        raise _validation_errors(path, exc, root) from None
    pack.source = str(path)
    pack._yaml_root = root  # type: ignore[attr-defined]  # for line numbers in semantic errors
    return pack


def pack_files(extra_dirs: list[str | Path] = ()) -> list[Path]:
    files = sorted(p for p in KNOWLEDGE_DIR.glob("*.yaml") if p.name != REGISTRY_FILE)
    for d in extra_dirs:
        d = Path(d)
        files += [d] if d.is_file() else sorted(d.glob("*.yaml"))
    unique, seen = [], set()
    for f in files:  # a pack named twice (e.g. validating an installed file) is read once
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique


def build_registry(packs: list[RulePack]) -> Registry:
    """The shared registry plus every pack's own variables and findings."""
    base = registry()
    reg = Registry()
    reg.add(RegistryFile(references=base.references, variables=base.variables, findings=base.findings,
                         constraints=[c for c, _ in base.constraints], couplings=base.couplings))
    for p in packs:
        reg.add(RegistryFile(variables=p.variables, findings=p.findings, couplings=p.couplings))
    return reg


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_packs(packs: list[RulePack], reg: Registry) -> dict[str, C.Node]:
    """Semantic checks across packs; returns the parsed criteria per diagnosis id.

    Every name must be known, every range inside the variable's hard limits, differentials and
    supersedes must exist, criteria must be satisfiable, and no two diagnoses may share the
    same criteria (indistinguishable). All problems are collected and raised together.
    """
    errors: list[PackError] = []
    trees: dict[str, C.Node] = {}
    all_ids = {d.id: p for p in packs for d in p.diagnoses}
    if len(all_ids) != sum(len(p.diagnoses) for p in packs):
        seen = {}
        for p in packs:
            for d in p.diagnoses:
                if d.id in seen:
                    errors.append(PackError(p.source, f"diagnoses[{d.id}]", f"id {d.id} is already used by pack "
                                            f"'{seen[d.id]}'.", "give each diagnosis one home pack"))
                seen[d.id] = p.pack
    by_criteria: dict[str, str] = {}
    coupling_ids = _check_couplings(packs, reg, errors)
    for p in packs:
        root = getattr(p, "_yaml_root", None)

        def err(loc: tuple, problem: str, fix: str = ""):
            errors.append(PackError(p.source, _field(loc), problem, fix, _line_of(root, loc)))

        refs = set(p.references) | set(reg.references)
        for i, v in enumerate(p.panel):
            if v not in reg.variables:
                err(("panel", i), f"unknown variable '{v}'{_suggest(v, reg.variables)}.",
                    "use a variable id from knowledge/variables.yaml or declare it under 'variables:'")
        for f in p.background:
            if f not in reg.findings:
                err(("background", f), f"unknown finding '{f}'{_suggest(f, reg.findings)}.",
                    "declare it under 'findings:' or use an id from knowledge/variables.yaml")
        for vid, var in p.variables.items():
            if var.ref not in refs:
                err(("variables", vid, "ref"), f"reference '{var.ref}' is not declared.", "add it under 'references:'")
        for i, d in enumerate(p.diagnoses):
            base = ("diagnoses", i)
            for j, r in enumerate(d.references):
                if r not in refs:
                    err(base + ("references", j), f"reference '{r}' is not declared.", "add it under 'references:'")
            _check_management(d, reg, refs, lambda loc, *a: err(base + loc, *a))
            for j, dep in enumerate(d.departures):
                if dep not in coupling_ids:
                    err(base + ("departures", j), f"'{dep}' is not a physiology coupling{_suggest(dep, coupling_ids)}.",
                        "use a coupling id from `couplings:` in knowledge/variables.yaml or a pack")
            for kind in ("symptoms", "history"):
                for f in getattr(d.presentation, kind):
                    if f not in reg.findings:
                        err(base + ("presentation", kind, f), f"unknown finding '{f}'{_suggest(f, reg.findings)}.",
                            "declare it under 'findings:' or use an id from knowledge/variables.yaml")
            for vid, spec in d.presentation.variables.items():
                if vid not in reg.variables:
                    err(base + ("presentation", "variables", vid),
                        f"unknown variable '{vid}'{_suggest(vid, reg.variables)}.",
                        "use a variable id from knowledge/variables.yaml or declare it under 'variables:'")
                    continue
                var = reg.variables[vid]
                if var.derive:
                    err(base + ("presentation", "variables", vid),
                        f"'{vid}' is derived ({var.derive}) and cannot be sampled.",
                        f"set the variables it is computed from instead")
                lo, hi = var.limits
                if not all(lo <= x <= hi for x in spec.range):
                    err(base + ("presentation", "variables", vid, "range"),
                        f"range {list(spec.range)} leaves the hard limits {list(var.limits)} {var.unit}.",
                        f"keep values inside the limits (values are in {var.unit})")
            for j, dd in enumerate(d.differentials + d.supersedes):
                if dd not in all_ids:
                    field = "differentials" if j < len(d.differentials) else "supersedes"
                    err(base + (field,), f"'{dd}' is not a diagnosis in any loaded pack{_suggest(dd, all_ids)}.",
                        "use the ICD-10 id of a diagnosis defined in a pack")
                elif dd == d.id:
                    err(base + ("differentials",), f"{d.id} lists itself.", "remove it")
            tree = _parse_condition(d.criteria, "criteria", reg, lambda *a: err(base + ("criteria",), *a))
            if tree is None:
                continue
            key = str(tree)
            if key in by_criteria:
                err(base + ("criteria",), f"{d.id} has the same criteria as {by_criteria[key]}, so the engine "
                    "cannot tell them apart.", "add a distinguishing criterion")
            by_criteria[key] = d.id
            trees[d.id] = tree
    if errors:
        raise PackErrors(errors)
    return trees


def _parse_condition(spec, where: str, reg: Registry, err, what: str = "criteria") -> C.Node | None:
    """Parse criteria (or a management `when`) and check its names; `err(problem, fix)` reports."""
    try:
        tree = C.parse(spec, where)
    except ExpressionError as exc:
        err(str(exc) + ".", "see the criteria syntax in simulator/criteria.py")
        return None
    variables, findings = C.names(tree)
    for v in sorted(variables - set(reg.variables) - {"age", "sex"}):
        err(f"unknown variable '{v}'{_suggest(v, reg.variables)}.",
            "use a variable id from knowledge/variables.yaml or declare it under 'variables:'")
    for f in sorted(findings - set(reg.findings)):
        err(f"unknown finding '{f}'{_suggest(f, reg.findings)}.",
            "declare it under 'findings:' or use an id from knowledge/variables.yaml")
    why = C.contradiction(tree)
    if why:
        err(f"contradictory {what}: {why}.", "no patient can meet them; fix the thresholds")
        return None
    return tree


def _check_management(d: Diagnosis, reg: Registry, refs: set[str], err) -> None:
    """Each step cites a declared reference; every step but the last has a `when` that parses and
    names known values; the last has none, so every case of the diagnosis has a first step."""
    last = len(d.management) - 1
    for j, m in enumerate(d.management):
        loc = ("management",) if len(d.management) == 1 and j == 0 else ("management", j)
        if m.ref not in refs:
            err(loc + ("ref",), f"reference '{m.ref}' is not declared.", "add it under 'references:'")
        if m.when is None and j < last:
            err(loc, f"management step {j} has no 'when', so the steps after it are never used.",
                "give it a 'when' condition or move it to the end")
        if m.when is not None and j == last:
            err(loc + ("when",), "the last management step has a 'when'; a case that meets none of the "
                "conditions would have no first step.", "add a final step without 'when'")
        if m.when is not None:
            tree = _parse_condition(m.when, "when", reg, lambda *a: err(loc + ("when",), *a), "conditions")
            if tree is not None:
                m._condition = tree


def _check_couplings(packs: list[RulePack], reg: Registry, errors: list[PackError]) -> set[str]:
    """Semantic checks of the registry's and the packs' physiology couplings; returns their ids."""
    base = registry_file()
    sources = [(getattr(base, "_source", "knowledge/variables.yaml"), getattr(base, "_yaml_root", None),
                base.couplings, set(reg.references))]
    sources += [(p.source, getattr(p, "_yaml_root", None), p.couplings, set(p.references) | set(reg.references))
                for p in packs]
    seen: set[str] = set()
    for source, root, couplings, refs in sources:
        for i, c in enumerate(couplings):
            loc = ("couplings", i)
            found = physiology.problems(c, reg.variables, reg.findings)
            if c.id in seen:
                found.append(("id", f"coupling id '{c.id}' is used twice.", "give each coupling its own id"))
            if c.ref not in refs:
                found.append(("ref", f"reference '{c.ref}' is not declared.", "add it under 'references:'"))
            for field, problem, fix in found:
                errors.append(PackError(source, _field(loc + (field,)), problem, fix, _line_of(root, loc + (field,))))
            seen.add(c.id)
    return seen


def load_packs(names: list[str] | None = None, extra_dirs: list[str | Path] = ()) -> list[RulePack]:
    """Read every pack (or those named) from knowledge/ and `extra_dirs`."""
    packs, errors = [], []
    for f in pack_files(extra_dirs):
        try:
            packs.append(read_pack(f))
        except PackErrors as exc:
            errors += exc.errors
        except PackError as exc:
            errors.append(exc)
    if errors:
        raise PackErrors(errors)
    if names and names != ["all"]:
        known = {p.pack for p in packs}
        missing = [n for n in names if n not in known]
        if missing:
            raise PackError("knowledge/", "pack", f"no pack named {', '.join(missing)}; installed: "
                            f"{', '.join(sorted(known))}.", "run `azmed packs list`")
        packs = [p for p in packs if p.pack in names]
    return packs
