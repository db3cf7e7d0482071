"""Physiology couplings: how the values and findings of one patient constrain each other.

Couplings are data (`couplings:` in knowledge/variables.yaml, and in packs), each citing the source
of its formula. Two kinds:

- A *numeric* coupling computes a `target` variable from others: `expr` is its expected value,
  `low` and `high` (expressions that may use `expected`) bound what is physiologically possible,
  and `when` (criteria syntax, variables only) limits it to a state. Examples: PaCO2 by Winter's
  formula in a metabolic acidosis (`when: bicarbonate < 22`), the pH by Henderson-Hasselbalch.
  With `with_inputs` (the default) the target is never reported without its inputs: a pH comes
  from a blood gas that also reports the PaCO2 and bicarbonate.
- A *finding* coupling ties a finding to values: the finding may be present only when `requires`
  holds (a CKD history needs eGFR < 60 or albuminuria; estrogen use needs sex == 'F') and must be
  present when `implied_by` holds (fever at a temperature of 38.3 C or more).

Generation follows the couplings (`apply_values`, `apply_findings`): a target that the
diagnosis's presentation does not set becomes its expected value plus normal noise `sd`, kept
inside its bounds; a presented target is moved into them; findings are added or dropped.
Proposal validation enforces them (`breaks`, `missing_inputs`): a case that breaks one is
implausible unless its diagnosis declares the departure (`departures: [pulse_pressure]` on cardiac
tamponade). `azmed packs report` counts, per diagnosis, the generated cases that break each one.

    phys = Physiology(registry.couplings, registry)
    phys.breaks(case)                    # [Break('winter', 'Arterial PaCO2 30 mmHg breaks ...')]

Numeric couplings are applied in the order they are declared (registry first, then packs), so a
coupling may use a target computed before it (the pH after PaCO2 and bicarbonate). Limits: one
expected value per state (no acute/chronic distinction beyond a coupling's bounds); a coupling is
checked only when all its variables are in the case; Winter's formula applies to every
bicarbonate below 22, so a primary respiratory alkalosis with renal compensation, which no pack
diagnosis has, is refused as a mixed disorder.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator import criteria as C
from simulator.errors import ExpressionError
from simulator.expressions import Expression

SCOPE_EXTRA = frozenset({"age", "female"})  # names an expression may use besides variables


class Coupling(BaseModel):
    """One physiology coupling, as written in the registry or a pack (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="short id, e.g. 'winter'; diagnoses name it in `departures`")
    name: str = Field(description="display name, e.g. \"Winter's formula\"")
    target: str | None = Field(None, description="numeric coupling: the variable it computes")
    expr: str | None = Field(None, description="numeric coupling: expected value of the target")
    low: str | None = Field(None, description="lowest possible value (may use 'expected'); none = unbounded")
    high: str | None = Field(None, description="highest possible value (may use 'expected'); none = unbounded")
    sd: float = Field(0.0, ge=0, description="noise added around the expected value when generating")
    when: Any = Field(None, description="numeric coupling: criteria (variables only) under which it applies")
    with_inputs: bool = Field(True, description="the target is only ever reported with its inputs")
    finding: str | None = Field(None, description="finding coupling: the finding it constrains")
    requires: Any = Field(None, description="the finding may be present only when these criteria hold")
    implied_by: Any = Field(None, description="the finding must be present when these criteria hold")
    why: str = Field(description="one sentence saying what the coupling means, shown in rejections")
    ref: str = Field(description="reference id of the formula or definition")

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.target is None) == (self.finding is None):
            raise ValueError("a coupling has either 'target' (numeric) or 'finding', not both or neither")
        if self.target is not None:
            if not self.expr:
                raise ValueError(f"coupling '{self.id}' needs 'expr', the expected value of '{self.target}'")
            if self.requires is not None or self.implied_by is not None:
                raise ValueError(f"coupling '{self.id}': 'requires'/'implied_by' belong to finding couplings")
        else:
            if self.requires is None and self.implied_by is None:
                raise ValueError(f"coupling '{self.id}' needs 'requires' or 'implied_by'")
            extra = [k for k in ("expr", "low", "high", "when") if getattr(self, k) is not None]
            if extra or self.sd:
                raise ValueError(f"coupling '{self.id}': {', '.join(extra) or 'sd'} belong to numeric couplings")
        return self


@dataclass(frozen=True)
class Break:
    """A coupling a case breaks: its id and a sentence saying what is wrong and how to fix it."""

    coupling: str
    message: str


@dataclass(frozen=True)
class _Numeric:
    spec: Coupling
    expected: Expression
    low: Expression | None
    high: Expression | None
    when: C.Node | None
    inputs: frozenset[str]  # variables the expected value and the bounds need

    def band(self, scope: Mapping[str, Any], departures) -> tuple[float, float, float] | None:
        """(expected, low, high) of the target on a case's values (`scope`: values, age, female),
        or None when the coupling does not apply (departed from, an input missing, `when` false)."""
        if self.spec.id in departures or self.spec.target not in scope or not self.inputs <= scope.keys():
            return None
        if self.when is not None and not C.holds(self.when, scope):
            return None
        try:
            expected = float(self.expected.evaluate(scope))
            s = {**scope, "expected": expected}
            lo = float(self.low.evaluate(s)) if self.low else -math.inf
            hi = float(self.high.evaluate(s)) if self.high else math.inf
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return expected, lo, hi


