"""The `real-cases` evaluation suite: any real-case JSONL file (`azmed.real_cases`) answered by
the model and graded by answer type, with the same prompt the fine-tuning trains on.

    azmed eval --suite real-cases real_cases.jsonl=cases.jsonl --adapter runs/<run>/adapter --out ft.json

    from azmed.eval.real_cases import RealCaseOptions, RealCaseSuite
    from azmed.eval.harness import run_suite
    suite = RealCaseSuite(RealCaseOptions(jsonl="runs/<run>/heldout.jsonl"))
    run = run_suite(suite, policy, limit=None, batch_size=8, max_batch_tokens=24000)

`azmed finetune` scores its held-out cases with it before and after training. Grading reuses
the evaluation harness's pure graders, so a real case is scored like the benchmark it came from:
- diagnosis and other text answers: `azmed.eval.agentclinic.grade` (normalised exact match,
  plus the rule packs' synonyms when a pack knows the diagnosis); a text answer written as
  weeks and days ("14 weeks, 1 days") is compared in days;
- number and integer: inside `answer_range` when the row gives it, else within 5 % (numbers)
  or exactly (integers), as MedCalc-Bench does (`azmed.eval.medcalc.grade`);
- date: the same calendar date, however it is written.
Accuracy is broken down by task type, answer type and source.

Limits: a text answer other than a diagnosis must match after normalisation; free-text
answers that say the same thing in other words count as wrong (no model judges answers).
"""

from __future__ import annotations

from typing import Any

from azmed.envs.base import Verdict
from azmed.eval.config import RealCaseOptions
from azmed.eval.harness import Item, Suite, SuiteDataError, scored, shared_simulator
from azmed.real_cases import RealCase, RealCaseError, prompt_text, read_cases
from simulator.answers import parse_date, parse_weeks_days

__all__ = ["RealCaseOptions", "RealCaseSuite", "grade_answer", "truth_of"]

RELATIVE_TOLERANCE = 0.05


def truth_of(case: RealCase) -> dict[str, Any]:
    """The grading target of a case, in the form the harness's graders take."""
    if case.answer_type in ("number", "integer"):
        value = float(case.answer.replace(",", ""))
        if case.answer_range is not None:
            lower, upper = case.answer_range
        elif case.answer_type == "integer":
            lower = upper = value
        else:
            lower, upper = sorted((value * (1 - RELATIVE_TOLERANCE), value * (1 + RELATIVE_TOLERANCE)))
        return {"kind": "number", "answer": value, "lower": lower, "upper": upper,
                "integer": case.answer_type == "integer"}
    if case.answer_type == "date":
        return {"kind": "date", "answer": parse_date(case.answer).isoformat()}
    weeks_days = parse_weeks_days(case.answer) if "week" in case.answer.lower() else None
    if weeks_days is not None:
        return {"kind": "weeks_days", "answer": list(weeks_days)}
    return {"kind": "text", "answer": case.answer}


class RealCaseSuite(Suite):
    name = "real-cases"
    group_keys = ("task_type", "answer_type", "source")

    @property
    def sim(self):
        return shared_simulator()

    def items(self, limit: int | None = None) -> list[Item]:
        if not self.options.jsonl:
            raise SuiteDataError("the real-cases suite needs a file: add real_cases.jsonl=PATH (a real-case JSONL, "
                                 "e.g. from `azmed data convert` or runs/<run>/heldout.jsonl; see docs/real-cases.md)")
        try:
            cases = read_cases(self.options.jsonl, strict=True).cases
        except RealCaseError as exc:
            raise SuiteDataError(str(exc)) from None
        return [Item(id=c.id, data=c, truth=truth_of(c),
                     groups={"task_type": c.task_type, "answer_type": c.answer_type, "source": c.source or "-"})
                for c in cases[:limit or None]]

    def prompt(self, item: Item) -> str:
        return prompt_text(item.data)

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        truth = item.truth
        if truth["kind"] != "text":
            from azmed.eval.medcalc import grade as grade_calculation

            return scored(grade_calculation(truth, answer))
        from azmed.eval.agentclinic import grade as grade_text

        pack_id = self.sim.diagnosis_index.lookup(truth["answer"]) if item.data.task_type == "diagnosis" else None
        return grade_text(truth["answer"], answer, pack_id, self.sim if pack_id else None)


def grade_answer(case: RealCase, answer: str, suite: RealCaseSuite | None = None) -> Verdict:
    """Grade one answer to `case` (a convenience over `RealCaseSuite.score`)."""
    suite = suite or RealCaseSuite(RealCaseOptions())
    item = Item(id=case.id or "", data=case, truth=truth_of(case))
    record = suite.score(item, answer)
    return Verdict(record["correct"], record["parsed"], record["reason"], formatted=record["formatted"])
