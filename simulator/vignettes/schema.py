"""The schema of calculator vignettes (`knowledge/calculators/`), loaded with errors that name the
file, the field and the fix, and checked against the calculators and the registry.

    from simulator.vignettes.schema import check_spec, load_spec
    extra, spec = load_spec()                  # RegistryFile (inputs.yaml), VignetteFile (vignettes.yaml)
    check_spec(spec, sim_registry)             # every calculator covered, every name known
    spec.calculators["cha2ds2_vasc"].quantity  # 'CHA2DS2-VASc score'

Two files: `inputs.yaml` extends the variable registry (same schema as knowledge/variables.yaml) with
the variables and findings calculators need; `vignettes.yaml` says how each input is drawn
(`FactSpec`), how inputs that are not registry entries of the same name are written (`Wording`),
the medicines and prescription words a regimen uses, and per calculator its question, population,
fitting pack diagnoses and overrides (`CalculatorSpec`). `check_spec` refuses a spec that leaves an
input of any calculator without a way to be drawn or written, names an unknown finding, option,
drug or reference, or has an expression that does not parse.

Limits: expressions are those of rule packs (simulator/expressions.py); dates are ISO strings.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator.errors import ExpressionError, PackError, PackErrors
from simulator.expressions import Expression
from simulator.datafiles import read_yaml, validation_errors
from simulator.packs import Prior
from simulator.variables import load_registry_file
from simulator.variables import KNOWLEDGE_DIR, RegistryFile

SPEC_DIR = KNOWLEDGE_DIR / "calculators"
INPUTS_FILE = SPEC_DIR / "inputs.yaml"
VIGNETTES_FILE = SPEC_DIR / "vignettes.yaml"
SECTIONS = ("hpi", "medications", "social", "assessment")
Probability = float | tuple[float, float]


def _as_text(v, items: bool = False):
    """Options as text: YAML reads GCS options (4, 3 ...) as numbers; options are matched as text.
    Keys of a mapping always; with `items`, the items of a list of options too."""
    if isinstance(v, dict):
        return {str(k): x for k, x in v.items()}
    if items and isinstance(v, list):
        return [str(x) for x in v]
    return v


class FactSpec(BaseModel):
    """How one fact (a calculator input or a context finding/value) is drawn."""

    model_config = ConfigDict(extra="forbid")
    p: Probability | None = Field(None, description="yes/no: probability present, or [at severity 0, at 1]; "
                                                    "number: probability the value is abnormal")
    range: tuple[float, float] | None = Field(None, description="number: value at severity 0 and 1 (canonical unit)")
    jitter: float = Field(0.12, ge=0, le=0.5, description="noise on severity for this fact")
    values: list[float] | dict[str, list[float]] | None = Field(
        None, description="number: one of these; with `by`, a list per option of that input")
    by: str | None = Field(None, description="the graded input whose option picks the list of `values`")
    expr: str | None = Field(None, description="computed from other facts (and `severity`, latents) when all known")
    sd: float = Field(0, ge=0, description="noise added to `expr` (numbers)")
    when: str | None = Field(None, description="condition; the fact is absent (or not given) when it is false")
    given: float | None = Field(None, ge=0, le=1, description="optional input: probability it is stated at all")
    weights: dict[str, float] | None = Field(None, description="graded input: option -> relative weight")
    ordered: list[str] | None = Field(None, description="graded input: options from best to worst, following severity")
    differs_from: str | None = Field(None, description="graded input: never the option of this other input")
    absorbs: list[str] = Field(default_factory=list, description="registry findings this item replaces")
    otherwise: str | None = Field(None, description="finding stated when this yes/no item is absent")
    between: tuple[str, str] | None = Field(None, description="date: uniformly between these ISO dates")
    after: str | None = Field(None, description="date: this many `days` after another date input")
    days: tuple[int, int] | None = None
    ref: str | None = Field(None, description="reference id for a claimed prevalence or range")

    @field_validator("weights", "ordered", "values", mode="before")
    @classmethod
    def _option_keys(cls, v, info):
        return _as_text(v, items=info.field_name == "ordered")


class Regimen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drug: str | None = Field(None, description="drug id (see `drugs`)")
    drug_from: str | None = Field(None, description="graded input whose option is the drug id")
    per_day: str | None = Field(None, description="input holding the doses a day")
    frequencies: list[int] = Field(default_factory=list, description="doses a day written when not an input")


class Wording(BaseModel):
    """How an input that is not a registry variable or finding of the same name is written."""

    model_config = ConfigDict(extra="forbid")
    options: dict[str, str] = Field(default_factory=dict, description="graded input: option -> finding id")
    unstated: float = Field(1.0, ge=0, le=1, description="probability the default option is left unstated "
                                                         "(else its finding, when it has one, is written)")
    deny: str | None = Field(None, description="finding a note may deny when the default option holds")
    negation_of: list[str] = Field(default_factory=list, description="yes/no: true when none of these is present")
    section: Literal["hpi", "medications", "social", "assessment"] | None = None
    date: list[str] = Field(default_factory=list, description="date: the labels written before it")
    regimen: Regimen | None = None
    question: bool = Field(False, description="stated in the question, not in the note")
    onset_days: dict[Literal["present", "absent"], tuple[float, float]] = Field(
        default_factory=dict, description="yes/no: days since symptom onset a note may write when present/absent")

    @field_validator("options", mode="before")
    @classmethod
    def _keys(cls, v):
        return _as_text(v)


class Drug(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(min_length=1)
    route: str
    unit: str


class Coupling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    expr: str
    sd: float = Field(0, ge=0)
    ref: str


class Bundles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pick: tuple[int, int] = Field(description="how many sets a case has, at least and at most")
    sets: dict[str, list[str]] = Field(min_length=1, description="inputs stated together")


class CalculatorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: str = Field(description="what the question asks for; {input} puts a question input in it")
    unit: str | None = Field(None, description="unit named in the question; none for scores and ratios")
    question: str | None = Field(None, description="question template with {quantity} and {unit}")
    reasons: list[str] = Field(default_factory=list, description="why a patient without symptoms is seen")
    population: Prior | None = Field(None, description="age and sex of patients made without a pack case")
    settings: list[str] = Field(default_factory=list, description="ICD-10 ids of fitting pack diagnoses, or 'any'")
    setting_share: float = Field(0.6, ge=0, le=1, description="share of cases built on a pack case")
    latents: dict[str, tuple[float, float]] = Field(default_factory=dict)
    facts: dict[str, FactSpec] = Field(default_factory=dict, description="context findings and values")
    inputs: dict[str, FactSpec] = Field(default_factory=dict, description="overrides of the shared input specs")
    hide: list[str] = Field(default_factory=list, description="registry values never written")
    bundles: Bundles | None = None


class VignetteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    references: dict[str, str] = Field(min_length=1)
    latents: dict[str, tuple[float, float]] = Field(default_factory=dict)
    couplings: list[Coupling] = Field(default_factory=list)
    inputs: dict[str, FactSpec] = Field(default_factory=dict)
    wording: dict[str, Wording] = Field(default_factory=dict)
    drugs: dict[str, Drug] = Field(default_factory=dict)
    routes: dict[str, list[str]] = Field(default_factory=dict)
    frequencies: dict[int, list[str]] = Field(default_factory=dict)
    unit_spellings: dict[str, list[str]] = Field(default_factory=dict)
    calculators: dict[str, CalculatorSpec]

    def fact_spec(self, calc_id: str, name: str) -> FactSpec:
        """The spec of input `name` for calculator `calc_id`: its override, else the shared one."""
        own = self.calculators[calc_id].inputs.get(name)
        shared = self.inputs.get(name)
        if own is None:
            return shared or FactSpec()
        if shared is None:
            return own
        merged = shared.model_dump(exclude_unset=True)
        merged.update(own.model_dump(exclude_unset=True))
        return FactSpec.model_validate(merged)

    def wording_of(self, name: str) -> Wording:
        return self.wording.get(name) or Wording()


# ---- loading -----------------------------------------------------------------------------------

def _read(path: Path, model):
    data, root = read_yaml(path)
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise validation_errors(path, exc, root) from None


@lru_cache(maxsize=4)
def load_spec(spec_dir: str | None = None) -> tuple[RegistryFile, VignetteFile]:
    """The registry extension and the vignette spec, parsed (schema errors name file, field and
    fix); `check_spec` checks them against a simulator's registry."""
    base = Path(spec_dir) if spec_dir else SPEC_DIR
    return load_registry_file(base / INPUTS_FILE.name), _read(base / VIGNETTES_FILE.name, VignetteFile)