@dataclass(frozen=True)
class _Finding:
    spec: Coupling
    requires: C.Node | None
    implied_by: C.Node | None
    variables: frozenset[str]  # measured variables it refers to (age and sex excluded)


def problems(c: Coupling, variables: Mapping, findings: Mapping) -> list[tuple[str, str, str]]:
    """Semantic problems of one coupling as (field, problem, fix); empty when it is usable."""
    out = []
    known = set(variables) | SCOPE_EXTRA

    def expression(field: str, text: str, extra: set[str] = frozenset()):
        try:
            e = Expression.parse(text)
        except ExpressionError as exc:
            out.append((field, str(exc) + ".", "see the expression syntax in simulator/expressions.py"))
            return
        for n in e.check_names(known | extra):
            out.append((field, f"unknown variable '{n}' in {text!r}.", "use variable ids of the registry"))

    def condition(field: str, spec: Any, allow_findings: bool):
        try:
            tree = C.parse(spec, field)
        except ExpressionError as exc:
            out.append((field, str(exc) + ".", "see the criteria syntax in simulator/criteria.py"))
            return
        vs, fs = C.names(tree)
        for v in sorted(vs - set(variables) - {"age", "sex"}):
            out.append((field, f"unknown variable '{v}'.", "use variable ids of the registry"))
        for f in sorted(fs):
            if not allow_findings:
                out.append((field, f"'{f}': a numeric coupling's condition may use variables only.",
                             "write the condition on measured values"))
            elif f not in findings:
                out.append((field, f"unknown finding '{f}'.", "use finding ids of the registry"))

    if c.target is not None:
        var = variables.get(c.target)
        if var is None:
            out.append(("target", f"unknown variable '{c.target}'.", "use a variable id of the registry"))
        elif var.derive:
            out.append(("target", f"'{c.target}' is derived ({var.derive}), so it cannot be coupled.",
                        "couple one of the variables it is computed from"))
        expression("expr", c.expr)
        for field in ("low", "high"):
            if getattr(c, field):
                expression(field, getattr(c, field), {"expected"})
        if c.when is not None:
            condition("when", c.when, allow_findings=False)
    else:
        if c.finding not in findings:
            out.append(("finding", f"unknown finding '{c.finding}'.", "use a finding id of the registry"))
        for field in ("requires", "implied_by"):
            if getattr(c, field) is not None:
                condition(field, getattr(c, field), allow_findings=True)
    return out


