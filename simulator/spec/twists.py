"""Twists applied to a drawn case: add a finding, hide one, push a value to a criterion's
threshold, write a value in another unit, pick the note style.

`check_twists` says, before anything is drawn, whether a specification's twists can apply to a
diagnosis's cases (`absent`, `conflict`); `resolve` turns the words the simulator chooses
(`add confounder`, `add comorbidity`, `push any`, `units any`) into concrete twists for one
instantiation; `apply_twists` changes one drawn case and returns what it did, or a `Miss`
saying why this draw cannot carry the twists (the caller draws again).

What each twist does, and its nearest meaningful variant where the literal one cannot hold:
- add X: X becomes present. When a physiology coupling ties X to values (fever needs a
  temperature of 38.3 C or more, confusion a GCS of 13 or less, a CKD history an eGFR below
  60), those values are moved just far enough for X to be plausible, through an input when the
  value is computed (eGFR through creatinine). `add confounder` picks a finding of the
  diagnosis's differentials that the diagnosis itself does not present with and that its
  criteria do not exclude; `add comorbidity` a history item of the differentials (else of the
  pack). An added finding the engine reads as another diagnosis makes the case that diagnosis.
- hide X: X is not in the case, so not in the note (a value's dependants go with it: the pH and
  PaCO2 of a hidden bicarbonate, derived values computed from it), and the note never denies a
  hidden finding. A hidden finding that a shown value implies (fever with a temperature of 39 C)
  takes that value with it, since the value would give it away. Hiding what the diagnosis's
  cases never show is rejected (`absent`); hiding what one draw happens to lack is a no-op for
  that draw. `hide give-away` hides one item of the diagnosis's criteria that supports it in the
  drawn case and that another item can stand in for; when every criterion item is needed, a
  finding the diagnosis presents with that its criteria do not use (a clue); else any supporting
  criterion item, and the engine decides what the case is.
- push X toward threshold / short of threshold: X is set within about a tenth of its normal
  range of the nearest threshold of X in the diagnosis's own criteria (else its differentials'
  or superseded diagnoses', else any diagnosis's), on the side that meets that criterion
  (toward) or misses it (short). Coupled values follow (a pushed bicarbonate moves the PaCO2 and
  pH); a coupled value pushed out of its physiological band (a pH off Henderson-Hasselbalch) is
  a miss, and another draw is tried. A computed value (eGFR, anion gap, MAP) is pushed through
  one of its inputs.
- units X U: the case reports X in U (`Case.units`), and the note writes it so.
- style S: the note style (see instantiate.py).

The engine decides the label afterwards (instantiate.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator import calculators
from simulator import criteria as C
from simulator.case import Case, Rejection
from simulator.notes.draft import mid_sentence
from simulator.render import display_unit, number_text, quantity_text, with_unit
from simulator.spec.format import ANY, COMORBIDITY, CONFOUNDER, GIVE_AWAY, Spec
from simulator.spec.values import edge, make_hold, rederive, set_near, settle, spread
from simulator.spec.vocabulary import Threshold, Words, leaves_with_polarity

PUSH_SPREAD = 0.1   # a pushed value lands within this share of the normal range of its threshold
CLEAR_SPREAD = 0.5  # a value moved so an added finding fits lands within this share past its bound


@dataclass(frozen=True)
class Miss:
    """Why one drawn case cannot carry the twists (the caller draws again)."""

    reason: str
    message: str


@dataclass
class Resolved:
    """The twists of one instantiation with the simulator's choices made."""

    add: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)                          # ids, or GIVE_AWAY
    push: list[tuple[str, Threshold, bool]] = field(default_factory=list)  # (variable, threshold, leaf truth wanted)
    units: dict[str, str] = field(default_factory=dict)
    style: str | None = None


# ---- before drawing -------------------------------------------------------------------------------

