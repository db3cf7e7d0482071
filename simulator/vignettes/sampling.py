"""Drawing a calculator vignette: a seeded, plausible patient who carries every input of one
calculator, with the answer computed by the kit's calculator.

    from simulator.vignettes import calculator_case
    cc = calculator_case(sim, "cha2ds2_vasc", seed=3)
    cc.question          # "What is the patient's CHA2DS2-VASc score?"
    cc.answer, cc.inputs # 4, {'age': 77, 'sex': 'F', 'hypertension': True, ...}

How a case is made (all choices from one `random.Random` named by calculator and seed):
1. the patient: with the spec's `setting_share`, a pack case of a fitting diagnosis (its values,
   findings and demographics keep their pack's correlations); else age and sex from the spec's
   population and nothing else;
2. one severity latent in [0, 1] and the spec's latents (BMI, target QTc ...);
3. absorbed findings: a broader registry finding of the pack case becomes the calculator's own item;
4. context facts, then every input not yet known, following its `FactSpec`: couplings first when
   their sources are known (the registry's physiology couplings, simulator/physiology.py, and the
   vignettes' own), else the spec's range, values or weights, else the registry's reference
   interval; a coupled value comes with the values it is computed from (a pH with its PaCO2 and
   bicarbonate) and stays inside the physiology's bounds; yes/no items by prevalence; graded
   options by weight or severity;
5. derived values are computed (a BMI a score takes is then stated), the finding couplings applied
   (fever with temperature, confusion with GCS), cross-variable constraints and physiology checked,
   and the calculator run on exactly what the note will state (`reading.calculator_inputs`).
A draw the calculator refuses (a value outside its limits, a formula undefined) is drawn again.

Limits: adults only (the registry's limits and the note reader's age forms); one pack case per
vignette; facts the calculator does not use come only from the pack case and the spec's context.
"""

from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass
from typing import Any

from simulator.calculators import CalcResult, Calculator, CalculatorInputError
from simulator.case import Case
from simulator.errors import SimulatorError
from simulator.expressions import Expression
from simulator.generator import _normal_value, _presented_value
from simulator.notes.lexicon import lexicon
from simulator.packs import AgePrior, Prior, VariableSpec
from simulator.vignettes.kit import Kit, option_key
from simulator.vignettes.reading import calculator_inputs
from simulator.vignettes.schema import FactSpec

MAX_DRAWS = 200
DRAW = "draw"  # an `expr` that yields this leaves the fact to its spec's own draw
DEFAULT_POPULATION = Prior(age=AgePrior(mean=55, sd=18, min=18, max=95), female=0.5)


@dataclass
class CalculatorCase:
    """One vignette: the patient, what the note states outside the registry (`details`: dates,
    doses, drugs), the question, the calculator's inputs and its result."""

    calculator: str
    seed: int
    case: Case                       # values (canonical) and findings, in the extended registry
    details: dict[str, Any]          # input -> value written by a regimen, a date or the question
    question: str
    inputs: dict[str, Any]           # exactly what the calculator was given
    result: CalcResult
    setting: str | None = None       # the pack diagnosis the patient was drawn from
    show: tuple[str, ...] = ()       # derived values the note states (inputs of the calculator)
    denied: tuple[str, ...] = ()     # findings the note must deny
    negatives: tuple[str, ...] = ()  # findings the note may deny (absent items of the calculator)

    @property
    def answer(self) -> Any:
        return self.result.answer

    def answer_text(self, calc: Calculator) -> str:
        unit = f" {calc.unit}" if calc.output == "number" and calc.unit else ""
        return calc.answer_text(self.answer) + unit

    def to_json(self, registry, reveal: bool = False) -> dict[str, Any]:
        """The patient as simulator JSON (case schema) plus `details` and the question; with
        `reveal`, the answer, the inputs and the setting too."""
        out = self.case.to_json(registry)
        out["seed"], out["calculator"] = self.seed, self.calculator
        out["details"] = {k: _plain(v) for k, v in self.details.items()}
        out["question"] = self.question
        if reveal:
            out["answer"] = list(self.answer) if isinstance(self.answer, tuple) else self.answer
            out["inputs"] = {k: _plain(v) for k, v in self.inputs.items()}
            out["setting"] = self.setting
        return out


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, _dt.date) else v