class Physiology:
    """The compiled couplings of a registry (checked beforehand by `problems`)."""

    def __init__(self, couplings: list[Coupling], registry):
        self.registry = registry
        self.ids = [c.id for c in couplings]
        self.numeric: list[_Numeric] = []
        self.findings: list[_Finding] = []
        for c in couplings:
            if c.target is not None:
                expected = Expression.parse(c.expr)
                low = Expression.parse(c.low) if c.low else None
                high = Expression.parse(c.high) if c.high else None
                names = set(expected.names)
                for b in (low, high):
                    names |= set(b.names) if b else set()
                when = C.parse(c.when, f"couplings.{c.id}.when") if c.when is not None else None
                self.numeric.append(_Numeric(c, expected, low, high, when,
                                             frozenset(names - SCOPE_EXTRA - {"expected"})))
            else:
                req = C.parse(c.requires, f"couplings.{c.id}.requires") if c.requires is not None else None
                imp = C.parse(c.implied_by, f"couplings.{c.id}.implied_by") if c.implied_by is not None else None
                vs = set()
                for t in (req, imp):
                    vs |= C.names(t)[0] if t is not None else set()
                self.findings.append(_Finding(c, req, imp, frozenset(vs - {"age", "sex"})))

    # ---- generation ---------------------------------------------------------------------------
    def companions(self, wanted: set[str]) -> set[str]:
        """The variables a case must also show because it shows a coupled target (`with_inputs`)."""
        out = set(wanted)
        changed = True
        while changed:
            changed = False
            for c in self.numeric:
                if c.spec.with_inputs and c.spec.target in out and not c.expected.names - SCOPE_EXTRA <= out:
                    out |= c.expected.names - SCOPE_EXTRA
                    changed = True
        return out

    def apply_values(self, values: dict[str, float], age: int, sex: str, presented, departures,
                     rng: random.Random) -> None:
        """Compute (or move into bounds) every coupled target of a generated case, in place."""
        scope: dict[str, Any] = {**values, "age": age, "female": sex == "F"}
        for c, expected, lo, hi in self._bands(scope, departures):
            t = c.spec.target
            var = self.registry.variables[t]
            step = 10.0 ** -var.decimals  # keep rounding from carrying a value past a bound
            lo_in, hi_in = lo + step, hi - step
            if lo_in > hi_in:
                lo_in = hi_in = (lo + hi) / 2
            if t in presented:
                x = values[t]
            else:
                x = expected + (rng.gauss(0.0, c.spec.sd) if c.spec.sd else 0.0)
            lim_lo, lim_hi = var.limits
            x = min(lim_hi, max(lim_lo, min(hi_in, max(lo_in, x))))
            values[t] = scope[t] = var.round(x)

    def apply_findings(self, facts: Mapping[str, Any], findings: list[str], departures) -> list[str]:
        """The findings of a generated case after the finding couplings (added or dropped)."""
        present = set(findings)
        for c in self.findings:
            if c.spec.id in departures or not self._applies(c, facts):
                continue
            f = c.spec.finding
            facts_now = {**facts, **{x: True for x in present}}
            if f in present and c.requires is not None and not C.holds(c.requires, facts_now):
                present.discard(f)
            elif f not in present and c.implied_by is not None and C.holds(c.implied_by, facts_now):
                present.add(f)
        return [f for f in self.registry.findings if f in present]

    def expected(self, target: str, scope: Mapping[str, Any], departures=frozenset()):
        """(expected, low, high, sd) of `target` by the first numeric coupling that applies to
        `scope` (values, age, female; the target itself need not be there), or None. For
        generators of their own (calculator vignettes) that set one value at a time."""
        for c in self.numeric:
            if c.spec.target == target:
                band = c.band({**scope, target: 0.0}, departures)
                if band is not None:
                    return (*band, c.spec.sd)
        return None

    def inputs_of(self, target: str) -> frozenset[str]:
        """The variables the numeric couplings of `target` are computed from."""
        return frozenset().union(*(c.inputs for c in self.numeric if c.spec.target == target))

    def _bands(self, scope: dict[str, Any], departures):
        """(coupling, expected, low, high) of each numeric coupling that applies, in order; `scope`
        is updated by the caller as targets change, so a later coupling sees them."""
        for c in self.numeric:
            band = c.band(scope, departures)
            if band is not None:
                yield (c, *band)

    @staticmethod
    def _applies(c: _Finding, facts: Mapping[str, Any]) -> bool:
        return not c.variables or any(v in facts for v in c.variables)

    # ---- validation ---------------------------------------------------------------------------
    def missing_inputs(self, values: Mapping[str, float]) -> str | None:
        """A sentence when a coupled target is reported without the values it comes with, else None."""
        for c in self.numeric:
            t = c.spec.target
            if c.spec.with_inputs and t in values:
                missing = sorted(c.expected.names - SCOPE_EXTRA - set(values))
                if missing:
                    reg = self.registry.variables
                    names = ", ".join(reg[m].name for m in missing)
                    return (f"{reg[t].name} is reported without {names}: they are measured together "
                            f"({c.spec.name}: {c.spec.why}); add {names}")
        return None

    def breaks(self, case, departures=frozenset()) -> list[Break]:
        """The couplings a case breaks (those its diagnosis departs from excepted)."""
        from simulator.unit_spelling import display_unit

        reg = self.registry.variables
        values = case.values
        facts = case.facts()
        out = []
        for c, _, lo, hi in self._bands({**values, "age": case.age, "female": case.sex == "F"}, departures):
            t = c.spec.target
            v, eps = values[t], 1e-9 * max(1.0, abs(values[t]))
            if lo - eps <= v <= hi + eps:
                continue
            var = reg[t]

            def show(x: float, vid: str = t) -> str:
                return f"{round(x, reg[vid].decimals + 1):g} {display_unit(reg[vid].unit)}".strip()

            given = ", ".join(f"{reg[n].name} {show(values[n], n)}" for n in sorted(c.inputs))
            bound = (f"between {show(lo)} and {show(hi)}" if math.isfinite(lo) and math.isfinite(hi)
                     else f"at least {show(lo)}" if math.isfinite(lo) else f"at most {show(hi)}")
            out.append(Break(c.spec.id, f"{var.name} {show(v)} breaks {c.spec.name} ({c.spec.why}): with "
                                        f"{given} it must be {bound}; change one of these values"))
        for c in self.findings:
            if c.spec.id in departures or not self._applies(c, facts):
                continue
            f = c.spec.finding
            name = self.registry.findings[f].name
            shown = ", ".join(f"{reg[v].name} {values[v]:g} {display_unit(reg[v].unit)}".strip()
                              for v in sorted(c.variables) if v in values)
            shown = f" ({shown})" if shown else f" (sex {case.sex})"
            if f in facts and c.requires is not None and not C.holds(c.requires, facts):
                out.append(Break(c.spec.id, f"'{name}' is recorded but {c.requires} does not hold{shown}: "
                                            f"{c.spec.why}; remove '{name}' or change the values"))
            elif f not in facts and c.implied_by is not None and C.holds(c.implied_by, facts):
                out.append(Break(c.spec.id, f"{c.implied_by} holds{shown} but '{name}' is not recorded: "
                                            f"{c.spec.why}; add '{name}' or change the values"))
        return out