def check_spec(spec: VignetteFile, registry, source: str = str(VIGNETTES_FILE)) -> None:
    """Every calculator covered, every input drawable and writable, every name known in
    `registry` (the simulator's, extended with the calculators' inputs); PackErrors lists all."""
    from simulator import calculators

    variables, findings = set(registry.variables), set(registry.findings)
    errors: list[PackError] = []

    def err(field: str, problem: str, fix: str) -> None:
        errors.append(PackError(source, field, problem, fix))

    def expression(field: str, text: str | None) -> None:
        if text:
            try:
                Expression.parse(text)
            except ExpressionError as exc:
                err(field, str(exc) + ".", "use the expression syntax of rule packs (simulator/expressions.py)")

    refs = set(spec.references) | set(registry.references)
    for i, c in enumerate(spec.couplings):
        expression(f"couplings[{i}].expr", c.expr)
        if c.ref not in refs:
            err(f"couplings[{i}].ref", f"reference {c.ref!r} is not declared.", "add it under 'references:'")
    for name, fs in spec.inputs.items():
        _check_fact(f"inputs.{name}", fs, findings, refs, err, expression)
    for name, w in spec.wording.items():
        for opt, fid in w.options.items():
            if fid not in findings:
                err(f"wording.{name}.options.{opt}", f"unknown finding {fid!r}.", f"declare it in {INPUTS_FILE.name}")
        for fid in [*w.negation_of, *([w.deny] if w.deny else [])]:
            if fid not in findings:
                err(f"wording.{name}", f"unknown finding {fid!r}.", f"declare it in {INPUTS_FILE.name}")
        if w.regimen and w.regimen.drug and w.regimen.drug not in spec.drugs:
            err(f"wording.{name}.regimen.drug", f"unknown drug {w.regimen.drug!r}.", "declare it under 'drugs:'")
    for did, d in spec.drugs.items():
        if d.route not in spec.routes:
            err(f"drugs.{did}.route", f"unknown route {d.route!r}.", "declare it under 'routes:'")
        if d.unit not in spec.unit_spellings:
            err(f"drugs.{did}.unit", f"no spellings for unit {d.unit!r}.", "add it under 'unit_spellings:'")
    missing = sorted(set(calculators.CALCULATORS) - set(spec.calculators))
    if missing:
        err("calculators", f"no vignette spec for {', '.join(missing)}.", "add an entry for each calculator")
    for cid, cs in spec.calculators.items():
        if cid not in calculators.CALCULATORS:
            err(f"calculators.{cid}", f"{cid!r} is not a calculator id.", "use an id from `azmed calc`")
            continue
        calc = calculators.CALCULATORS[cid]
        names = {i.name for i in calc.inputs}
        for name, fs in {**cs.facts, **cs.inputs}.items():
            _check_fact(f"calculators.{cid}.{name}", fs, findings, refs, err, expression)
        for name in cs.inputs:
            if name not in names:
                err(f"calculators.{cid}.inputs.{name}", f"{cid} has no input {name!r}.", "list only its inputs")
        for name in cs.facts:
            if name not in variables and name not in findings:
                err(f"calculators.{cid}.facts.{name}", f"unknown variable or finding {name!r}.",
                    f"declare it in {INPUTS_FILE.name}")
        for inp in calc.inputs:
            specified = inp.name in spec.inputs or inp.name in cs.inputs
            if inp.name in ("age", "sex") or not (inp.required or specified or _in_regimen(inp.name, spec)):
                continue             # an optional input no vignette states
            if not _writable(inp, spec, variables, findings):
                err(f"calculators.{cid}", f"input {inp.name!r} has no registry entry and no wording.",
                    f"declare it in {INPUTS_FILE.name} or under 'wording:'")
            if inp.required and not _drawable(inp, spec.fact_spec(cid, inp.name), spec, variables, findings):
                err(f"calculators.{cid}", f"required input {inp.name!r} has no way to be drawn.",
                    "give it a spec under 'inputs:'")
        known = variables | findings | names | set(spec.latents) | set(cs.latents) | {"age", "sex", "severity"}
        for name in {*cs.facts, *names}:
            fs = cs.facts.get(name) or spec.fact_spec(cid, name)
            for key in ("expr", "when"):
                text = getattr(fs, key)
                unknown = _names(text) - known if text else set()
                if unknown:
                    err(f"calculators.{cid}.{name}.{key}", f"unknown name(s) {', '.join(sorted(unknown))}.",
                        "use registry variables or findings, the calculator's inputs, latents, age, sex or severity")
        if cs.bundles:
            for set_name, members in cs.bundles.sets.items():
                for m in members:
                    if m not in names:
                        err(f"calculators.{cid}.bundles.{set_name}", f"{cid} has no input {m!r}.", "list its inputs")
    if errors:
        raise PackErrors(errors)


