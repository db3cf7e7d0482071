"""A specification made into a patient: `instantiate(sim, spec, seed)` draws a plausible case of
its diagnosis through the generator (severity, age and sex fixed where given), applies its
twists (simulator/spec/twists.py), checks it as a proposed case is checked (hard limits,
cross-variable constraints, physiology couplings, none excepted but the label's declared
departures), lets the engine decide its label, and writes its note.

    spec = parse_spec(sim, "diagnosis: DKA\\nseverity: mild\\ntwist: hide give-away\\ntwist: style referral")
    inst = instantiate(sim, spec, seed=7)        # Instance, or Rejection
    inst.case.label, inst.applied                # engine label; what each twist did
    print(inst.text)                             # the referral letter
    case, note = inst                            # (Case, NoteOptions), as a pair

The label is the engine's, not the specification's:
- the generator is asked for the specification's diagnosis, and up to MAX_DRAWS draws are tried
  for a case the engine labels with it;
- when the twists make that impossible or no draw reaches it (a criterion value pushed just
  short of its threshold, the one give-away the criteria need hidden), the first plausible draw
  with one engine label is kept: a valid task whose label is that other diagnosis
  (`Instance.relabelled`);
- when no plausible draw has a single label, the specification is rejected: `no-diagnosis`
  (no rule fires), `ambiguous` (several incompatible rules fire), `implausible` (a twist breaks
  a physiology coupling in every draw) or `conflict` (the twists cannot hold together in any
  draw, e.g. a pH pushed to 7.30 in the most severe DKA), with what was tried.
A note that would name a diagnosis (`NoteError`) is another draw's business.

Calculators. A `calculator:` specification is drawn from a diagnosis whose cases carry the
calculator's inputs (the one it names, else one chosen with weight for the inputs it presents
with); the task's truth is the calculator's result, so its case may have any engine label or
none. A calculator no pack case carries is made by a vignette source: the function
`calculator_case(sim, calculator_id, seed)` of `simulator.vignettes` when that module is
installed (`vignette_source`), or the one passed as `calculator_case=`. Its result must have
`.case` (a Case carrying every input) and `.result` (the CalcResult); only a style twist applies
to it. Without a source such a specification is rejected as `unsupported-calculator`.

Determinism: everything comes from `random.Random(f"spec:{seed}")` and the canonical text, so the
same specification and seed give the same case and the same note, byte for byte.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from simulator import calculators
from simulator import criteria as C
from simulator.calculators import CalcResult
from simulator.case import Case, Rejection
from simulator.generator import draw
from simulator.notes import STYLES, Note, NoteError, render_note, scan
from simulator.notes.lexicon import lexicon
from simulator.spec.format import Spec, parse_spec
from simulator.spec.twists import Miss, apply_twists, check_twists, demographics, resolve
from simulator.spec.vocabulary import SEVERITY_BANDS, Words, vignette_source

MAX_DRAWS = 200
NOTE_ATTEMPTS = 8    # note wordings tried so that no hidden finding is denied in the note


@dataclass(frozen=True)
class NoteOptions:
    """How an instance's note is written: its style, its seed, and the findings it must not
    mention, neither as present nor as denied (those a twist hid)."""

    style: str
    seed: int
    hidden: tuple[str, ...] = ()

    def render(self, sim, case: Case) -> Note:
        """The note; NoteError when no wording of it keeps the hidden findings unmentioned."""
        lex = lexicon(sim)
        for attempt in range(NOTE_ATTEMPTS):
            note = render_note(sim, case, self.style, seed=self.seed + attempt * 1_000_003)
            facts = scan(lex, note.text)
            if not set(self.hidden) & (set(facts.negated) | set(facts.present)):
                return note
        raise NoteError(f"every wording of this {self.style} note mentions a hidden finding "
                        f"({', '.join(self.hidden)})")


@dataclass
class Instance:
    """A specification made into a case: the case (engine label; `relabelled` when it is not the
    specification's diagnosis), how its note is written and the note, what the twists did, and
    for a calculation the calculator and its result."""

    spec: Spec
    seed: int
    case: Case
    note: NoteOptions
    rendered: Note | None = None
    applied: tuple[str, ...] = ()
    calculator: str | None = None
    result: CalcResult | None = None
    draws: int = 0
    source: Any = field(default=None, repr=False)   # what a vignette source returned

    @property
    def relabelled(self) -> bool:
        return bool(self.spec.diagnosis) and self.case.label != self.spec.diagnosis

    @property
    def text(self) -> str:
        return self.rendered.text if self.rendered is not None else ""

    def __iter__(self):
        yield self.case
        yield self.note


def instantiate(sim, spec: Spec | str, seed: int, calculator_case: Callable | None = None) -> Instance | Rejection:
    """`spec` (a Spec or its text) as a case and note for `seed` (see the module docstring)."""
    if isinstance(spec, str):
        spec = parse_spec(sim, spec)
        if isinstance(spec, Rejection):
            return spec
    rng = random.Random(f"spec:{seed}:{spec.to_text()}")
    dx = spec.diagnosis
    if spec.calculator and dx is None:
        dx = _feeding_diagnosis(sim, spec, rng)
        if dx is None:
            return _from_vignette(sim, spec, seed, rng, calculator_case or vignette_source())
    rejection = check_twists(sim, spec, dx)
    if rejection is not None:
        return rejection
    twists = resolve(sim, spec, dx, rng)
    if isinstance(twists, Rejection):
        return twists
    style = twists.style or rng.choice(sorted(STYLES))
    calc = calculators.get(spec.calculator) if spec.calculator else None
    # a give-away is never a calculator's input nor what another twist names
    keep = frozenset(i.name for i in calc.inputs) if calc else frozenset()
    keep |= frozenset(twists.add) | {v for v, _, _ in twists.push} | set(twists.units)
    plan, tree = sim.plan(dx), sim.trees[dx]
    failures: Counter = Counter()
    last: dict[str, str] = {}
    fallback = None
    unreachable = False
    for n in range(1, MAX_DRAWS + 1):
        case = draw(plan, sim, rng, sex=spec.sex, age=spec.age, severity=_severity(spec, rng))
        case.seed = seed
        twisted = apply_twists(sim, case, twists, dx, rng, keep)
        if isinstance(twisted, Miss):
            failures[twisted.reason] += 1
            last[twisted.reason] = twisted.message
            continue
        done, fixed = twisted
        unreachable = unreachable or not C.possible(tree, {**demographics(spec), **fixed})
        verdict = _check(sim, case, calc)
        if isinstance(verdict, Rejection):
            failures[verdict.reason] += 1
            last[verdict.reason] = verdict.detail
            continue
        outcome, result = verdict
        hidden = tuple(k for k, v in fixed.items() if v is False)
        if outcome.label == dx or (outcome.ok or calc is not None) and fallback is None:
            made = _finish(sim, spec, seed, case, outcome, style, hidden, done, calc, result, n)
            if isinstance(made, Rejection):
                failures[made.reason] += 1
                last[made.reason] = made.detail
                continue
            if outcome.label == dx:
                return made
            fallback = made
        if fallback is not None and unreachable:
            break
    if fallback is not None:
        return fallback
    reason = failures.most_common(1)[0][0] if failures else "no-diagnosis"
    why = (f"; the twists leave the criteria of {sim.diagnoses[dx].name} unmet ({tree})" if unreachable else "")
    return Rejection(reason, f"no plausible case of {sim.diagnoses[dx].name} in {MAX_DRAWS} draws{why}: "
                     f"{last.get(reason, 'no rule fired')}")


def _severity(spec: Spec, rng: random.Random) -> float | None:
    if isinstance(spec.severity, str):
        lo, hi = SEVERITY_BANDS[spec.severity]
        return rng.uniform(lo, hi)
    return spec.severity


def _check(sim, case: Case, calc) -> tuple[Any, CalcResult | None] | Rejection:
    """A twisted case checked as a proposed one is (simulator/validation.py): constraints, inputs
    measured together, physiology couplings (the label's departures excepted), then the engine;
    and the calculator's result when there is one."""
    problem = sim.constraint_failure(case) or sim.physiology.missing_inputs(case.values)
    if problem:
        return Rejection("implausible", problem)
    outcome = sim.engine.label(case.facts())
    breaks = sim.physiology_breaks(case, outcome.label if outcome.ok else None)
    if breaks:
        return Rejection("implausible", breaks[0].message)
    if calc is None and not outcome.ok:
        names = ", ".join(outcome.fired)
        return (Rejection("no-diagnosis", "no diagnostic rule fires on the twisted case") if outcome.reason == "no-rule"
                else Rejection("ambiguous", f"several diagnoses fit the twisted case ({names})"))
    result = None
    if calc is not None:
        try:
            result = calc.compute(case.facts())
        except calculators.CalculatorInputError as exc:
            return Rejection("missing-input", str(exc))
    return outcome, result


def _finish(sim, spec, seed, case, outcome, style, hidden, done, calc, result, draws) -> Instance | Rejection:
    if outcome.ok:
        case.label, case.label_name = outcome.label, sim.diagnoses[outcome.label].name
        case.pack = sim.pack_of[outcome.label]
    else:
        case.label = case.label_name = None
    note = NoteOptions(style, seed, hidden)
    try:
        rendered = note.render(sim, case)
    except NoteError as exc:
        return Rejection("note", str(exc))
    return Instance(spec, seed, case, note, rendered, tuple(done), calc.id if calc else None, result, draws)


def _feeding_diagnosis(sim, spec: Spec, rng: random.Random) -> str | None:
    """A diagnosis whose cases carry the calculator's inputs and take the spec's twists, weighted
    by how many of the calculator's inputs it presents with or its criteria use (Centor from a
    pharyngitis rather than from a pneumothorax); None when no pack case carries them."""
    words = Words.of(sim)
    calc = calculators.get(spec.calculator)
    names = {i.name for i in calc.inputs}
    options, weights = [], []
    for dx in words.feeding.get(calc.id, []):
        if check_twists(sim, spec, dx) is not None:
            continue
        d = sim.diagnoses[dx]
        variables, findings = words.criteria_names(dx)
        own = variables | findings | set(d.presentation.variables) | set(d.presentation.symptoms)
        options.append(dx)
        weights.append(1 + 2 * len(names & own))
    return rng.choices(options, weights)[0] if options else None


def _from_vignette(sim, spec: Spec, seed: int, rng: random.Random, source: Callable | None) -> Instance | Rejection:
    """A calculator specification no pack case can carry, made by a vignette source."""
    words = Words.of(sim)
    if spec.calculator not in words.feeding and source is None:
        return Rejection("unsupported-calculator", f"no case of the packs carries the inputs of {spec.calculator}; "
                         f"use one of {', '.join(sorted(words.feeding))}")
    if source is None or any(t.kind != "style" for t in spec.twists):
        return Rejection("conflict", f"no diagnosis whose cases carry the inputs of {spec.calculator} takes these "
                         "twists; leave some out")
    made = source(sim, spec.calculator, seed)
    style = next((t.target for t in spec.twists), None) or rng.choice(sorted(STYLES))
    return Instance(spec, seed, made.case, NoteOptions(style, seed), None, (), spec.calculator, made.result, 1, made)
