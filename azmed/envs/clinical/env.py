"""The clinical environment: the case simulator behind the environment protocol (DESIGN §3).

Task types
- diagnosis:   a case -> one diagnosis (multiple choice unless `choices=0`: the label and
               distractors that the engine does not fire on the case and that are not nested with
               the label, preferably with partial evidence in it). Truth: the engine's label.
- abduction:   a case with one criteria variable hidden and the diagnosis given -> a value for it
               that makes the engine reach that diagnosis (any such value is correct; verified by
               re-running the engine on the completed case).
- calculation: values and a calculator -> its result (exact for integer scores, +-5 % else).
- next_step:   a case and its diagnosis -> the first management step from the pack that fits the
               case (steps can depend on severity); graded by the step's text and synonyms.
- self_edit:   the proposer rewrites a given case (add a confounder, drop a give-away finding,
               change units); the result is a diagnosis task if the simulator still validates it.
               The trainer keeps it only when it lands in the learnability band.

Proposals are edits of a reference case in the line format of `simulator.render` ("name: value
unit" lines; JSON also accepted): the proposer writes only the lines it changes (a whole case
written out is accepted too), `validate` applies them to the reference case
(`simulator.validation.edit_case`), the engine decides the new label, and an unchanged copy of a
known case is rejected as `duplicate`. `self_edit` proposals are whole rewritten cases.

Options (`ClinicalEnvConfig`, `envs.clinical.options.*` in a training config): task types,
packs, multiple-choice options, extra pack folders, seed tasks per type, lenient parsing.

Seeds: training draws cases from seeds below `HELDOUT_SEED_BASE`; `heldout_tasks` uses seeds
from it upward, so the held-out suite never overlaps training cases.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Any, Sequence

from pydantic import Field, field_validator

from azmed.envs.base import EnvConfig, Environment, Rejection, Task, Verdict, stable_key
from simulator import calculators
from simulator.case import Case
from simulator.core import Simulator
from simulator.render import summary, to_lines
from simulator.validation import (EDIT_FIELDS, case_from_json, case_identity, edit_case, parse_case, proposal_dict,
                                 validate_case)
from simulator.verify import ManagementIndex, answer_number, grade_calculation, grade_diagnosis

TASK_TYPES = ("diagnosis", "abduction", "calculation", "next_step", "self_edit")
HELDOUT_SEED_BASE = 2_000_000_000
TRAIN_SEED_RANGE = 1_000_000_000
EDITS = ("add a confounding finding or value that does not change the diagnosis",
         "remove one finding that gives the diagnosis away, keeping the diagnosis reachable",
         "change the units of two measurements (for example mg/dL to mmol/L) with converted values")


class ClinicalEnvConfig(EnvConfig):
    """Options of the clinical environment (`make_env("clinical", **options)`)."""

    task_types: list[str] = Field(default_factory=lambda: list(TASK_TYPES), description="task types offered: "
                                  + ", ".join(TASK_TYPES))
    packs: str | list[str] = Field("all", description="rule packs whose cases are used: 'all', a pack name or "
                                   "a list of them")
    choices: int = Field(4, ge=0, description="answer options of a diagnosis task (multiple choice; 0 = free answer)")
    packs_dirs: list[str] = Field(default_factory=list, description="extra folders of rule packs to load")
    seed_tasks_per_type: int = Field(8, ge=1, description="simulator tasks that start each task type's buffer")
    lenient: bool = Field(True, description="drop a minority of unknown lines in a proposal instead of rejecting "
                          "it (see simulator.validation.parse_case)")

    @field_validator("task_types")
    @classmethod
    def _known_task_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TASK_TYPES))
        if unknown:
            raise ValueError(f"unknown clinical task types {unknown}; choose from {list(TASK_TYPES)}")
        return value


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
        packs = cfg.packs
        self.packs = list(self.sim.packs) if packs == "all" else [packs] if isinstance(packs, str) else list(packs)
        self.options = cfg.choices  # answer options of a diagnosis task (read by `_choices`)
        self.lenient = cfg.lenient
        self.n_seed = cfg.seed_tasks_per_type
        self.reg = self.sim.registry

    @property
    def task_types(self) -> Sequence[str]:
        return self._task_types

    # ---- task construction from cases -------------------------------------------------------------
    def _case_key(self, case: Case) -> str:
        return stable_key(*case_identity(case))

    def _choices(self, case: Case, rng: random.Random) -> list[str]:
        """Option names: the label and distractors that do not fire on the case, are not nested
        with the label, and preferably have partial evidence in it (simulator/options.py)."""
        return [self.sim.diagnoses[d].name for d in self.sim.options(case, self.options, rng)]

    def _payload(self, case: Case) -> dict:
        return {"case": case.to_json(self.reg), "lines": to_lines(case, self.reg), "summary": summary(case, self.reg)}

    def diagnosis_task(self, case: Case, task_type: str = "diagnosis", meta: dict | None = None) -> Task:
        key = self._case_key(case)
        payload = self._payload(case)
        if self.options:
            payload["options"] = self._choices(case, random.Random(key))
        return Task("clinical", task_type, payload, case.label, key,
                    {"pack": self.sim.pack_of[case.label], "diagnosis": case.label, **(meta or {})})

    def abduction_task(self, case: Case, rng: random.Random, mask: str | None = None) -> Task | Rejection:
        criteria_vars = [v for v in self.sim.criteria_variables(case.label) if v in case.values
                         and not self.reg.variables[v].derive]
        if mask is not None:
            vid = self.reg.resolve(mask)
            if vid not in criteria_vars:
                return Rejection("schema", f"mask '{mask}' must be a measured variable in the diagnosis's criteria: "
                                 f"{', '.join(criteria_vars) or 'none'}")
        elif not criteria_vars:
            return Rejection("schema", "the diagnosis has no measured variable to hide")
        else:
            vid = rng.choice(sorted(criteria_vars))
        var = self.reg.variables[vid]
        payload = {"case": case.to_json(self.reg), "summary": summary(case, self.reg, hide={vid}),
                   "hidden": vid, "hidden_name": var.name, "unit": var.unit,
                   "diagnosis": case.label_name, "diagnosis_id": case.label}
        payload["case"]["measurements"].pop(vid, None)
        for dvid in list(payload["case"]["measurements"]):  # derived values would reveal the hidden one
            if self.reg.variables[dvid].derive and vid in self.reg.derived[dvid].names:
                payload["case"]["measurements"].pop(dvid)
        return Task("clinical", "abduction", payload, var.round(case.values[vid]),
                    stable_key(self._case_key(case), vid), {"pack": self.sim.pack_of[case.label], "diagnosis": case.label})

    def calculation_task(self, case: Case, calc_id: str) -> Task | Rejection:
        values = case.facts()
        try:
            calc = calculators.get(calc_id)
            result = calc.compute(values)
        except calculators.CalculatorInputError as exc:
            return Rejection("missing-input", str(exc))
        # every input the case gives (required ones and any optional findings present); findings
        # not listed are absent, as the solver prompt says
        inputs = {i.name: values[i.name] for i in calc.inputs if values.get(i.name) is not None}
        payload = {"calculator": calc.id, "calculator_name": calc.name, "inputs": inputs,
                   "case": case.to_json(self.reg), "unit": calc.unit, "integer": calc.integer, "kind": calc.kind}
        return Task("clinical", "calculation", payload, result.answer,
                    stable_key(calc.id, sorted((k, str(v)) for k, v in inputs.items())),
                    {"pack": case.pack or "calculators", "calculator": calc.id, "integer": calc.integer,
                     "explanation": result.explanation})

    def case_calculators(self, case: Case) -> list[str]:
        """Calculators worth asking about for a case: every required input present and at least
        two of them measured values (a score from age alone teaches nothing)."""
        out = []
        for c in calculators.applicable(case.facts()):
            if sum(1 for n in c.required if n in case.values) >= 2:
                out.append(c.id)
        return sorted(out)

    def next_step_task(self, case: Case) -> Task:
        """The first management step of the case's diagnosis that fits this case (a pack's steps
        can depend on severity: symptomatic hyponatraemia -> hypertonic saline)."""
        dx = self.sim.diagnoses[case.label]
        index, step = self.sim.management_step(case)
        payload = {"case": case.to_json(self.reg), "summary": summary(case, self.reg), "diagnosis": dx.name,
                   "diagnosis_id": dx.id}
        return Task("clinical", "next_step", payload, step.first_line, stable_key("next", self._case_key(case)),
                    {"pack": self.sim.pack_of[dx.id], "diagnosis": dx.id, "management": index})

    def task_from_seed(self, task_type: str, seed: int) -> Task:
        """A task built from a generated case (seed tasks, held-out tasks)."""
        rng = random.Random(seed)
        pack = self.packs[seed % len(self.packs)]
        case = self.sim.generate(seed, pack=pack)
        if task_type in ("diagnosis", "self_edit"):
            return self.diagnosis_task(case, task_type)
        if task_type == "abduction":
            task = self.abduction_task(case, rng)
        elif task_type == "next_step":
            return self.next_step_task(case)
        else:
            usable = self.case_calculators(case)
            if not usable:
                raise RuntimeError(f"no calculator applies to seed {seed}")
            task = self.calculation_task(case, rng.choice(sorted(usable)))
        if isinstance(task, Rejection):
            raise RuntimeError(f"seed {seed}: {task}")
        return task

    def _tasks_from_seeds(self, task_type: str, seeds) -> list[Task]:
        out = []
        for s in seeds:
            try:
                out.append(self.task_from_seed(task_type, s))
            except RuntimeError:
                continue
        return out

    # ---- protocol ----------------------------------------------------------------------------------
    def seed_tasks(self, task_type: str) -> list[Task]:
        tasks = self._tasks_from_seeds(task_type, range(1, 1 + 3 * self.n_seed))[: self.n_seed]
        self.remember(tasks)
        return tasks

    def sample_tasks(self, task_type: str, n: int, rng: random.Random) -> list[Task]:
        """Fresh simulator tasks from training seeds (never the held-out range)."""
        return self._tasks_from_seeds(task_type, [rng.randrange(TRAIN_SEED_RANGE) for _ in range(n)])

    def heldout_tasks(self, n: int, task_types: Sequence[str] = ("diagnosis", "calculation")) -> list[Task]:
        """`n` tasks split evenly over `task_types`, from fixed seeds training never draws."""
        out = []
        per = -(-n // len(task_types))
        for i, tt in enumerate(task_types):
            base = HELDOUT_SEED_BASE + i * 10_000_000
            out += self._tasks_from_seeds(tt, range(base, base + per + per // 4))[:per]
        return out[:n]

    def propose_prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        """Show the references and ask for an edit of the last one: the changed lines only (a
        small model can do that), which `validate` applies to that reference before the engine
        labels the result. `self_edit` asks for the whole rewritten case instead."""
        refs = self._case_refs(references)
        *others, ref = refs
        shown = "".join(f"Example case:\n{self._ref_text(r, task_type)}\n\n" for r in others)
        shown += f"Patient case:\n{self._ref_text(ref, task_type)}\n\n"
        if task_type == "self_edit":
            edit = rng.choice(EDITS)
            return (f"{shown}Rewrite this case: {edit}. Keep the same 'name: value unit' lines. "
                    "Reply with the rewritten case only.")
        if task_type == "calculation" and "calculator" not in ref.payload:  # a case without one
            c = calculators.get(rng.choice(self._case_calculator_ids()))
            return (f"{shown}Write a new patient case that has every value needed for the {c.name} "
                    f"({', '.join(c.required)}), in the same 'name: value unit' lines. Start with the line "
                    f"'calculator: {c.id}'. Reply with the case only.")
        if task_type == "calculation":
            c = calculators.get(ref.payload["calculator"])
            return (f"{shown}Write a new patient for the {c.name} by changing one or two of its inputs "
                    f"({', '.join(c.required)}). Reply with the changed lines only, as 'name: value unit'.")
        return (f"{shown}Write a new patient by changing one or two lines of this case, for example a lab "
                "value, a symptom or the age. Reply with the changed lines only, as 'name: value unit'.")

    def _case_calculator_ids(self) -> list[str]:
        """Calculators a case can feed: a numeric answer and every required input a variable or
        finding of the registry (or age/sex); dates, doses and steroid choices are not case data."""
        return sorted(c.id for c in calculators.CALCULATORS.values()
                      if c.output == "number" and c.required
                      and all(n in ("age", "sex") or self.reg.resolve(n) for n in c.required))

    def _case_refs(self, references: Sequence[Task]) -> list[Task]:
        return [r for r in references if "case" in r.payload] or self.seed_tasks("diagnosis")[:1]

    def _ref_text(self, task: Task, task_type: str) -> str:
        lines = task.payload["lines"] if "lines" in task.payload else self._lines_from_json(task.payload["case"])
        if task_type == "calculation" and "calculator" in task.payload:
            lines = f"calculator: {task.payload['calculator']}\n{lines}"
        return lines

    def _lines_from_json(self, case_json: dict) -> str:
        case = case_from_json(self.sim, case_json)
        return to_lines(case, self.reg) if case is not None else ""

    def validate(self, task_type: str, proposal_text: str, references: Sequence[Task] = ()) -> Task | Rejection:
        """A proposal -> a task, or a rejection with its reason. With `references` (the tasks the
        proposer was shown), the proposal's lines edit the last one (see `propose_prompt`)."""
        proposed = self._proposed_case(task_type, proposal_text, references)
        if isinstance(proposed, Rejection):
            return proposed
        case, fields, changed, ref_calc = proposed
        if task_type == "calculation":
            calc = str(fields.get("calculator", "") or "").strip()
            if not calc:
                return Rejection("schema", "start the case with a line 'calculator: NAME'")
            try:
                calculators.get(calc)
            except calculators.CalculatorInputError as exc:
                return Rejection("schema", str(exc))
            if not changed and calc == ref_calc:
                return Rejection("duplicate", "no line changes the reference case; change one of its inputs")
            task = self.calculation_task(case, calc)
        else:
            if not changed:
                return Rejection("duplicate", "no line changes the reference case; change a value or a finding")
            if self.sim.pack_of[case.label] not in self.packs:
                return Rejection("out-of-scope", f"the engine labels it {case.label} ({case.label_name}), outside "
                                 f"the packs in training: {', '.join(self.packs)}")
            if task_type == "abduction":
                task = self.abduction_task(case, random.Random(self._case_key(case)), fields.get("mask"))
            elif task_type == "next_step":
                task = self.next_step_task(case)
            else:
                task = self.diagnosis_task(case, task_type)
        if isinstance(task, Rejection):
            return task
        return self.admit(task, "change some values or findings")

    def _proposed_case(self, task_type: str, text: str, references: Sequence[Task]):
        """(case, non-case fields such as the calculator, whether the case differs from the
        reference, the reference's calculator) of a proposal, or its rejection. With a reference
        case the proposal edits it; a self-edit and a proposal without a reference are whole cases."""
        label = task_type != "calculation"  # a calculation needs values, not a diagnosis
        refs = [r for r in references if "case" in r.payload]
        reference = case_from_json(self.sim, refs[-1].payload["case"]) if refs else None
        if reference is not None and task_type != "self_edit":
            ref_calc = refs[-1].payload.get("calculator") if task_type == "calculation" else None
            edit = edit_case(self.sim, reference, text, fields={"calculator": ref_calc} if ref_calc else None,
                             lenient=self.lenient, label=label)
            if isinstance(edit, Rejection):
                return edit
            return edit.case, edit.fields, edit.changed, ref_calc
        data = proposal_dict(text)
        if isinstance(data, Rejection):
            return data
        fields = {k: data.pop(k) for k in EDIT_FIELDS if k in data}
        case = (validate_case if label else parse_case)(self.sim, data, lenient=self.lenient)
        if isinstance(case, Rejection):
            return case
        return case, fields, True, None

    def solve_prompt(self, task: Task) -> str:
        p = task.payload
        if task.task_type in ("diagnosis", "self_edit"):
            text = f"Patient: {p['summary']}\n\nWhat is the most likely diagnosis?"
            if p.get("options"):
                text += " Choose one: " + "; ".join(p["options"]) + "."
            return text + " Answer with the diagnosis name only."
        if task.task_type == "abduction":
            return (f"Patient: {p['summary']}\n\nThe diagnosis is {p['diagnosis']}. Give a value of "
                    f"{p['hidden_name'].lower()} (in {p['unit']}) consistent with this diagnosis. Answer with the number only.")
        if task.task_type == "calculation":
            vals = ", ".join(f"{k} = {_fmt(v)}" for k, v in p["inputs"].items())
            unit = f" ({p['unit']})" if p.get("unit") else ""
            return (f"Calculate the {p['calculator_name']}{unit} from: {vals} (anything not listed is absent). "
                    "Answer with the number only.")
        if task.task_type == "next_step":
            return (f"Patient: {p['summary']}\n\nDiagnosis: {p['diagnosis']}. What is the first management step? "
                    "Answer in a few words.")
        raise ValueError(f"unknown task type {task.task_type}")

    def verify(self, task: Task, answer_text: str) -> Verdict:
        if task.task_type in ("diagnosis", "self_edit"):
            return grade_diagnosis(answer_text, task.answer, self.sim.diagnosis_index,
                                   {k: d.name for k, d in self.sim.diagnoses.items()})
        if task.task_type == "calculation":
            kind = task.payload.get("kind") or ("integer" if task.payload.get("integer") else "decimal")
            return grade_calculation(answer_text, task.answer, kind)
        if task.task_type == "next_step":
            return self._verify_next_step(task, answer_text)
        if task.task_type == "abduction":
            return self._verify_abduction(task, answer_text)
        raise ValueError(f"unknown task type {task.task_type}")

    @cached_property
    def _management(self) -> ManagementIndex:
        return ManagementIndex(self.sim.diagnoses.values())

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


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