def check_twists(sim, spec: Spec, dx: str) -> Rejection | None:
    """Whether the twists of `spec` can apply to cases of `dx` (and its calculator to them)."""
    words = Words.of(sim)
    reg = sim.registry
    name = sim.diagnoses[dx].name
    measured, shown = words.measured(dx), words.findings_shown(dx)
    calc = calculators.get(spec.calculator) if spec.calculator else None
    if calc is not None and dx not in words.feeding.get(calc.id, ()):
        return Rejection("conflict", f"{name} cases do not carry every input of {calc.id} "
                         f"({', '.join(calc.required)}); leave out the diagnosis or choose another")
    inputs = {i.name for i in calc.inputs} if calc else set()
    for t in spec.twists:
        label = words.label(t.target)
        if t.kind == "hide" and t.target == GIVE_AWAY \
                and not (give_away_candidates(sim, dx) | set(sim.diagnoses[dx].presentation.symptoms)) - inputs:
            return Rejection("absent", f"{name} has no criterion item or presenting finding to hide; name what to hide")
        if t.kind == "hide" and t.target in inputs:
            return Rejection("conflict", f"'{t.line}' hides an input of {calc.id}, so the question could not be "
                             "answered; hide something else")
        if t.kind == "hide" and t.target != GIVE_AWAY and t.target not in (measured | shown):
            items = sorted(words.label(x) for x in (set(words.criteria_names(dx)[1]) | words.criteria_names(dx)[0])
                           & (measured | shown))
            return Rejection("absent", f"{name} cases never show {label}; hide one they do, e.g. "
                             f"{', '.join(items[:6]) or 'a symptom'}")
        if t.kind == "hide" and t.target in reg.findings:
            implied = {v for c in sim.physiology.findings if c.spec.finding == t.target and c.implied_by is not None
                       for v in c.variables}
            clash = next((o for o in spec.twists if o.kind in ("units", "push") and o.target in implied), None)
            if clash is not None:
                return Rejection("conflict", f"'{t.line}' hides {words.label(clash.target)} too when it shows "
                                 f"{label} ({clash.line} needs it); drop one of them")
        if t.kind in ("units", "push") and t.target != ANY and t.target not in measured:
            return Rejection("absent", f"{name} cases do not report {label}; {t.kind} a value they report")
        if t.kind == "push" and t.target == ANY and not _criteria_values(sim, dx):
            return Rejection("absent", f"{name}'s criteria compare no reported value with a number; name one to push")
        if t.kind == "add" and spec.sex and t.target in reg.findings:
            for c in sim.physiology.findings:
                if c.spec.finding == t.target and c.requires is not None and not C.possible(c.requires, {"sex": spec.sex}):
                    return Rejection("conflict", f"'{t.line}' cannot go with sex {spec.sex}: {c.spec.why}")
    return None


def _criteria_values(sim, dx: str) -> list[str]:
    words = Words.of(sim)
    return sorted(v for v in words.criteria_names(dx)[0] & words.measured(dx) if v in words.thresholds)


def give_away_candidates(sim, dx: str) -> set[str]:
    """Items of `dx`'s criteria that count for it when present (not under a `not`) and that its
    cases can show."""
    words = Words.of(sim)
    out = set()
    for leaf, positive in leaves_with_polarity(sim.trees[dx]):
        name = leaf.var if isinstance(leaf, C.Cond) else leaf.finding
        if positive and name not in ("age", "sex"):
            out.add(name)
    return out & (words.measured(dx) | words.findings_shown(dx))


def removable(sim, dx: str) -> list[str]:
    """Items `dx`'s cases show that can be hidden (with the values measured with them) while its
    criteria can still be met: criterion items another branch can stand in for, and the findings
    it presents with that its criteria do not use."""
    tree = sim.trees[dx]
    reg = sim.registry
    out = []
    for name in sorted(give_away_candidates(sim, dx)):
        gone = measured_with(sim, {name}) if name in reg.variables else {name}
        if C.possible(tree, {x: (False if x in reg.findings else None) for x in gone}):
            out.append(name)
    clues = set(sim.diagnoses[dx].presentation.symptoms) - C.names(tree)[1]
    return out + sorted(clues & Words.of(sim).findings_shown(dx))