# ---- drawing ---------------------------------------------------------------------------------------

class _Draw:
    """The facts of one attempt, and the rules that fill them in."""

    def __init__(self, kit: Kit, calc: Calculator, rng: random.Random):
        self.kit, self.calc, self.rng = kit, calc, rng
        self.spec = kit.spec.calculators[calc.id]
        self.reg = kit.sim.registry
        self.values: dict[str, float] = {}
        self.findings: set[str] = set()
        self.absent: set[str] = set()       # findings decided absent (by the pack case's plan or a draw)
        self.details: dict[str, Any] = {}
        self.show: set[str] = set()
        self.denied: set[str] = set()
        self.negatives: set[str] = set()
        self.inapplicable: set[str] = set()  # items whose `when` is false (no note denies them)
        self.pending: set[str] = set()      # inputs not decided yet
        self.setting: str | None = None
        self.pack = ""
        self.departures: frozenset[str] = frozenset()

    # -- the patient ---------------------------------------------------------------------------------
    def patient(self) -> None:
        spec, rng = self.spec, self.rng
        settings = self.kit.settings(self.calc.id)
        if settings and rng.random() < spec.setting_share:
            dx = rng.choice(settings)
            base = self.kit.base.generate(rng.getrandbits(32), diagnosis=dx)
            self.setting, self.pack = dx, base.pack
            self.age, self.sex = base.age, base.sex
            self.values = {v: x for v, x in base.values.items() if not self.reg.variables[v].derive}
            self.findings = set(base.findings)
            plan = self.kit.base.plan(dx)
            self.absent = {f for f, _ in plan.symptoms} - self.findings
            self.departures = plan.departures
        else:
            pop = spec.population or DEFAULT_POPULATION
            self.sex = "F" if rng.random() < pop.female else "M"
            self.age = int(round(min(pop.age.max, max(pop.age.min, rng.gauss(pop.age.mean, pop.age.sd)))))
        self.severity = rng.random()
        self.latents = {k: rng.uniform(*r) for k, r in {**self.kit.spec.latents, **spec.latents}.items()}

    # -- scope of expressions ------------------------------------------------------------------------
    def scope(self) -> dict[str, Any]:
        s: dict[str, Any] = {f: False for f in self.reg.findings}
        s.update({f: True for f in self.findings})
        s.update(self.values)
        s.update(self.details)
        s.update(self.latents)
        s.update(age=self.age, sex=self.sex, severity=self.severity)
        return s

    def known(self, names) -> bool:
        return not self.waiting(names) and all(
            n in self.reg.findings or n in self.values or n in self.details or n in self.latents
            or n in ("age", "sex", "severity") for n in names)

    def waiting(self, names) -> bool:
        """True while a fact these names need is still to be drawn."""
        return bool(set(names) & self.pending)

    def s(self, jitter: float) -> float:
        return min(1.0, max(0.0, self.severity + self.rng.gauss(0.0, jitter)))

    def prevalence(self, p, jitter: float) -> float:
        if isinstance(p, (tuple, list)):
            return p[0] + (p[1] - p[0]) * self.s(jitter)
        return float(p)

    # -- one fact --------------------------------------------------------------------------------
    def decide(self, name: str, fs: FactSpec, required: bool) -> bool:
        """Fill in fact `name`; False when it waits for facts not known yet."""
        rng = self.rng
        if fs.when:
            cond = Expression.parse(fs.when)
            if not self.known(cond.names):
                return False
            if not cond.evaluate(self.scope()):
                self.absent.add(name)
                self.inapplicable.add(name)
                return True
        if name in self.reg.findings:
            return self.finding(name, fs)
        wording = self.kit.spec.wording_of(name)
        if not required and fs.given is not None and rng.random() >= fs.given:
            return True                      # an optional input left out
        if not required and fs.given is None and name not in self.kit.spec.inputs and name not in self.spec.inputs \
                and name not in self.spec.facts and not self.kit.coupled(name):
            return True                      # optional with no spec: not stated
        if wording.negation_of:
            return self.negation(name, fs, wording.negation_of)
        if name in self.reg.variables:
            return self.variable(name, fs)
        inp = self.calc.input(name)
        if inp.kind == "choice":
            return self.choice(inp, fs, wording)
        if inp.kind == "date":
            return self.date(name, fs)
        if fs.values is None:
            return True
        if fs.by and fs.by in self.pending:
            return False
        values = fs.values[str(self.details.get(fs.by, self.scope().get(fs.by)))] if fs.by else fs.values
        self.details[name] = rng.choice(values)
        return True

    def finding(self, fid: str, fs: FactSpec) -> bool:
        if fid in self.findings or fid in self.absent:
            return True
        if fs.expr:
            e = Expression.parse(fs.expr)
            if self.waiting(e.names):
                return False
            value = e.evaluate(self.scope()) if self.known(e.names) else DRAW
            if value == DRAW:                # its sources were left out, or it says so: the prevalence decides
                present = fs.p is not None and self.rng.random() < self.prevalence(fs.p, fs.jitter)
            else:
                present = bool(value)
        else:
            present = fs.p is not None and self.rng.random() < self.prevalence(fs.p, fs.jitter)
        if present:
            self.findings.add(fid)
        else:
            self.absent.add(fid)
            if fs.otherwise:
                self.findings.add(fs.otherwise)
        return True

    def negation(self, name: str, fs: FactSpec, of: list[str]) -> bool:
        """A yes/no item that means 'none of these': true -> all denied; false -> one present."""
        if self.rng.random() < self.prevalence(fs.p or 0.5, fs.jitter):
            self.findings -= set(of)
            self.denied |= set(of)
        elif not set(of) & self.findings:
            self.findings.add(self.rng.choice(of))
        return True

    def variable(self, vid: str, fs: FactSpec) -> bool:
        var, rng = self.reg.variables[vid], self.rng
        if vid in self.values:
            return True
        if var.derive:                       # stated as a fact: draw what it is computed from
            self.show.add(vid)
            for n in self.reg.derived[vid].names:
                if n in self.reg.variables and n not in self.values and n not in self.facts:
                    self.facts[n] = (self.kit.spec.fact_spec(self.calc.id, n), True)
                    self.pending.add(n)
            return True
        coupling = self.kit.coupling(vid)
        if fs.by and fs.by in self.pending:
            return False
        companions = self.kit.sim.physiology.companions({vid}) - {vid} - set(self.values)
        missing = [n for n in companions if not (n in self.pending and self.facts[n][1])]
        for n in missing:                    # a coupled value is reported with what it comes from,
            self.facts[n] = (self.kit.spec.fact_spec(self.calc.id, n), True)   # even an optional input
            self.pending.add(n)
        if companions:
            return False
        physiology = self.kit.sim.physiology
        sources = set(Expression.parse(fs.expr).names) if fs.expr else \
            set(coupling[0].names) if coupling is not None else set(physiology.inputs_of(vid))
        if self.waiting(sources) and (fs.expr or not self.stalled):
            return False
        if fs.expr or coupling is not None:
            expr, sd = (Expression.parse(fs.expr), fs.sd) if fs.expr else coupling
            if self.known(expr.names):
                x = expr.evaluate(self.scope()) + (rng.gauss(0.0, sd) if sd else 0.0)
                return self.set_value(vid, x)
            if fs.expr and fs.range is None and fs.values is None:
                return True                  # computed only: its sources are not stated
        band = physiology.expected(vid, self.physiology_scope(), self.departures)
        if band is not None and not fs.expr:
            expected, _, _, sd = band
            return self.set_value(vid, expected + (rng.gauss(0.0, sd) if sd else 0.0))
        if fs.values is not None:
            x = rng.choice(fs.values if isinstance(fs.values, list) else fs.values[str(self.details[fs.by])])
        elif fs.range is not None:
            x = _presented_value(var, VariableSpec(range=fs.range, p=self.prevalence(fs.p or 1.0, 0),
                                                   jitter=fs.jitter), self.severity, self.sex, rng)
        else:
            x = _normal_value(var, self.sex, rng)
        return self.set_value(vid, x)

    def physiology_scope(self) -> dict[str, Any]:
        return {**self.values, "age": self.age, "female": self.sex == "F"}

    def set_value(self, vid: str, x: float) -> bool:
        """Set a value inside the registry's limits, the calculator's limits and the bounds of the
        physiology coupling that applies to it (as generation keeps pack cases inside them)."""
        var = self.reg.variables[vid]
        lo, hi = var.limits
        try:
            inp = self.calc.input(vid)
            lo, hi = max(lo, inp.low), min(hi, inp.high)
        except CalculatorInputError:
            pass
        band = self.kit.sim.physiology.expected(vid, self.physiology_scope(), self.departures)
        if band is not None:
            step = 10.0 ** -var.decimals     # keep rounding from carrying a value past a bound
            b_lo, b_hi = band[1] + step, band[2] - step
            if b_lo <= b_hi:
                x = min(b_hi, max(b_lo, x))
        self.values[vid] = var.round(min(hi, max(lo, x)))
        return True

    def choice(self, inp, fs: FactSpec, wording) -> bool:
        rng = self.rng
        key = DRAW
        if fs.expr:
            e = Expression.parse(fs.expr)
            if self.waiting(e.names):
                return False
            if self.known(e.names):
                key = str(e.evaluate(self.scope()))
        if key != DRAW:
            pass
        elif fs.ordered:
            key = fs.ordered[min(len(fs.ordered) - 1, int(self.s(fs.jitter) * len(fs.ordered)))]
        else:
            if fs.differs_from and fs.differs_from in self.pending:
                return False
            weights = dict(fs.weights or {str(k): 1.0 for k in inp.options if k != "NT"})
            if fs.differs_from:
                weights.pop(str(self.details.get(fs.differs_from)), None)
            key = rng.choices(list(weights), list(weights.values()))[0]
        value = option_key(inp, key)
        finding = wording.options.get(str(value))
        if not wording.options:
            self.details[inp.name] = value
        elif finding and (value != inp.default or rng.random() >= wording.unstated):
            self.findings.add(finding)
        elif value == inp.default and wording.deny and wording.deny not in self.findings:
            self.negatives.add(wording.deny)
        if wording.options and finding is None and value != inp.default:
            raise SimulatorError(f"{self.calc.id}: option {value!r} of {inp.name} has no finding to state it; "
                                 f"add it under wording.{inp.name}.options in knowledge/calculators/vignettes.yaml")
        return True

    def date(self, name: str, fs: FactSpec) -> bool:
        if fs.after:
            if fs.after not in self.details:
                return False
            lo, hi = fs.days or (0, 0)
            self.details[name] = self.details[fs.after] + _dt.timedelta(days=self.rng.randint(lo, hi))
        else:
            lo, hi = (_dt.date.fromisoformat(d) for d in (fs.between or ("2010-01-01", "2025-12-31")))
            self.details[name] = lo + _dt.timedelta(days=self.rng.randint(0, (hi - lo).days))
        return True

    # -- everything --------------------------------------------------------------------------------
    def fill(self) -> None:
        spec, calc = self.spec, self.calc
        excluded: set[str] = set()
        if spec.bundles:
            lo, hi = spec.bundles.pick
            names = sorted(spec.bundles.sets)
            chosen = set(self.rng.sample(names, self.rng.randint(lo, min(hi, len(names)))))
            excluded = {m for n in names if n not in chosen for m in spec.bundles.sets[n]}
        inputs = [i for i in calc.inputs if i.name not in ("age", "sex") and i.name not in excluded]
        for inp in inputs:                   # a calculator's own item replaces a broader pack finding
            fs = self.kit.spec.fact_spec(calc.id, inp.name)
            if inp.kind == "bool" and set(fs.absorbs) & self.findings:
                self.findings -= set(fs.absorbs)
                self.findings.add(inp.name)
        self.facts = {name: (fs, False) for name, fs in spec.facts.items()}
        self.facts.update({i.name: (self.kit.spec.fact_spec(calc.id, i.name), i.required) for i in inputs})
        self.pending = set(self.facts)
        self.stalled = False
        while self.pending:
            progress = False
            for name in [n for n in list(self.facts) if n in self.pending]:
                fs, required = self.facts[name]
                self.pending.discard(name)
                if self.decide(name, fs, required):
                    progress = True
                else:
                    self.pending.add(name)
            if not progress:
                if self.stalled:
                    raise SimulatorError(f"{calc.id}: inputs {sorted(self.pending)} wait on each other; check their "
                                         "`expr`, `when` and couplings in knowledge/calculators/vignettes.yaml")
                self.stalled = True      # couplings whose sources never come fall back to their spec
            else:
                self.stalled = False
        for f in calc.inputs:                # absent items of the score are the pertinent negatives
            if f.kind == "bool" and f.name in self.reg.findings and f.name not in self.findings \
                    and f.name not in self.inapplicable:
                self.negatives.add(f.name)

    def case(self, seed: int) -> Case:
        order = self.kit.sim.variable_order
        lex = lexicon(self.kit.sim)          # a pack finding no phrase can state without naming its
        inputs = {i.name for i in self.calc.inputs}   # diagnosis is left out (the label is not asked)
        findings = [f for f in self.reg.findings if f in self.findings and (lex.finding_phrases(f) or f in inputs)]
        values = {v: x for v, x in self.values.items() if v not in self.spec.hide}   # used, never written
        case = Case(age=self.age, sex=self.sex, values=values, findings=findings, pack=self.pack, seed=seed)
        self.kit.sim.add_derived(case)
        case.findings = self.kit.sim.physiology.apply_findings(case.facts(), case.findings, self.departures)
        case.values = dict(sorted(case.values.items(), key=lambda kv: order[kv[0]]))
        return case


