"""`Simulator`: the loaded packs, registry and engine, and the operations on cases.

    sim = Simulator.load()                         # all packs in knowledge/ (+ extra folders)
    case = sim.generate(seed=3, pack="cardiology") # engine-confirmed case with a hidden label
    result = sim.check(proposal_json)              # Case with engine label, or Rejection

The engine always holds the rules of every loaded pack, whatever pack a case is drawn from, so
a label means the same thing everywhere (a cardiology case that also meets an endocrine rule is
ambiguous, not silently cardiology).

What is built from a simulator once and reused (the notes' lexicon, the specification words,
the calculator vignettes' kit) is kept on the simulator with `memo`, so it lives and dies with
it; a module-level cache keyed by simulator would keep every simulator loaded in the process
alive, and with it its engine's durable-rules ruleset, whenever the cached value refers back to
the simulator.
"""

from __future__ import annotations

import copy
import random
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from simulator import criteria as C
from simulator.case import Case
from simulator.engine import Engine, RuleCompileError
from simulator.errors import PackError, SimulatorError
from simulator.generator import Plan, generate, make_plan
from simulator.packs import Diagnosis, Management, RulePack, build_registry, check_packs, load_packs
from simulator.physiology import Break, Physiology
from simulator.variables import RegistryFile


class Simulator:
    def __init__(self, packs: list[RulePack]):
        self.packs = {p.pack: p for p in packs}
        self.registry = build_registry(packs)
        self.trees = check_packs(packs, self.registry)
        self.physiology = Physiology(self.registry.couplings, self.registry)
        self.diagnoses: dict[str, Diagnosis] = {}
        self.pack_of: dict[str, str] = {}
        for p in packs:
            for d in p.diagnoses:
                self.diagnoses[d.id] = d
                self.pack_of[d.id] = p.pack
        try:
            self.engine = Engine(self.trees, {d.id: set(d.supersedes) for d in self.diagnoses.values()})
        except RuleCompileError as exc:
            dx = exc.diagnosis
            pack = self.packs.get(self.pack_of.get(dx, ""), None)
            index = next((i for i, d in enumerate(pack.diagnoses) if d.id == dx), 0) if pack else 0
            raise PackError(pack.source if pack else "knowledge/", f"diagnoses[{index}].criteria", str(exc) + ".",
                            "simplify the criteria of this diagnosis") from None
        self.variable_order = {v: i for i, v in enumerate(self.registry.variables)}
        self._plans: dict[str, Plan] = {}
        self._derived = self.registry.ordered_derived()
        self._memo: dict[str, Any] = {}

    @classmethod
    def load(cls, extra_dirs: list[str | Path] = ()) -> "Simulator":
        return cls(load_packs(extra_dirs=extra_dirs))

    def extended(self, extra: RegistryFile) -> "Simulator":
        """This simulator with more variables and findings in its registry (e.g. the inputs of the
        calculators, for calculator vignettes): the same packs, engine and labels; notes written
        and read with it know the extra names. The rules never refer to the extra entries."""
        other = copy.copy(self)
        other.registry = build_registry(list(self.packs.values()))
        other.registry.add(extra.model_copy(deep=True))
        other.physiology = Physiology(other.registry.couplings, other.registry)
        other.variable_order = {v: i for i, v in enumerate(other.registry.variables)}
        other._plans = {}
        other._derived = other.registry.ordered_derived()
        other._memo = {}
        return other

    def memo(self, key: str, build: Callable[["Simulator"], Any]) -> Any:
        """`build(self)`, built on first use and kept on this simulator under `key` (see the module
        docstring: it is released with the simulator)."""
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]

    # ---- lookups -------------------------------------------------------------------------------
    def criteria_variables(self, dx_id: str) -> set[str]:
        tree = self.trees.get(dx_id)
        return C.names(tree)[0] if tree is not None else set()

    def find_diagnosis(self, name: str) -> str:
        """Diagnosis id for an id or a name/synonym; raises SimulatorError listing close names."""
        if name in self.diagnoses:
            return name
        dx = self.diagnosis_index.lookup(name)
        if dx is None:
            raise SimulatorError(f"unknown diagnosis {name!r}; use an ICD-10 id or a name from `azmed packs list`")
        return dx

    @cached_property
    def diagnosis_index(self):
        from simulator.verify import DiagnosisIndex

        return DiagnosisIndex(self.diagnoses.values())

    def plan(self, dx_id: str) -> Plan:
        plan = self._plans.get(dx_id)
        if plan is None:
            plan = self._plans[dx_id] = make_plan(self.diagnoses[dx_id], self.packs[self.pack_of[dx_id]], self)
        return plan

    # ---- derived values and constraints --------------------------------------------------------
    def add_derived(self, case: Case) -> None:
        """Compute every derived variable whose inputs the case has (overwrites given values)."""
        scope = dict(case.values)
        scope["age"] = case.age
        scope["female"] = case.sex == "F"
        for vid, expr in self._derived:
            if all(n in scope for n in expr.names):
                var = self.registry.variables[vid]
                try:
                    value = var.round(expr.evaluate(scope))
                except (ZeroDivisionError, ValueError, OverflowError):
                    continue
                scope[vid] = case.values[vid] = value

    def constraint_failure(self, case: Case) -> str | None:
        """The message of the first cross-variable constraint the case breaks, else None."""
        vals = case.values
        for c, expr in self.registry.constraints:
            if all(n in vals for n in expr.names) and not expr.evaluate(vals):
                return c.message
        for vid, v in vals.items():
            lo, hi = self.registry.variables[vid].limits
            if not lo <= v <= hi:
                var = self.registry.variables[vid]
                return f"{var.name} {v:g} {var.unit} is outside the physiological limits {lo:g}-{hi:g} {var.unit}"
        return None

    def physiology_breaks(self, case: Case, diagnosis: str | None = None) -> list[Break]:
        """The physiology couplings a case breaks, except those `diagnosis` departs from."""
        departures = self.diagnoses[diagnosis].departures if diagnosis in self.diagnoses else ()
        return self.physiology.breaks(case, frozenset(departures))

    # ---- management and options ----------------------------------------------------------------
    def management_step(self, case: Case, diagnosis: str | None = None) -> tuple[int, Management]:
        """(index, step): the first management step of the case's diagnosis that fits the case."""
        return self.diagnoses[diagnosis or case.label].management_step(case.facts())

    @cached_property
    def nesting(self) -> dict[str, set[str]]:
        """Per diagnosis, the diagnoses linked to it by a chain of `supersedes`, either way."""
        from simulator.options import nesting

        return nesting(self)

    def options(self, case: Case, n: int, rng: random.Random) -> list[str]:
        """`n` diagnosis ids for a multiple-choice question on a labelled case, the label among them
        (see simulator/options.py: no option fires on the case or is nested with the label)."""
        from simulator.options import fair_options

        return fair_options(self, case, n, rng)

    # ---- generation ----------------------------------------------------------------------------
    def eligible(self, pack: str | None = None) -> list[str]:
        if pack in (None, "all"):
            return list(self.diagnoses)
        if pack not in self.packs:
            raise SimulatorError(f"no pack named {pack!r}; installed: {', '.join(sorted(self.packs))}")
        return [d.id for d in self.packs[pack].diagnoses]

    def choose_diagnosis(self, rng: random.Random, pack: str | None = None) -> str:
        """A pack uniformly (when 'all'), then a diagnosis by its prior weight."""
        if pack in (None, "all"):
            pack = rng.choice(sorted(self.packs))
        dxs = self.packs[pack].diagnoses
        return rng.choices([d.id for d in dxs], weights=[d.prior.weight for d in dxs])[0]

    def generate(self, seed: int, pack: str | None = None, diagnosis: str | None = None) -> Case:
        case, _ = self.generate_counted(seed, pack, diagnosis)
        return case

    def generate_counted(self, seed: int, pack: str | None = None, diagnosis: str | None = None) -> tuple[Case, int]:
        rng = random.Random(seed)
        dx = self.find_diagnosis(diagnosis) if diagnosis else self.choose_diagnosis(rng, pack)
        case, draws = generate(self.plan(dx), self, rng)
        case.seed = seed
        return case, draws

    # ---- proposals -----------------------------------------------------------------------------
    def check(self, proposal):
        """Validate a proposed case (dict or JSON text) -> Case with engine label, or Rejection."""
        from simulator.validation import validate_case

        return validate_case(self, proposal)
