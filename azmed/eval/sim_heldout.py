"""The `sim-heldout` suite: held-out simulator tasks, scored per pack and per task type.

    azmed eval --suite sim-heldout --model embedded --limit 20 --out base.json
    azmed eval --suite sim-heldout sim_heldout.n=400 sim_heldout.task_types='[diagnosis, next_step]' ...

Tasks come from the clinical environment's held-out seeds (`ClinicalEnv.heldout_tasks`: a
fixed seed range that training never draws), split evenly over `sim_heldout.task_types`, written
as clinical notes (diagnoses answered in free text; calculations cycle through every calculator);
the solver's prompt and the grading are the environment's own (`solve_prompt`, `verify`), so the
suite measures exactly what self-play trains, on cases it never saw. In the `direct` setting a
calculation is answered with its value, in `tools` with one calculator call (`--setting`).

Limits: the tasks depend on the installed packs; adding a pack changes the set.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from azmed.config import explain
from azmed.eval.harness import EnvSuite, Item, SuiteDataError, scored


class SimHeldoutSuite(EnvSuite):
    name = "sim-heldout"
    group_keys = ("pack", "task_type")
    settings = ("direct", "tools")

    def make_env(self):
        from azmed.envs.clinical import ClinicalEnv, ClinicalEnvConfig

        try:
            return ClinicalEnv(task_types=self.options.task_types, guided_calls=self.options.guided_calls,
                              guided_values=self.options.guided_values, grade_inputs=self.options.grade_inputs)
        except ValidationError as exc:
            raise SuiteDataError(explain(exc, ClinicalEnvConfig, "sim_heldout", {})) from None

    def items(self, limit: int | None = None) -> list[Item]:
        n = min(limit, self.options.n) if limit else self.options.n
        tasks = [self.env.in_setting(t, self.setting)
                 for t in self.env.heldout_tasks(n, task_types=self.options.task_types)]
        return [Item(id=t.key, data=t, truth=t.answer,
                     groups={"pack": str(t.meta.get("pack", "?")), "task_type": t.task_type})
                for t in tasks]

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        return scored(self.env.verify(item.data, answer))