def measured_with(sim, variables: set[str]) -> set[str]:
    """`variables` and the coupled values reported only with them (`with_inputs`): the pH and
    PaCO2 of a bicarbonate, the osmolality of a glucose."""
    out = set(variables)
    grew = True
    while grew:
        grew = False
        for c in sim.physiology.numeric:
            if c.spec.with_inputs and c.spec.target not in out and c.inputs & out:
                out.add(c.spec.target)
                grew = True
    return out


def near_miss_keeps_label(sim, dx: str, vid: str, known: dict | None = None) -> bool:
    """Whether `push vid short of threshold` can leave `dx` reachable (or aims at another
    diagnosis's threshold, so that the engine may label the case otherwise)."""
    th = threshold_for(sim, dx, vid, False, known)
    var = sim.registry.variables[vid]
    return th.diagnosis != dx or C.possible(sim.trees[dx], {**(known or {}), vid: edge(var, th.cond, not th.meets)})


def confounder_pool(sim, dx: str, history_only: bool = False) -> list[str]:
    """Findings of `dx`'s differentials (their criteria and common presentation) that `dx` does
    not present with and its criteria do not exclude, writable in a note; with `history_only`,
    history items, from the whole pack when the differentials have none."""
    words = Words.of(sim)
    d = sim.diagnoses[dx]
    own = set(d.presentation.symptoms) | set(d.presentation.history) | {
        leaf.finding for leaf, _ in leaves_with_polarity(sim.trees[dx]) if isinstance(leaf, C.Has)}

    def usable(pool) -> list[str]:
        return sorted(f for f in pool if f not in own and words.lex.finding_phrases(f)
                      and (not history_only or sim.registry.findings[f].kind == "history"))

    pool = set()
    for other in [*d.differentials, *d.supersedes]:
        o = sim.diagnoses[other]
        pool |= {leaf.finding for leaf, pos in leaves_with_polarity(sim.trees[other]) if isinstance(leaf, C.Has) and pos}
        pool |= {f for f, p in {**o.presentation.symptoms, **o.presentation.history}.items() if p >= 0.3}
    out = usable(pool)
    if not out:  # no differential offers one: the rest of the pack's diagnoses
        pack = sim.packs[sim.pack_of[dx]]
        out = usable({f for o in pack.diagnoses if o.id != dx
                      for f, p in {**o.presentation.symptoms, **o.presentation.history}.items() if p >= 0.3}
                     | set(pack.background))
    return out


def threshold_for(sim, dx: str, vid: str, toward: bool = True, known: dict | None = None) -> Threshold:
    """The threshold a push on `vid` aims at in cases of `dx`, nearest the normal range of `vid`
    within the first group that has one. Toward: `dx`'s own criteria, then those of its
    differentials and the diagnoses it supersedes, then any. Short of: first `dx`'s own
    thresholds that the case can miss and still meet its criteria (another branch of an `any`),
    then its differentials' (a near miss of a confusable diagnosis), then the rest as above.
    `known` gives the age and sex a specification fixes, for that check."""
    words = Words.of(sim)
    d = sim.diagnoses[dx]
    found = words.thresholds[vid]
    near = set(d.differentials) | set(d.supersedes)
    own = [t for t in found if t.diagnosis == dx]
    groups = [own, [t for t in found if t.diagnosis in near], found]
    if not toward:
        var = sim.registry.variables[vid]
        spare = [t for t in own if C.possible(sim.trees[dx], {**(known or {}), vid: edge(var, t.cond, not t.meets)})]
        groups.insert(0, spare)
    group = next(g for g in groups if g)
    lo, hi = sim.registry.variables[vid].normal_for("M")
    return min(group, key=lambda t: (max(lo - t.cond.value, t.cond.value - hi, 0.0), t.diagnosis, str(t.cond)))


