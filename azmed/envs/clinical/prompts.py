"""The clinical environment's prompts: what the solver is asked, and what the proposer is asked.

    solve_prompt(task)                      # the case text, the question, the answer format
    tool_prompt(text, question, count=3)    # a question answered with one calculator call
    spec_prompt(sim, kind, examples, rng)   # the proposer's: the specification vocabulary, examples

Prompts are short on purpose: a 135M model reads them, and every prompt token is computed for
every rollout and again in the update. The tool prompt lists only the calculators whose names
best match the question (`simulator.tools.relevant_calculators`), and the same function writes
the tool prompt of the `medcalc` evaluation suite, so training and evaluation ask alike.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence

from azmed.envs.base import Task
from simulator import tools
from simulator.spec import vocabulary

ANSWER_FORMAT = {"integer": "Answer with the number only.", "decimal": "Answer with the number only.",
                 "date": "Answer with the date only (MM/DD/YYYY).",
                 "weeks_days": "Answer with the weeks and days only, as (weeks, days)."}
EDITS = ("add a confounding finding or value that does not change the diagnosis",
         "remove one finding that gives the diagnosis away, keeping the diagnosis reachable",
         "change the units of two measurements (for example mg/dL to mmol/L) with converted values")


def tool_prompt(text: str, question: str, count: int = 3) -> str:
    """A case and a question to be answered with one calculator call; the calculators listed are
    the `count` whose names best match the question (all of them are callable)."""
    listed = tools.relevant_calculators(question, k=count)
    catalogue = tools.describe_tools(listed) if listed else "(any calculator of the kit, by its id)"
    return f"{text.strip()}\n\n{question.strip()}\nCalculators:\n{catalogue}\n{tools.GRAMMAR_HELP}"


def direct_prompt(text: str, question: str, kind: str = "decimal") -> str:
    """A case and a question to be answered with the value itself (`kind`: integer, decimal, date
    or weeks_days picks the answer-format sentence): the prompt of direct calculation tasks, and
    of MedCalc-Bench's direct setting."""
    return f"{text.strip()}\n\n{question.strip()} {ANSWER_FORMAT.get(kind, ANSWER_FORMAT['decimal'])}"


def tool_guide(question: str, count: int = 3, text: str | None = None) -> tools.CallGuide:
    """The guide of `tool_prompt(text, question, count)`: the calls it accepts name one of the
    calculators the prompt lists; given the prompt's `text`, their numbers are those of the text
    and the question (`guided_values`)."""
    return tools.call_guide(question, count, note=None if text is None else f"{text}\n{question}")


def solve_prompt(task: Task, tool_count: int = 3) -> str:
    """The solver's prompt for a clinical task; never contains the hidden answer."""
    p = task.payload
    if task.task_type in ("diagnosis", "self_edit"):
        text = f"{_case_text(p)}\n\nWhat is the most likely diagnosis?"
        if p.get("options"):
            text += " Choose one: " + "; ".join(p["options"]) + "."
        return text + " Answer with the diagnosis name only."
    if task.task_type == "calculation":
        if "question" not in p:  # a calculation from listed inputs (an edit proposal's task)
            vals = ", ".join(f"{k} = {_fmt(v)}" for k, v in p["inputs"].items())
            unit = f" ({p['unit']})" if p.get("unit") else ""
            return (f"Calculate the {p['calculator_name']}{unit} from: {vals} (anything not listed is absent). "
                    "Answer with the number only.")
        if p.get("tools"):
            return tool_prompt(p["text"], p["question"], tool_count)
        return direct_prompt(p["text"], p["question"], p.get("kind") or "decimal")
    if task.task_type == "next_step":
        text = f"{_case_text(p)}\n\nDiagnosis: {p['diagnosis']}. What is the first management step?"
        if p.get("options"):
            return text + " Choose one: " + "; ".join(p["options"]) + "."
        return text + " Answer in a few words."
    if task.task_type == "abduction":
        return (f"Patient: {p['summary']}\n\nThe diagnosis is {p['diagnosis']}. Give a value of "
                f"{p['hidden_name'].lower()} (in {p['unit']}) consistent with this diagnosis. Answer with the number only.")
    raise ValueError(f"unknown task type {task.task_type}")


def _case_text(payload: dict) -> str:
    return payload["text"].strip() if "text" in payload else f"Patient: {payload['summary']}"


def spec_prompt(sim, kind: str, examples: Sequence[str], rng: random.Random, only_listed: bool = False,
                weights: Mapping[str, float] | None = None) -> str:
    """The proposer's prompt: the specification vocabulary (simulator.spec) and examples from the
    buffer; it asks for one new specification. With `only_listed` the first line offers only the
    diagnoses (calculators) it lists, as a guided proposer may write only those; `weights` weight
    the sample of listed ones."""
    shown = "".join(f"\n{e.strip()}\n" for e in examples)
    head = f"{vocabulary(sim, kind, rng, only_listed=only_listed, weights=weights)}\n"
    if shown:
        head += f"\nExamples:{shown}"
    return head + "\nWrite one new specification, different from the examples. Reply with the specification only."


def edit_prompt(task_type: str, shown: str, rng: random.Random, calculator=None, reference_calculator=None) -> str:
    """The proposer's prompt for edit proposals: the reference case(s) in `shown` and what to change."""
    if task_type == "self_edit":
        edit = rng.choice(EDITS)
        return (f"{shown}Rewrite this case: {edit}. Keep the same 'name: value unit' lines. "
                "Reply with the rewritten case only.")
    if task_type == "calculation" and reference_calculator is None:
        c = calculator
        return (f"{shown}Write a new patient case that has every value needed for the {c.name} "
                f"({', '.join(c.required)}), in the same 'name: value unit' lines. Start with the line "
                f"'calculator: {c.id}'. Reply with the case only.")
    if task_type == "calculation":
        c = reference_calculator
        return (f"{shown}Write a new patient for the {c.name} by changing one or two of its inputs "
                f"({', '.join(c.required)}). Reply with the changed lines only, as 'name: value unit'.")
    return (f"{shown}Write a new patient by changing one or two lines of this case, for example a lab "
            "value, a symptom or the age. Reply with the changed lines only, as 'name: value unit'.")


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
