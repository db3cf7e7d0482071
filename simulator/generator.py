"""Seeded case generation: hidden diagnosis -> severity -> demographics -> findings -> values ->
derived values -> hard limits -> the engine must re-derive exactly the seeded diagnosis.

Everything random comes from one `random.Random(seed)`, and every collection is walked in a
fixed order (registry order), so the same seed gives a byte-identical case. A sample the engine
labels differently (or that breaks a cross-variable constraint) is discarded and the next sample
is drawn from the same generator; the number of draws is kept for the pack report.

Sampling model (see simulator/packs.py): one severity in [0, 1] per case; a presentation
variable moves from `range[0]` (severity 0) to `range[1]` (severity 1), with per-variable jitter,
in log space for `scale: log` variables; with probability `1 - p` it takes a normal value instead.
Variables not in the presentation are drawn from their (sex-specific) reference interval as a
normal distribution with the interval as mean +- 2 SD. Then the physiology couplings
(`simulator.physiology`) compute or bound the coupled values (PaCO2 by Winter's formula in a
metabolic acidosis, pH by Henderson-Hasselbalch, osmolality from sodium, glucose and BUN, DBP
with SBP, ...), derived ones (MAP, anion gap, eGFR, BMI) are computed, findings are drawn, and the
finding couplings add or drop findings that the values imply or exclude (fever with temperature,
confusion with GCS, CKD history with eGFR, estrogen use only in women).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from simulator import criteria as C
from simulator.case import Case
from simulator.errors import SimulatorError
from simulator.expressions import Expression
from simulator.packs import Diagnosis, RulePack

VITALS = ("temperature", "heart_rate", "resp_rate", "sbp", "dbp", "spo2")
MAX_DRAWS = 200


@dataclass
class Plan:
    """Per-diagnosis precomputation: which variables a case shows, in registry order."""

    dx: Diagnosis
    pack: RulePack
    sampled: list[str]       # sampled variables (presentation or normal), registry order
    derived: list[tuple[str, Expression]]
    symptoms: list[tuple[str, float]]  # finding id -> probability, registry order
    presented: frozenset[str]          # variables the presentation sets
    departures: frozenset[str]         # couplings the diagnosis departs from


def make_plan(dx: Diagnosis, pack: RulePack, sim) -> Plan:
    reg = sim.registry
    wanted = set(VITALS) | set(pack.panel) | set(dx.presentation.variables)
    for other in [dx.id, *dx.differentials]:
        wanted |= sim.criteria_variables(other)
    for step in dx.management:  # what decides the first management step is measured too
        if step.when is not None:
            wanted |= C.names(C.parse(step.when))[0]
    wanted -= {"age", "sex"}
    # derived variables are computed, never sampled: sample what they are computed from; a coupled
    # target comes with its inputs (a pH with its PaCO2 and bicarbonate)
    derived_all = reg.ordered_derived()
    for _ in range(3):
        for vid, expr in derived_all:
            if vid in wanted:
                wanted |= expr.names - {"age", "female"}
        wanted = sim.physiology.companions(wanted)
    sampled = [vid for vid, var in reg.variables.items() if vid in wanted and not var.derive]
    # derived values whose inputs will really be there, in dependency order
    have, derived = set(sampled), []
    for vid, expr in derived_all:
        if (expr.names - {"age", "female"}) <= have:
            derived.append((vid, expr))
            have.add(vid)
    probs = dict(pack.background)
    probs.update(dx.presentation.history)
    probs.update(dx.presentation.symptoms)
    symptoms = [(f, probs[f]) for f in reg.findings if f in probs]
    return Plan(dx, pack, sampled, derived, symptoms, frozenset(dx.presentation.variables),
                frozenset(dx.departures))


def _normal_value(var, sex: str, rng: random.Random) -> float:
    lo, hi = var.normal_for(sex)
    if lo == hi:
        return lo
    if var.scale == "log":
        lo = max(lo, hi / 100.0, 1e-6)
        mu, sd = (math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / 4
        return math.exp(rng.gauss(mu, sd))
    return rng.gauss((lo + hi) / 2, (hi - lo) / 4)


def _presented_value(var, spec, severity: float, sex: str, rng: random.Random) -> float:
    if spec.p < 1.0 and rng.random() >= spec.p:
        return _normal_value(var, sex, rng)
    s = min(1.0, max(0.0, severity + rng.gauss(0.0, spec.jitter)))
    a, b = spec.range
    if var.scale == "log" and a > 0 and b > 0:
        return math.exp(math.log(a) + (math.log(b) - math.log(a)) * s)
    return a + (b - a) * s


def draw(plan: Plan, sim, rng: random.Random, sex: str | None = None, age: int | None = None,
         severity: float | None = None) -> Case:
    """One sample for the plan's diagnosis (not yet checked by the engine). `sex`, `age` and
    `severity` (0-1) are drawn from the diagnosis's prior unless given (a case specification
    fixes them, simulator/spec); when none is given the draws are those of `generate`."""
    reg = sim.registry
    dx = plan.dx
    prior = dx.prior
    if sex is None:
        sex = "F" if rng.random() < prior.female else "M"
    if age is None:
        age = int(round(min(prior.age.max, max(prior.age.min, rng.gauss(prior.age.mean, prior.age.sd)))))
    if severity is None:
        severity = rng.random()
    values: dict[str, float] = {}
    present = dx.presentation.variables
    for vid in plan.sampled:
        var = reg.variables[vid]
        spec = present.get(vid)
        x = _presented_value(var, spec, severity, sex, rng) if spec else _normal_value(var, sex, rng)
        lo, hi = var.limits
        values[vid] = var.round(min(hi, max(lo, x)))
    sim.physiology.apply_values(values, age, sex, plan.presented, plan.departures, rng)
    sampled_findings = [f for f, p in plan.symptoms if rng.random() < p]
    case = Case(age=age, sex=sex, values=values, findings=[], pack=plan.pack.pack)
    sim.add_derived(case)
    facts = case.facts()
    case.findings = sim.physiology.apply_findings(facts, sampled_findings, plan.departures)
    # registry order for every variable, so the JSON is stable and readable
    order = sim.variable_order
    case.values = dict(sorted(case.values.items(), key=lambda kv: order[kv[0]]))
    return case


def generate(plan: Plan, sim, rng: random.Random) -> tuple[Case, int]:
    """Draw until the engine derives exactly the plan's diagnosis; returns (case, draws)."""
    for n in range(1, MAX_DRAWS + 1):
        case = draw(plan, sim, rng)
        if sim.constraint_failure(case) is not None:
            continue
        outcome = sim.engine.label(case.facts())
        if outcome.label == plan.dx.id:
            case.label, case.label_name = plan.dx.id, plan.dx.name
            return case, n
    raise SimulatorError(f"{plan.pack.source}: diagnosis {plan.dx.id} ({plan.dx.name}): no generated case in "
                         f"{MAX_DRAWS} draws met its criteria without firing another rule. Fix: make the "
                         "presentation ranges satisfy the criteria, or distinguish it from its differentials")