def resolve(sim, spec: Spec, dx: str, rng: random.Random) -> Resolved | Rejection:
    """Concrete twists for one instantiation (the simulator's choices drawn from `rng`)."""
    words = Words.of(sim)
    out = Resolved()
    for t in spec.twists:
        if t.kind == "add":
            target = t.target
            if target in (CONFOUNDER, COMORBIDITY):
                pool = [f for f in confounder_pool(sim, dx, target == COMORBIDITY) if f not in out.add
                        and _fits_sex(sim, f, spec.sex)]
                if not pool:
                    return Rejection("absent", f"no {target} to add to {sim.diagnoses[dx].name}; name a finding")
                target = rng.choice(pool)
            out.add.append(target)
        elif t.kind == "hide":
            out.hide.append(t.target)
        elif t.kind == "push":
            vid = rng.choice(_criteria_values(sim, dx)) if t.target == ANY else t.target
            th = threshold_for(sim, dx, vid, t.option == "toward", demographics(spec))
            out.push.append((vid, th, th.meets if t.option == "toward" else not th.meets))
        elif t.kind == "units":
            vid = t.target
            if vid == ANY:
                measured = sorted(v for v in words.measured(dx) if words.real_units(v)
                                  and not sim.registry.variables[v].derive and v not in out.units)
                preferred = [v for v in measured if v in words.criteria_names(dx)[0]]
                vid = rng.choice(preferred or measured)
            out.units[vid] = t.option or rng.choice(sorted(words.real_units(vid)))
        else:
            out.style = t.target
    return out


def demographics(spec: Spec) -> dict:
    """The age and sex a specification fixes, as facts for `criteria.possible`."""
    return {k: v for k, v in (("age", spec.age), ("sex", spec.sex)) if v is not None}


def _fits_sex(sim, finding: str, sex: str | None) -> bool:
    return sex is None or all(c.requires is None or C.possible(c.requires, {"sex": sex})
                              for c in sim.physiology.findings if c.spec.finding == finding)


# ---- on a drawn case ------------------------------------------------------------------------------

def apply_twists(sim, case: Case, twists: Resolved, dx: str, rng: random.Random,
                 keep: frozenset[str] = frozenset()) -> tuple[list[str], dict] | Miss:
    """Change `case` in place; returns (what was done, for a person; the facts the twists fixed,
    for `criteria.possible`), or a `Miss`. `keep` names inputs a give-away must not be."""
    reg = sim.registry
    departures = frozenset(sim.diagnoses[dx].departures)
    done: list[str] = []
    fixed: dict = {}
    changed: set[str] = set()
    for f in twists.add:
        for c in sim.physiology.findings:
            want = c.implied_by if c.implied_by is not None else c.requires
            applies = not c.variables or c.variables & set(case.values)  # as physiology checks it
            if c.spec.finding == f and want is not None and applies and not C.holds(want, {**case.facts(), f: True}):
                moved = make_hold(sim, case, want, CLEAR_SPREAD, rng)
                if moved is None:
                    return Miss("conflict", f"cannot add {_name(reg, f)}: {c.spec.why}")
                changed |= moved
        done.append(f"added {_name(reg, f)}")
        fixed[f] = True
    for vid, th, truth in twists.push:
        moved = set_near(sim, case, vid, th.cond, truth, PUSH_SPREAD, rng)
        if moved is None:
            return Miss("conflict", f"{_name(reg, vid)} cannot be moved to {th.cond} in this case")
        changed |= moved
    settle(sim, case, changed, departures, rng)
    findings = set(sim.physiology.apply_findings(case.facts(), case.findings, departures)) | set(twists.add)
    case.findings = [f for f in reg.findings if f in findings]
    for vid, th, truth in twists.push:
        value = case.values.get(vid)
        if value is None or C.holds(th.cond, {vid: value}) != truth \
                or abs(value - th.cond.value) > spread(reg.variables[vid], PUSH_SPREAD) + 1e-9:
            return Miss("conflict", f"{_name(reg, vid)} does not stay near {th.cond} once the values "
                        "measured with it follow (physiology couplings)")
        side = "just meeting" if truth == th.meets else "just short of"
        done.append(f"pushed {_name(reg, vid)} to {with_unit(number_text(value, 4), display_unit(reg.variables[vid].unit))}, {side} {th.cond} "
                    f"({th.diagnosis} {sim.diagnoses[th.diagnosis].name})")
        fixed[vid] = value
    for target in twists.hide:
        if target == GIVE_AWAY:
            target = _pick_give_away(sim, case, dx, rng, keep)
            if target is None:
                return Miss("conflict", "this case shows no item of the criteria to hide")
        gone = hide(sim, case, target)
        done.append(f"hid {', '.join(_name(reg, x) for x in gone)}")
        fixed.update({x: (False if x in reg.findings else None) for x in gone})
    for vid, unit in twists.units.items():
        if vid not in case.values:
            return Miss("conflict", f"{_name(reg, vid)} is not reported in this case")
        text = quantity_text(reg.variables[vid], case.values[vid], unit)
        if text is None:
            return Miss("conflict", f"{_name(reg, vid)} cannot be written in {unit} at its precision")
        case.units[vid], case.shown[vid] = unit, float(text)
        done.append(f"{_name(reg, vid)} in {display_unit(unit)}")
    if twists.style:
        done.append(f"written as a {twists.style.replace('_', ' ')} note")
    return done, fixed


