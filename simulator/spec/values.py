"""Moving a case's values: to one side of a criterion's threshold, so that a coupling's
condition holds, or through an input when the value is computed; then letting the coupled values
follow. Used by the twists (simulator/spec/twists.py).

    set_near(sim, case, "potassium", Cond("potassium", ">", 5.5), True, 0.1, rng)   # -> {'potassium'}
    settle(sim, case, {"potassium"}, departures, rng)     # coupled and derived values follow

A value is placed a random number of rounding steps from the threshold, at most `share` of the
variable's normal range away (at least one step), inside its hard limits. A derived value (eGFR,
anion gap, MAP) is reached by bisection on one of its inputs, preferring an input whose coupled
values are not other inputs (bicarbonate rather than sodium for the anion gap, since chloride
follows sodium); a coupled value moved outside the band its inputs allow (an osmolality of 321
with a sodium, glucose and BUN that give 300) takes one of those inputs with it.

Limits: bisection assumes the value is monotonic in the input over its hard limits (true of the
registry's derived values); a coupled value that its inputs then move again (a pH whose PaCO2
follows a moved bicarbonate by Winter's formula) may end off target, which the caller checks.
"""

from __future__ import annotations

import random

from simulator import criteria as C
from simulator.case import Case
from simulator.physiology import SCOPE_EXTRA


def spread(var, share: float) -> float:
    lo, hi = var.normal_for("M")
    return max(10.0 ** -var.decimals, share * (hi - lo))


def side(cond: C.Cond, truth: bool) -> tuple[int, int]:
    """(direction, fewest steps) from `cond`'s threshold to a value where `cond` is `truth`:
    `glucose >= 200` holds from 200 up (+1, 0), misses from 199 down (-1, 1)."""
    direction = (1 if cond.op in (">", ">=") else -1) * (1 if truth else -1)
    return direction, 0 if truth == (cond.op in (">=", "<=")) else 1


def edge(var, cond: C.Cond, truth: bool) -> float:
    """The value of `var` nearest `cond`'s threshold on the side where `cond` is `truth`."""
    direction, k_min = side(cond, truth)
    return var.round(cond.value + direction * k_min * 10.0 ** -var.decimals)


def value_on_side(var, cond: C.Cond, truth: bool, share: float, rng: random.Random) -> float | None:
    """A value of `var` within `share` of its normal range of `cond`'s threshold, on the side where
    `cond` is `truth`, or None when none lies inside the hard limits."""
    step = 10.0 ** -var.decimals
    direction, k_min = side(cond, truth)
    k_max = max(k_min, int(spread(var, share) / step + 1e-9))
    lo, hi = var.limits
    for k in [rng.randint(k_min, k_max), k_min]:
        x = var.round(cond.value + direction * k * step)
        if lo <= x <= hi and C.holds(cond, {cond.var: x}) == truth:
            return x
    return None


def set_near(sim, case: Case, vid: str, cond: C.Cond, truth: bool, share: float, rng) -> set[str] | None:
    """Set `vid` near `cond`'s threshold on the `truth` side. A derived value is set through one of
    its inputs; a coupled value outside the band its inputs allow (an osmolality of 321 with a
    sodium, glucose and BUN that give 300) takes an input with it. Returns the variables changed,
    or None."""
    var = sim.registry.variables[vid]
    x = value_on_side(var, cond, truth, share, rng)
    if x is None or vid not in case.values:
        return None
    if var.derive:
        return solve_input(sim, case, sim.registry.derived[vid], x)
    case.values[vid] = x
    changed = {vid}
    scope = {**case.values, "age": case.age, "female": case.sex == "F"}
    for c in sim.physiology.numeric:
        band = c.band(scope, frozenset()) if c.spec.target == vid else None
        if band is not None and not band[1] <= x <= band[2]:
            changed |= solve_input(sim, case, c.expected, x) or set()
    return changed


def make_hold(sim, case: Case, tree, share: float, rng) -> set[str] | None:
    """Move values so that `tree` (comparisons of values, in all/any groups) holds; None when it
    cannot (a comparison on age or sex, a finding, a value the case does not report)."""
    facts = case.facts()
    if C.holds(tree, facts):
        return set()
    if isinstance(tree, C.Cond):
        if tree.var in ("age", "sex") or tree.var not in case.values:
            return None
        return set_near(sim, case, tree.var, tree, True, share, rng)
    if isinstance(tree, C.AnyOf):
        for item in tree.items:
            moved = make_hold(sim, case, item, share, rng)
            if moved is not None:
                return moved
        return None
    if isinstance(tree, C.All):
        moved: set[str] = set()
        for item in tree.items:
            m = make_hold(sim, case, item, share, rng)
            if m is None:
                return None
            moved |= m
        return moved
    return None


def solve_input(sim, case: Case, expr, target: float) -> set[str] | None:
    """Set one input of expression `expr` (a derived value's, or a coupling's expected value) so
    that it computes to `target` (bisection within the input's hard limits), preferring an input
    whose coupled values are not other inputs. Returns {input} or None."""
    reg = sim.registry
    scope = {**case.values, "age": case.age, "female": case.sex == "F"}
    inputs = [n for n in expr.names - SCOPE_EXTRA if n in case.values and not reg.variables[n].derive]
    inputs.sort(key=lambda n: (len(downstream(sim, {n}) & expr.names), n))
    for name in inputs:
        lo, hi = reg.variables[name].limits

        def f(x: float) -> float:
            return expr.evaluate({**scope, name: x}) - target

        try:
            flo, fhi = f(lo), f(hi)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if flo * fhi > 0:
            continue
        for _ in range(60):
            mid = (lo + hi) / 2
            fm = f(mid)
            if (fm < 0) == (flo < 0):
                lo, flo = mid, fm
            else:
                hi = mid
        case.values[name] = reg.variables[name].round((lo + hi) / 2)
        rederive(sim, case)
        return {name}
    return None


def downstream(sim, changed: set[str]) -> set[str]:
    """Coupled values computed (directly or in turn) from the variables in `changed`."""
    out: set[str] = set()
    grew = True
    while grew:
        grew = False
        for c in sim.physiology.numeric:
            t = c.spec.target
            uses = set(c.inputs) | (C.names(c.when)[0] if c.when is not None else set())
            if t not in out and t not in changed and uses & (changed | out):
                out.add(t)
                grew = True
    return out


def settle(sim, case: Case, changed: set[str], departures, rng) -> None:
    """After values changed: the coupled values computed from them follow (everything else is
    kept, moved only into its band), and derived values are recomputed."""
    if changed:
        presented = set(case.values) - downstream(sim, changed)
        sim.physiology.apply_values(case.values, case.age, case.sex, presented, departures, rng)
    rederive(sim, case)


def rederive(sim, case: Case) -> None:
    for vid in [v for v in case.values if sim.registry.variables[v].derive]:
        del case.values[vid]
    sim.add_derived(case)
    order = sim.variable_order
    case.values = dict(sorted(case.values.items(), key=lambda kv: order[kv[0]]))