def _names(text: str) -> set[str]:
    try:
        return set(Expression.parse(text).names)
    except ExpressionError:
        return set()             # reported by `expression`


def _check_fact(field, fs: FactSpec, findings, refs, err, expression) -> None:
    expression(f"{field}.expr", fs.expr)
    expression(f"{field}.when", fs.when)
    for fid in [*fs.absorbs, *([fs.otherwise] if fs.otherwise else [])]:
        if fid not in findings:
            err(field, f"unknown finding {fid!r}.", f"declare it in {INPUTS_FILE.name}")
    if fs.ref and fs.ref not in refs:
        err(f"{field}.ref", f"reference {fs.ref!r} is not declared.", "add it under 'references:'")
    for d in fs.between or ():
        try:
            _dt.date.fromisoformat(d)
        except ValueError:
            err(f"{field}.between", f"{d!r} is not an ISO date.", "write YYYY-MM-DD")


def _writable(inp, spec: VignetteFile, variables, findings) -> bool:
    w = spec.wording.get(inp.name)
    if w is not None and (w.options or w.negation_of or w.date or w.regimen or w.question):
        return True
    if inp.kind == "number":
        return inp.name in variables or _in_regimen(inp.name, spec)
    if inp.kind == "bool":
        return inp.name in findings
    if inp.kind == "choice":
        return any(w.regimen and w.regimen.drug_from == inp.name for w in spec.wording.values())
    return False


def _in_regimen(name: str, spec: VignetteFile) -> bool:
    return any(w.regimen and w.regimen.per_day == name for w in spec.wording.values())


def _drawable(inp, fs: FactSpec, spec: VignetteFile, variables, findings) -> bool:
    if fs.expr or fs.values or fs.weights or fs.ordered or fs.between or fs.after:
        return True
    if inp.kind == "number":
        return inp.name in variables  # a registry value: its reference interval at least
    return inp.kind == "bool"