def _name(reg, item: str) -> str:
    """A finding's or variable's display name, as written mid-sentence."""
    return mid_sentence((reg.findings.get(item) or reg.variables[item]).name)


def hide(sim, case: Case, target: str) -> list[str]:
    """Remove a finding or value from `case`, with what would give it away: the values measured
    with a hidden value, derived values computed from it, and the values that imply a hidden
    finding. Returns every id removed, the target first."""
    reg = sim.registry
    gone: list[str] = []
    drop: set[str] = set()
    if target in reg.findings:
        facts = case.facts()
        if target in case.findings:
            case.findings = [f for f in case.findings if f != target]
        gone.append(target)
        for c in sim.physiology.findings:
            if c.spec.finding == target and c.implied_by is not None and C.holds(c.implied_by, {**facts, target: True}):
                drop |= c.variables & set(case.values)
    else:
        drop.add(target)
        gone.append(target)
    drop = measured_with(sim, drop) & set(case.values)
    for vid in sorted(drop, key=lambda v: sim.variable_order[v]):
        if case.values.pop(vid, None) is not None and vid not in gone:
            gone.append(vid)
        case.units.pop(vid, None)
        case.shown.pop(vid, None)
    rederive(sim, case)
    return gone


def _pick_give_away(sim, case: Case, dx: str, rng: random.Random, keep) -> str | None:
    """What `hide give-away` hides in `case`: an item of `dx`'s criteria that supports it here and
    without which (and what goes with it) the criteria still hold; else a finding `dx` presents
    with that its criteria do not use (a clue, when every criterion item is needed); else any
    supporting criterion item (the engine then decides what the case is)."""
    tree = sim.trees[dx]
    facts = case.facts()
    present = []
    for leaf, positive in leaves_with_polarity(tree):
        name = leaf.var if isinstance(leaf, C.Cond) else leaf.finding
        if positive and name not in ("age", "sex") and name not in keep and C.holds(leaf, facts) and name not in present:
            present.append(name)
    still = []
    for name in present:
        trial = Case(case.age, case.sex, dict(case.values), list(case.findings))
        hide(sim, trial, name)
        if C.holds(tree, trial.facts()):
            still.append(name)
    d = sim.diagnoses[dx]
    clues = sorted(f for f in case.findings if f in d.presentation.symptoms and f not in C.names(tree)[1]
                   and f not in keep and _unimplied(sim, case, f))
    pool = still or clues or present
    return rng.choice(pool) if pool else None


def _unimplied(sim, case: Case, finding: str) -> bool:
    """True when no value of `case` implies `finding` (hiding it takes no value with it)."""
    facts = case.facts()
    return not any(c.spec.finding == finding and c.implied_by is not None and C.holds(c.implied_by, facts)
                   for c in sim.physiology.findings)
