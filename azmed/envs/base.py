"""The environment protocol shared by the clinical and code environments (DESIGN §3).

An environment names its task types and, for each, can seed the buffer, write the
proposer's prompt, validate a proposal into a `Task` (whose hidden answer the environment
computes itself) or a `Rejection` with a reason, write the solver's prompt (never holding
the hidden answer) and verify an answer into a `Verdict`.

Everything here is plain data and pure functions of the environment: no torch, no model.
The trainer only sees this protocol.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

# Rejection and Verdict: the same types for every environment (defined with the simulator, which
# must not import azmed).
from simulator.case import Rejection, Verdict  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Task:
    """A validated task.

    `payload` is what the solver may see (JSON-serialisable); `answer` is the hidden truth,
    computed by the environment, never by the proposer. `key` identifies the task for
    de-duplication (same key = same task).
    """

    env: str
    task_type: str
    payload: dict[str, Any]
    answer: Any
    key: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "task_type": self.task_type,
            "payload": self.payload,
            "answer": self.answer,
            "key": self.key,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Task":
        return cls(d["env"], d["task_type"], d["payload"], d["answer"], d["key"], d.get("meta", {}))


@runtime_checkable
class Environment(Protocol):
    """What the self-play trainer needs from an environment."""

    name: str

    @property
    def task_types(self) -> Sequence[str]: ...

    def seed_tasks(self, task_type: str) -> list[Task]:
        """A few valid tasks to start the buffer of `task_type`."""

    def propose_prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        """The proposer's prompt, showing `references` (K tasks from the buffer)."""

    def validate(self, task_type: str, proposal_text: str, references: Sequence[Task] = ()) -> Task | Rejection:
        """Parse and check a proposal; the hidden answer is computed here. `references` are the
        tasks shown in the proposer's prompt (an environment whose proposals edit a reference
        uses them; others ignore them)."""

    def solve_prompt(self, task: Task) -> str:
        """The solver's prompt for `task`; never contains `task.answer`."""

    def verify(self, task: Task, answer_text: str) -> Verdict:
        """Grade the solver's answer to `task`."""


def stable_key(*parts: Any) -> str:
    """A short, stable hash of JSON-serialisable parts, used as a task de-duplication key."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def extract_block(text: str, tag: str) -> str | None:
    """The content of the last ```tag ... ``` fenced block in `text`, else of the last
    <tag>...</tag> element, else None. Models put the part we parse in such a block.

    >>> extract_block("x ```json\\n{\\"a\\": 1}\\n``` y", "json")
    '{"a": 1}'
    >>> extract_block("<answer> 42 </answer>", "answer")
    '42'
    """
    fence = f"```{tag}"
    start = text.rfind(fence)
    if start != -1:
        body_start = start + len(fence)
        end = text.find("```", body_start)
        return text[body_start: end if end != -1 else len(text)].strip()
    open_tag, close_tag = f"<{tag}>", f"</{tag}>"
    start = text.rfind(open_tag)
    if start != -1:
        body_start = start + len(open_tag)
        end = text.find(close_tag, body_start)
        return text[body_start: end if end != -1 else len(text)].strip()
    return None