def calculator_case(sim, calculator_id: str, seed: int) -> CalculatorCase:
    """A vignette for calculator `calculator_id` (id, name or alias), the same for the same seed."""
    from simulator import calculators

    kit = Kit.of(sim)
    calc = calculators.get(calculator_id)
    rng = random.Random(f"vignette:{calc.id}:{seed}")
    last = ""
    for _ in range(MAX_DRAWS):
        draw = _Draw(kit, calc, rng)
        draw.patient()
        draw.fill()
        case = draw.case(seed)
        problem = kit.sim.constraint_failure(case) or kit.sim.physiology.missing_inputs(case.values) or next(
            (b.message for b in kit.sim.physiology.breaks(case, draw.departures)), None)
        if problem:
            last = problem
            continue
        inputs = calculator_inputs(kit, calc, case.values, set(case.findings), draw.details, draw.show,
                                   case.age, case.sex)
        try:
            result = calc.compute(inputs)
        except CalculatorInputError as exc:
            last = str(exc)
            continue
        return CalculatorCase(calc.id, seed, case, draw.details, kit.question(calc, draw.details), inputs, result,
                              draw.setting, tuple(sorted(draw.show)), tuple(sorted(draw.denied)),
                              tuple(sorted(draw.negatives)))
    raise SimulatorError(f"{calc.id}: no vignette in {MAX_DRAWS} draws for seed {seed} (last problem: {last}); "
                         "check its spec in knowledge/calculators/vignettes.yaml")
