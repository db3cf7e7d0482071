"""The clinical environment: the case simulator behind the environment protocol (DESIGN §3).

Task types (the solver reads a case as a clinical note by default, `case_format`):
- diagnosis:   a note -> one diagnosis, free text (or multiple choice with `choices`: the label and
               distractors the engine does not fire on the case); graded through every pack's
               names, synonyms and ICD-10 codes. Truth: the engine's label.
- calculation: a note and "What is the patient's <quantity> in <unit>?" -> the value. With tools
               (`tools`, on by default) the answer is one calculator call in the kit's grammar
               (`simulator.tools`), executed here, and its result is graded; without, the number
               itself (exact for integer scores, +-5 % else, dates as the same day).
- next_step:   a note and its diagnosis -> the first management step that fits the case (steps
               depend on severity); graded by the step's text and synonyms.
- abduction:   a case with one criteria variable hidden and the diagnosis given -> a value for it
               that makes the engine reach that diagnosis (verified by re-running the engine).
- self_edit:   the proposer rewrites a given case; a diagnosis task if the simulator validates it.

Proposals (`proposals`): by default a case specification (`simulator.spec`: a diagnosis or a
calculator, severity, age, sex and one to three twists) that the simulator instantiates as a
plausible case and note and the engine labels; proposing the same specification again is a
duplicate. Abduction and self-edit proposals, and every proposal with `proposals: edit`, edit a
reference case instead (`azmed.envs.clinical.edits`).

Demonstrations (the environment's own, no human label): `demonstration(task)` is a correct
answer written as the solver should write it (the label's name, the calculator call in the
note's units, the management step); `proposal_demonstration` a valid specification. The
trainer's warm-up learns from them before self-play starts.

Settings: `in_setting(task, "direct" | "tools")` asks a calculation task the other way, for the
evaluation's side-by-side report. In training, `direct_share` asks a fixed share of calculation
tasks directly although tools are on, and `free_text_share` a share of diagnosis tasks with no
options (drawn from each task's key), so that a solver trained on calls and options still
practises the direct answers the external suites ask for.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, Sequence

from azmed.envs.base import Environment, Rejection, Task, Verdict, stable_key
from azmed.envs.clinical.config import (HELDOUT_SEED_BASE, SETTINGS, SPEC_KIND, TASK_TYPES, TRAIN_SEED_RANGE,
                                        ClinicalEnvConfig)
from azmed.envs.clinical.edits import CaseEditor
from azmed.envs.clinical.prompts import solve_prompt, spec_prompt, tool_guide
from azmed.envs.clinical.tasks import TaskMaker
from simulator.core import Simulator
from simulator.notes import NoteError
from simulator.spec import instantiate, parse_spec, sample_spec
from simulator.spec.guide import SpecGuide
from simulator.spec.vocabulary import Words, listed_names
from simulator.tools import CallGuide, OptionGuide, grade_call
from simulator.validation import validate_case
from simulator.verify import ManagementIndex, answer_number, grade_calculation, grade_diagnosis
from simulator.vignettes import render_vignette


class ClinicalEnv(Environment):
    name = "clinical"
    all_task_types = TASK_TYPES
    Config = ClinicalEnvConfig
    enabled_by_default = True
    heldout_suite = "sim-heldout"

    def __init__(self, config: ClinicalEnvConfig | None = None, *, simulator: Simulator | None = None,
                 **options: Any) -> None:
        super().__init__(config, **options)
        cfg = self.config
        self._task_types = tuple(cfg.task_types)
        self.sim = simulator or Simulator.load(extra_dirs=list(cfg.packs_dirs))
        self.reg = self.sim.registry
        self.maker = TaskMaker(self.sim, cfg)
        self.packs = self.maker.packs
        self.editor = CaseEditor(self)
        self._proposed: dict[str, Counter] = {"diagnosis": Counter(), "calculation": Counter()}

    @property
    def task_types(self) -> Sequence[str]:
        return self._task_types

    def uses_specs(self, task_type: str) -> bool:
        """Whether proposals of `task_type` are case specifications (else edits of a case)."""
        return self.config.proposals == "spec" and task_type in SPEC_KIND

    # ---- tasks from the simulator -------------------------------------------------------------------
    def seed_tasks(self, task_type: str) -> list[Task]:
        """`seed_tasks_per_type` tasks: made from sampled specifications when proposals are
        specifications (so the proposer sees examples of the format), else generated cases."""
        n = self.config.seed_tasks_per_type
        if self.uses_specs(task_type):
            rng = random.Random(f"seed-specs:{task_type}")
            tasks: list[Task] = []
            for i in range(4 * n):
                made = self._from_spec(task_type, sample_spec(self.sim, rng, SPEC_KIND[task_type]).to_text(),
                                       seed=1 + i, source="seed")
                if isinstance(made, Task) and all(t.key != made.key for t in tasks):
                    tasks.append(made)
                if len(tasks) == n:
                    break
        elif task_type in ("abduction", "self_edit") or self.config.proposals == "edit":
            tasks = [t for t in (self.editor.seed_case_task(task_type, s) for s in range(1, 1 + 4 * n)) if t][:n]
        else:
            tasks = self.maker.from_seeds(task_type, range(1, 1 + 3 * n), "seed")[:n]
        self.remember(tasks)
        return tasks

    def sample_tasks(self, task_type: str, n: int, rng: random.Random) -> list[Task]:
        """Fresh simulator tasks from training seeds (never the held-out range)."""
        if task_type in ("abduction", "self_edit"):
            return [t for t in (self.editor.seed_case_task(task_type, rng.randrange(TRAIN_SEED_RANGE), "simulator")
                                for _ in range(n)) if t]
        return self.maker.from_seeds(task_type, [rng.randrange(TRAIN_SEED_RANGE) for _ in range(n)], "simulator")

    def heldout_tasks(self, n: int, task_types: Sequence[str] = ("diagnosis", "calculation")) -> list[Task]:
        """`n` tasks split evenly over `task_types`, from fixed seeds training never draws;
        calculation tasks cycle through every calculator."""
        out = []
        per = -(-n // len(task_types))
        for i, tt in enumerate(task_types):
            base = HELDOUT_SEED_BASE + i * 10_000_000
            if tt in ("abduction", "self_edit"):
                made = [t for t in (self.editor.seed_case_task(tt, s, "heldout") for s in range(base, base + 2 * per)) if t]
            else:
                made = self.maker.from_seeds(tt, range(base, base + per + per // 4), "heldout", calculators_cycle=True)
            out += made[:per]
        return out[:n]

    def in_setting(self, task: Task, setting: str) -> Task:
        """`task` asked in `setting` ("direct": answer the value; "tools": answer with a
        calculator call). Only calculation tasks differ between the settings."""
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}; use one of {', '.join(SETTINGS)}")
        if task.task_type != "calculation" or "question" not in task.payload \
                or bool(task.payload.get("tools")) == (setting == "tools"):
            return task
        return Task(task.env, task.task_type, {**task.payload, "tools": setting == "tools"}, task.answer,
                    f"{task.key}:{setting}", task.meta)

    # ---- proposals ---------------------------------------------------------------------------------
    def remember(self, tasks: Sequence[Task]) -> None:
        """Known tasks (see `Environment.remember`); proposed ones also count toward how often
        their diagnosis (calculator) was proposed, for `spec_listing: least_proposed`."""
        super().remember(tasks)
        for task in tasks:
            if task.meta.get("source") == "proposed" and task.task_type in SPEC_KIND:
                kind = SPEC_KIND[task.task_type]
                target = task.meta.get("calculator" if kind == "calculation" else "diagnosis")
                if target:
                    self._proposed[kind][target] += 1

    def listing_weights(self, kind: str) -> dict[str, float] | None:
        """Weights of the names a proposer prompt lists: None (uniform), or with `spec_listing:
        least_proposed` the names proposed least so far first (weight 1, a uniform sample among
        them) and the others only after them (weight 1e-3 / (1 + valid proposals of each)): the
        prompts list names not yet proposed until every one has been, whatever names the model
        prefers among those listed."""
        if self.config.spec_listing != "least_proposed":
            return None
        universe = sorted(self.sim.diagnoses) if kind == "diagnosis" else Words.of(self.sim).calculators
        counts = {target: self._proposed[kind].get(target, 0) for target in universe}
        least = min(counts.values())
        return {target: 1.0 if n == least else 1e-3 / (1 + n) for target, n in counts.items()}

    def propose_prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        if not self.uses_specs(task_type):
            return self.editor.prompt(task_type, references, rng)
        examples = [r.meta["spec"] for r in references if r.meta.get("spec")]
        kind = SPEC_KIND[task_type]
        return spec_prompt(self.sim, kind, examples, rng, only_listed=self.config.guided_specs,
                           weights=self.listing_weights(kind))

    def validate(self, task_type: str, proposal_text: str, references: Sequence[Task] = ()) -> Task | Rejection:
        """A proposal -> a task (its hidden answer computed by the simulator), or a rejection."""
        if not self.uses_specs(task_type):
            task = self.editor.validate(task_type, proposal_text, references)
            return task if isinstance(task, Rejection) else self.admit(task, "change some values or findings")
        spec = parse_spec(self.sim, proposal_text)
        if isinstance(spec, Rejection):
            return spec
        if task_type == "calculation" and not spec.calculator:
            return Rejection("schema", "a calculation specification names its calculator: start with "
                             "'calculator: ID'")
        if task_type != "calculation" and spec.calculator:
            return Rejection("schema", f"a {task_type} specification names a diagnosis, not a calculator; "
                             "leave out the 'calculator:' line")
        text = spec.to_text()
        if self.is_known(self.maker.key(task_type, spec=text)):
            return Rejection("duplicate", "this specification was proposed before; change the diagnosis, the "
                             "patient or a twist")
        seed = int(stable_key("spec-seed", text, [r.key for r in references]), 16) % TRAIN_SEED_RANGE
        task = self._from_spec(task_type, text, seed, "proposed")
        return task if isinstance(task, Rejection) else self.admit(task, "change the specification")

    def _from_spec(self, task_type: str, text: str, seed: int, source: str) -> Task | Rejection:
        """The task a specification makes (its canonical `text`), or why it makes none."""
        inst = instantiate(self.sim, text, seed)
        if isinstance(inst, Rejection):
            return inst
        case = inst.case
        try:
            if inst.rendered is None and inst.calculator is not None:  # a calculator vignette
                note = render_vignette(self.sim, inst.source, style=inst.note.style)
                return self.maker.calculation(inst.source, note, source, spec=text)
            if case.label is not None and self.sim.pack_of[case.label] not in self.packs:
                return Rejection("out-of-scope", f"the engine labels it {case.label_name}, outside the packs in "
                                 f"training: {', '.join(self.packs)}")
            note = inst.rendered
            case_text = note.text if self.config.case_format == "note" else self.maker.case_text(case, seed)[0]
            style = note.style if self.config.case_format == "note" else None
            if task_type == "calculation":
                return self.maker.calculation_from_case(case, inst.calculator, case_text, style, note, source, text)
            if task_type == "next_step":
                return self.maker.next_step(case, case_text, style, source, text)
            return self.maker.diagnosis(case, case_text, style, source, text)
        except NoteError as exc:
            return Rejection("note", str(exc))

    # ---- demonstrations ----------------------------------------------------------------------------
    def demonstration(self, task: Task) -> str | None:
        """A correct answer to `task` as the solver should write it (the environment's own
        knowledge, no human label): the calculator call with tools, else the value, the
        diagnosis name or the management step."""
        meta = task.meta
        if task.task_type == "calculation":
            if not task.payload.get("tools"):
                return meta.get("answer_text")
            guide = self.solve_guide(task)
            demo = meta.get("demo")
            return guide.copied(demo) if demo and isinstance(guide, CallGuide) else demo
        if task.task_type in ("diagnosis", "next_step", "self_edit"):
            return meta.get("demo")
        return None

    def proposal_demonstration(self, task_type: str, rng: random.Random, prompt: str = "") -> str | None:
        """A valid specification for `task_type` (sampled over the whole vocabulary; guided, over
        what the guide of `prompt` lets the proposer write), or None where proposals are edits."""
        if not self.uses_specs(task_type):
            return None
        if not self.config.guided_specs:
            return sample_spec(self.sim, rng, SPEC_KIND[task_type]).to_text()
        guide = self.propose_guide(task_type, prompt)
        for _ in range(20):
            text = guide.sample(rng)
            spec = parse_spec(self.sim, text)
            if not isinstance(spec, Rejection) and \
                    not isinstance(instantiate(self.sim, spec, seed=rng.randrange(1 << 30)), Rejection):
                return text
        return None

    # ---- solving and grading -----------------------------------------------------------------------
    def solve_prompt(self, task: Task) -> str:
        return solve_prompt(task, self.config.tool_count)

    def propose_guide(self, task_type: str, prompt: str = ""):
        """With `guided_specs`, a specification is written inside its format (`SpecGuide`), its
        diagnosis (calculator) one of those `prompt` lists."""
        if self.config.guided_specs and self.uses_specs(task_type):
            kind = SPEC_KIND[task_type]
            return SpecGuide.of(self.sim, kind, listed_names(prompt, kind), patient=self.config.spec_patient)
        return None

    def solve_guide(self, task: Task):
        """With `guided_calls`, a tool task's call is written inside the grammar (`CallGuide` over
        the calculators its prompt lists; with `guided_values`, its numbers copied from the note);
        with `guided_options`, a multiple-choice diagnosis or next step is answered with one of its
        options (`OptionGuide`)."""
        p = task.payload
        if self.config.guided_calls and task.task_type == "calculation" and p.get("tools") and "question" in p:
            return tool_guide(p["question"], self.config.tool_count, p["text"] if self.config.guided_values else None)
        if self.config.guided_options and task.task_type in ("diagnosis", "self_edit", "next_step") and p.get("options"):
            return OptionGuide(p["options"])
        return None

    def verify(self, task: Task, answer_text: str) -> Verdict:
        if task.task_type in ("diagnosis", "self_edit"):
            return grade_diagnosis(answer_text, task.answer, self.sim.diagnosis_index,
                                   {k: d.name for k, d in self.sim.diagnoses.items()})
        if task.task_type == "calculation":
            kind = task.payload.get("kind") or ("integer" if task.payload.get("integer") else "decimal")
            truth = tuple(task.answer) if isinstance(task.answer, list) else task.answer
            if task.payload.get("tools"):
                return grade_call(answer_text, truth, kind,
                                  reference=task.meta.get("demo") if self.config.grade_inputs else None)
            return grade_calculation(answer_text, truth, kind)
        if task.task_type == "next_step":
            return self._verify_next_step(task, answer_text)
        if task.task_type == "abduction":
            return self._verify_abduction(task, answer_text)
        raise ValueError(f"unknown task type {task.task_type}")

    @property
    def _management(self) -> ManagementIndex:
        return self.maker.management

    def _verify_next_step(self, task: Task, answer_text: str) -> Verdict:
        dx = self.sim.diagnoses[task.meta["diagnosis"]]
        index = task.meta.get("management")
        if index is None:  # a task from before steps depended on the case: find it by its text
            index = next((i for i, m in enumerate(dx.management) if m.first_line == task.answer), 0)
        return self._management.grade(answer_text, dx.id, index)

    def _verify_abduction(self, task: Task, answer_text: str) -> Verdict:
        value = answer_number(answer_text)
        if isinstance(value, Verdict):
            return value
        case_json = {**task.payload["case"], "measurements": dict(task.payload["case"]["measurements"])}
        case_json["measurements"][task.payload["hidden"]] = {"value": value, "unit": task.payload["unit"]}
        result = validate_case(self.sim, case_json)
        if isinstance(result, Rejection):
            return Verdict(False, value, f"with {value:g} the case is rejected: {result}")
        ok = result.label == task.payload["diagnosis_id"]
        return Verdict(ok, value, f"the engine then labels it {result.label}" + ("" if ok else f", not {task.payload['diagnosis_id']}"))
