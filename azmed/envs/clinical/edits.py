"""Edit proposals: the proposer writes the changed lines of a reference case ("name: value unit",
JSON also accepted), `simulator.validation.edit_case` applies them to the reference kept as a
`Case`, and the engine labels the result. Abduction and self-edit proposals always take this
form (`self_edit` rewrites a whole case); diagnosis, calculation and next_step take it when the
environment's `proposals` option is 'edit' (the default is a case specification).

    editor = CaseEditor(env)
    editor.prompt("diagnosis", references, rng)
    editor.validate("diagnosis", "potassium: 6.4 mmol/L", references)   # Task or Rejection

An edit that changes nothing is a `duplicate`; one that names nothing of the case is a `parse`
rejection; a case the engine labels outside the packs in training is `out-of-scope`.
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from azmed.envs.base import Rejection, Task, stable_key
from azmed.envs.clinical.prompts import edit_prompt
from simulator import calculators
from simulator.case import Case
from simulator.render import summary, to_lines
from simulator.validation import (EDIT_FIELDS, case_from_json, case_identity, edit_case, parse_case, proposal_dict,
                                 validate_case)


class CaseEditor:
    """Edit proposals for one clinical environment (`env`: its simulator, task maker and options)."""

    def __init__(self, env):
        self.env = env
        self.sim = env.sim
        self.reg = env.sim.registry

    # ---- tasks only edits make ---------------------------------------------------------------------
    def abduction_task(self, case: Case, rng: random.Random, source: str, mask: str | None = None) -> Task | Rejection:
        """A case with one criteria variable hidden and the diagnosis given -> a value for it."""
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
                   "lines": to_lines(case, self.reg), "hidden": vid, "hidden_name": var.name, "unit": var.unit,
                   "diagnosis": case.label_name, "diagnosis_id": case.label}
        payload["case"]["measurements"].pop(vid, None)
        for dvid in list(payload["case"]["measurements"]):  # derived values would reveal the hidden one
            if self.reg.variables[dvid].derive and vid in self.reg.derived[dvid].names:
                payload["case"]["measurements"].pop(dvid)
        return Task("clinical", "abduction", payload, var.round(case.values[vid]),
                    stable_key(*case_identity(case), vid),
                    {"pack": self.sim.pack_of[case.label], "diagnosis": case.label, "source": source})

    def inputs_task(self, case: Case, calc_id: str, source: str) -> Task | Rejection:
        """A calculation from the case's listed inputs (the task an edited calculation case makes)."""
        values = case.facts()
        try:
            calc = calculators.get(calc_id)
            result = calc.compute(values)
        except calculators.CalculatorInputError as exc:
            return Rejection("missing-input", str(exc))
        inputs = {i.name: values[i.name] for i in calc.inputs if values.get(i.name) is not None}
        payload = {"calculator": calc.id, "calculator_name": calc.name, "inputs": inputs, "case": case.to_json(self.reg),
                   "lines": to_lines(case, self.reg), "unit": calc.unit, "integer": calc.integer, "kind": calc.kind}
        return Task("clinical", "calculation", payload, result.answer,
                    stable_key(calc.id, sorted((k, str(v)) for k, v in inputs.items())),
                    {"pack": case.pack or "calculators", "calculator": calc.id, "source": source,
                     "demo": calc.answer_text(result.answer)})

    def seed_case_task(self, task_type: str, seed: int, source: str = "seed") -> Task | None:
        """A seed task for an edited type: a generated case (abduction, self-edit, or a diagnosis /
        next step / calculation reference when every proposal is an edit)."""
        rng = random.Random(seed)
        maker = self.env.maker
        case = self.sim.generate(seed, pack=maker.packs[seed % len(maker.packs)])
        if task_type == "abduction":
            task = self.abduction_task(case, rng, source)
            return task if isinstance(task, Task) else None
        if task_type == "calculation":
            usable = self.env.maker.case_calculators(case)
            task = self.inputs_task(case, rng.choice(usable), source) if usable else None
            return task if isinstance(task, Task) else None
        lines = {"lines": to_lines(case, self.reg)}
        text = f"Patient: {summary(case, self.reg)}"
        made = maker.next_step(case, text, None, source) if task_type == "next_step" else \
            maker.diagnosis(case, text, None, source, task_type=task_type)
        made.payload.update(lines)
        return made

    # ---- proposals -----------------------------------------------------------------------------------
    def prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        """Show the references and ask for an edit of the last one (see `edit_prompt`)."""
        refs = [r for r in references if "case" in r.payload] or [self.seed_case_task("diagnosis", 1)]
        *others, ref = refs
        shown = "".join(f"Example case:\n{self._ref_text(r, task_type)}\n\n" for r in others)
        shown += f"Patient case:\n{self._ref_text(ref, task_type)}\n\n"
        ref_calc = ref.payload.get("calculator") if task_type == "calculation" else None
        calc = None
        if task_type == "calculation" and ref_calc is None:
            calc = calculators.get(rng.choice(self._case_calculator_ids()))
        return edit_prompt(task_type, shown, rng, calc, calculators.get(ref_calc) if ref_calc else None)

    def _case_calculator_ids(self) -> list[str]:
        """Calculators a case can feed: a numeric answer and every required input a variable or
        finding of the registry (or age/sex); dates, doses and steroid choices are not case data."""
        return sorted(c.id for c in calculators.CALCULATORS.values()
                      if c.output == "number" and c.required
                      and all(n in ("age", "sex") or self.reg.resolve(n) for n in c.required))

    def _ref_text(self, task: Task, task_type: str) -> str:
        lines = task.payload.get("lines") or self._lines_from_json(task.payload["case"])
        if task_type == "calculation" and "calculator" in task.payload:
            lines = f"calculator: {task.payload['calculator']}\n{lines}"
        return lines

    def _lines_from_json(self, case_json: dict) -> str:
        case = case_from_json(self.sim, case_json)
        return to_lines(case, self.reg) if case is not None else ""

    def validate(self, task_type: str, text: str, references: Sequence[Task]) -> Task | Rejection:
        """An edit proposal -> a task (not yet admitted), or a rejection with its reason."""
        proposed = self._proposed_case(task_type, text, references)
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
            return self.inputs_task(case, calc, "proposed")
        if not changed:
            return Rejection("duplicate", "no line changes the reference case; change a value or a finding")
        if self.sim.pack_of[case.label] not in self.env.maker.packs:
            return Rejection("out-of-scope", f"the engine labels it {case.label} ({case.label_name}), outside "
                             f"the packs in training: {', '.join(self.env.maker.packs)}")
        if task_type == "abduction":
            return self.abduction_task(case, random.Random(stable_key(*case_identity(case))), "proposed",
                                       fields.get("mask"))
        text_ = f"Patient: {summary(case, self.reg)}"
        maker = self.env.maker
        task = maker.next_step(case, text_, None, "proposed") if task_type == "next_step" else \
            maker.diagnosis(case, text_, None, "proposed", task_type=task_type)
        task.payload["lines"] = to_lines(case, self.reg)
        return task

    def _proposed_case(self, task_type: str, text: str, references: Sequence[Task]) -> Any:
        """(case, non-case fields such as the calculator, whether the case differs from the
        reference, the reference's calculator) of a proposal, or its rejection. With a reference
        case the proposal edits it; a self-edit and a proposal without a reference are whole cases."""
        label = task_type != "calculation"  # a calculation needs values, not a diagnosis
        refs = [r for r in references if "case" in r.payload]
        reference = case_from_json(self.sim, refs[-1].payload["case"]) if refs else None
        if reference is not None and task_type != "self_edit":
            ref_calc = refs[-1].payload.get("calculator") if task_type == "calculation" else None
            edit = edit_case(self.sim, reference, text, fields={"calculator": ref_calc} if ref_calc else None,
                             lenient=self.env.config.lenient, label=label)
            if isinstance(edit, Rejection):
                return edit
            return edit.case, edit.fields, edit.changed, ref_calc
        data = proposal_dict(text)
        if isinstance(data, Rejection):
            return data
        fields = {k: data.pop(k) for k in EDIT_FIELDS if k in data}
        case = (validate_case if label else parse_case)(self.sim, data, lenient=self.env.config.lenient)
        if isinstance(case, Rejection):
            return case
        return case, fields, True, None
