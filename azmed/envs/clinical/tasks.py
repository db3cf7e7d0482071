"""Clinical tasks built from the simulator's cases: the payload the solver may see, the hidden
answer the simulator computed, and what else the environment keeps about a task (its source, the
specification that made it, a demonstration answer).

    maker = TaskMaker(sim, config)
    task = maker.diagnosis(case, text=note.text, style=note.style, source="simulator")
    task = maker.calculation(vignette, note, source="seed")         # from simulator.vignettes
    task = maker.from_seed("calculation", seed=42, source="simulator")

Payload (JSON): `text` (the case as the solver reads it: a note, or "Patient: ..." lines),
`format`, `style`, `case` (the case as JSON, for edits and for people; never shown with the
label), and per task type: `options` (diagnosis and next_step, when multiple choice), `question`, `calculator`,
`calculator_name`, `unit`, `kind` and `tools` (calculation), `diagnosis` (next_step).
Meta (never shown): `source` ("seed", "simulator" or "proposed"), `pack`, `diagnosis` or
`calculator`, `spec` (the canonical specification text of a proposed or seed task) and `demo`
(a correct answer written as the solver should write it: the environment's own demonstration,
no human label).

Keys: a task built from a case is identified by its case (and calculator); a task made from a
specification by the specification's canonical text, so proposing the same specification again
is a duplicate.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Any

from azmed.envs.base import Rejection, Task, stable_key
from azmed.envs.clinical.config import ClinicalEnvConfig
from simulator import calculators, tools
from simulator.case import Case
from simulator.notes import NoteError, render_note
from simulator.render import summary
from simulator.validation import case_identity
from simulator.verify import ManagementIndex
from simulator.vignettes import calculator_case, demonstration, render_vignette
from simulator.vignettes.kit import Kit

CALCULATION_SOURCES = ("vignette", "case")


def drawn(key: str, what: str, share: float) -> bool:
    """Whether the task `key` is one of the `share` asked as `what` (`direct_share`,
    `free_text_share`): a fixed draw from the key, so a task is always asked the same way.

    >>> drawn("k", "direct", 0.0), drawn("k", "direct", 1.0)
    (False, True)
    """
    return share > 0 and int(stable_key(what, key), 16) % 10_000 < share * 10_000


class TaskMaker:
    """Builds the clinical environment's tasks for one simulator and config."""

    def __init__(self, sim, config: ClinicalEnvConfig):
        self.sim = sim
        self.reg = sim.registry
        self.config = config
        packs = config.packs
        self.packs = list(sim.packs) if packs == "all" else [packs] if isinstance(packs, str) else list(packs)
        chosen = config.calculators
        self.calculators = sorted(calculators.CALCULATORS) if chosen == "all" else \
            [calculators.get(c).id for c in ([chosen] if isinstance(chosen, str) else chosen)]

    # ---- how a case reads ------------------------------------------------------------------------
    def case_text(self, case: Case, seed: int, style: str | None = None, hide=()) -> tuple[str, str | None, Any]:
        """(text, style, note) of a case in the configured format; NoteError when no note of it
        can be written without naming its diagnosis."""
        if self.config.case_format == "lines":
            return f"Patient: {summary(case, self.reg, hide=set(hide))}", None, None
        note = render_note(self.sim, case, style=style, seed=seed, hide=hide)
        return note.text, note.style, note

    def _base(self, case: Case, text: str, style: str | None) -> dict[str, Any]:
        return {"text": text, "format": self.config.case_format, "style": style, "case": case.to_json(self.reg)}

    def _meta(self, source: str, spec: str | None, **extra: Any) -> dict[str, Any]:
        meta = {"source": source, **extra}
        if spec:
            meta["spec"] = spec
        return meta

    def key(self, task_type: str, case: Case | None = None, spec: str | None = None, extra: str = "") -> str:
        if spec:
            return stable_key("spec", task_type, spec)
        return stable_key(task_type, *case_identity(case), extra)

    # ---- the task types --------------------------------------------------------------------------
    def diagnosis(self, case: Case, text: str, style: str | None, source: str, spec: str | None = None,
                  task_type: str = "diagnosis") -> Task:
        payload = self._base(case, text, style)
        key = self.key(task_type, case, spec)
        if self.config.choices and not drawn(key, "free-text", self.config.free_text_share):
            ids = self.sim.options(case, self.config.choices, random.Random(key))
            payload["options"] = [self.sim.diagnoses[d].name for d in ids]
        dx = self.sim.diagnoses[case.label]
        return Task("clinical", task_type, payload, case.label, key,
                    self._meta(source, spec, pack=self.sim.pack_of[case.label], diagnosis=case.label, demo=dx.name))

    def next_step(self, case: Case, text: str, style: str | None, source: str, spec: str | None = None) -> Task:
        """The first management step of the case's diagnosis that fits this case (a pack's steps
        can depend on severity: symptomatic hyponatraemia -> hypertonic saline)."""
        dx = self.sim.diagnoses[case.label]
        index, step = self.sim.management_step(case)
        payload = {**self._base(case, text, style), "diagnosis": dx.name}
        key = self.key("next_step", case, spec)
        if self.config.step_choices:
            payload["options"] = self.step_options(case, index, random.Random(key))
        return Task("clinical", "next_step", payload, step.first_line, key,
                    self._meta(source, spec, pack=self.sim.pack_of[dx.id], diagnosis=dx.id, management=index,
                               demo=step.first_line))

    def step_options(self, case: Case, index: int, rng: random.Random) -> list[str]:
        """`step_choices` options for the next step of `case` (its diagnosis's step `index`): that
        step, and the first steps of other diagnoses (those confusable with the case first, as a
        diagnosis question's options, then the rest of its pack), each graded wrong for this case,
        in a shuffled order."""
        n, label = self.config.step_choices, case.label
        own = self.sim.diagnoses[label].management[index].first_line
        confusable = [d for d in self.sim.options(case, n, rng) if d != label]
        rest = [d.id for d in self.sim.packs[self.sim.pack_of[label]].diagnoses if d.id not in confusable and d.id != label]
        rng.shuffle(rest)
        options = [own]
        for d in confusable + rest:
            steps = self.sim.diagnoses[d].management
            first = steps[0].first_line if steps else None
            if first and first not in options and not self.management.grade(first, label, index).correct:
                options.append(first)
            if len(options) == n:
                break
        rng.shuffle(options)
        return options

    @cached_property
    def management(self) -> ManagementIndex:
        """Every diagnosis's management steps, to grade next-step answers."""
        return ManagementIndex(self.sim.diagnoses.values())

    def _calculation(self, calc, answer, question: str, text: str, style: str | None, demo: str, source: str,
                     key: str, spec: str | None, pack: str, case_json: dict | None) -> Task:
        payload = {"text": text, "format": self.config.case_format, "style": style, "question": question,
                   "calculator": calc.id, "calculator_name": calc.name, "unit": calc.unit, "kind": calc.kind,
                   "tools": "calculation" in self.config.tools and not drawn(key, "direct", self.config.direct_share)}
        if case_json is not None:
            payload["case"] = case_json
        answer = list(answer) if isinstance(answer, tuple) else answer
        return Task("clinical", "calculation", payload, answer, key,
                    self._meta(source, spec, pack=pack, calculator=calc.id, demo=demo,
                               answer_text=calc.answer_text(tuple(answer) if isinstance(answer, list) else answer)))

    def calculation(self, cc, note, source: str, spec: str | None = None) -> Task:
        """A calculation task from a calculator vignette (`simulator.vignettes`) and its note."""
        calc = calculators.get(cc.calculator)
        key = self.key("calculation", spec=spec) if spec else stable_key("calculation", calc.id, cc.seed)
        return self._calculation(calc, cc.answer, cc.question, note.text, note.style, demonstration(self.sim, cc, note),
                                 source, key, spec, "calculators", None)

    def calculation_from_case(self, case: Case, calc_id: str, text: str, style: str | None, note, source: str,
                              spec: str | None = None) -> Task | Rejection:
        """A calculation task about a pack case whose note carries the calculator's inputs."""
        calc = calculators.get(calc_id)
        try:
            result = calc.compute(case.facts())
            demo = tools.demo_call(calc, case.facts(), note.units if note is not None else None)
        except calculators.CalculatorInputError as exc:
            return Rejection("missing-input", str(exc))
        question = Kit.of(self.sim).question(calc, {})
        return self._calculation(calc, result.answer, question, text, style, demo, source,
                                 self.key("calculation", case, spec, calc.id), spec, case.pack, case.to_json(self.reg))

    def case_calculators(self, case: Case) -> list[str]:
        """Calculators worth asking about for a case: every required input present and at least
        two of them measured values (a score from age alone teaches nothing)."""
        return sorted(c.id for c in calculators.applicable(case.facts())
                      if sum(1 for n in c.required if n in case.values) >= 2)

    # ---- tasks from seeds (seed buffers, fresh simulator tasks, the held-out suite) ----------------
    def from_seed(self, task_type: str, seed: int, source: str, calculator: str | None = None) -> Task:
        """A task of `task_type` from one seed: a generated case of one of the packs (diagnosis,
        next step; a calculation from lines), or, for a calculation written as a note, a vignette
        of `calculator` (default: one drawn from the seed). Raises NoteError when the seed makes
        no such task (a case that cannot be written as a note; callers draw another seed)."""
        if task_type == "calculation" and self.config.case_format == "note":
            calc = calculator or random.Random(f"calculator:{seed}").choice(self.calculators)
            cc = calculator_case(self.sim, calc, seed)
            return self.calculation(cc, render_vignette(self.sim, cc), source)
        case = self.sim.generate(seed, pack=self.packs[seed % len(self.packs)])
        text, style, note = self.case_text(case, seed)
        if task_type == "calculation":  # lines: a calculator the pack case carries
            usable = [c for c in self.case_calculators(case) if c in self.calculators]
            if not usable:
                raise NoteError(f"no calculator applies to the case of seed {seed}")
            made = self.calculation_from_case(case, random.Random(seed).choice(usable), text, style, note, source)
            if isinstance(made, Rejection):
                raise NoteError(made.detail)
            return made
        if task_type == "next_step":
            return self.next_step(case, text, style, source)
        return self.diagnosis(case, text, style, source, task_type=task_type)

    def from_seeds(self, task_type: str, seeds, source: str, calculators_cycle: bool = False) -> list[Task]:
        """Tasks from `seeds`, skipping the rare case that cannot be written as a note; with
        `calculators_cycle`, calculation tasks cycle through every calculator in turn."""
        out = []
        for i, s in enumerate(seeds):
            calc = self.calculators[i % len(self.calculators)] if calculators_cycle and task_type == "calculation" \
                else None
            try:
                out.append(self.from_seed(task_type, s, source, calc))
            except NoteError:
                continue
        return out
