"""The environment protocol shared by every environment (DESIGN §3), as a base class that
declares everything the self-play trainer and the evaluation call, with a default wherever one
makes sense.

An environment names its task types and, for each, can seed the buffer, write the proposer's
prompt, validate a proposal into a `Task` (whose hidden answer the environment computes itself)
or a `Rejection` with a reason, write the solver's prompt (never holding the hidden answer) and
verify an answer into a `Verdict`.

    class MyEnv(Environment):
        name = "my-env"
        all_task_types = ("deduction",)    # what a training config may name under task_types
        Config = MyEnvConfig               # typed options (a subclass of EnvConfig)
        heldout_suite = "my-heldout"       # the evaluation suite of its held-out tasks, if any
        ...                                 # task_types, seed_tasks, propose_prompt, validate,
                                           # solve_prompt, verify

    env = MyEnv(timeout=2.0)               # options are validated by `Config`

then one line in `azmed.envs.ENVIRONMENTS` makes it playable by `azmed train`.

What the base class owns:
- duplicate detection, in one place: `remember(tasks)` marks tasks as known (seeds, a resumed
  run's buffers) and `admit(task)` turns a task equal to a known one into a `duplicate`
  rejection, else remembers it. Environments call `admit` on every task they validate; the
  trainer never compares keys itself. The memory holds the newest `remembered_keys` keys.
- batched defaults: `validate_many` and `verify_many` loop over `validate` and `verify`; an
  environment that can batch (the code environment runs all programs in one sandbox call)
  overrides them.
- `sample_tasks` (fresh tasks from the environment's own generator; none by default),
  `demonstration` / `proposal_demonstration` (correct answers and valid proposals written by the
  environment itself, for the trainer's warm-up; none by default), `in_setting` (a task asked
  "direct" or with "tools"; unchanged by default) and `close` (release what the environment
  started; nothing by default).

Everything here is plain data and pure functions of the environment: no torch, no model.
"""

from __future__ import annotations

import abc
import hashlib
import json
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from pydantic import Field

from azmed.config import StrictModel
# Rejection and Verdict: the same types for every environment, and `extract_block`: defined
# with the simulator, which must not import azmed.
from simulator.answers import extract_block  # noqa: F401  (re-exported)
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


class EnvConfig(StrictModel):
    """Options every environment has; each environment's `Config` adds its own."""

    remembered_keys: int = Field(100_000, ge=0, description="known task keys kept for duplicate checks "
                                 "(the oldest are forgotten first)")


class Environment(abc.ABC):
    """See the module docstring. Subclasses set `name` and `Config` and implement the abstract
    methods; the rest have defaults."""

    name: ClassVar[str]
    all_task_types: ClassVar[tuple[str, ...]] = ()  # every task type it can offer (its options may choose
                                                    # fewer); a training config may name only these
    Config: ClassVar[type[EnvConfig]] = EnvConfig
    enabled_by_default: ClassVar[bool] = False  # in a training config that does not mention it
    heldout_suite: ClassVar[str | None] = None  # the `azmed eval` suite of this environment's held-out tasks

    def __init__(self, config: EnvConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise TypeError("give the options either as a config object or as keywords, not both")
        self.config = config if config is not None else self.Config(**options)
        self._known: OrderedDict[str, None] = OrderedDict()

    # ---- what every environment defines ---------------------------------------------------
    @property
    @abc.abstractmethod
    def task_types(self) -> Sequence[str]:
        """The task types offered (with the options given)."""

    @abc.abstractmethod
    def seed_tasks(self, task_type: str) -> list[Task]:
        """A few valid tasks to start the buffer of `task_type` (remembered as known)."""

    @abc.abstractmethod
    def propose_prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        """The proposer's prompt, showing `references` (K tasks from the buffer)."""

    @abc.abstractmethod
    def validate(self, task_type: str, proposal_text: str, references: Sequence[Task] = ()) -> Task | Rejection:
        """Parse and check a proposal; the hidden answer is computed here. `references` are the
        tasks shown in the proposer's prompt (an environment whose proposals edit a reference
        uses them; others ignore them). A task equal to a known one is a `duplicate`."""

    @abc.abstractmethod
    def solve_prompt(self, task: Task) -> str:
        """The solver's prompt for `task`; never contains `task.answer`."""

    def propose_guide(self, task_type: str, prompt: str = ""):
        """A guide that keeps a proposal of `task_type` (in answer to `prompt`) inside its format
        while it is written (`simulator.spec.guide.SpecGuide`), or None: the proposal is free."""
        return None

    def solve_guide(self, task: Task):
        """A guide that keeps the solver's answer to `task` inside a grammar while it is written
        (`simulator.tools.CallGuide`; see `azmed.generation`), or None: the answer is free."""
        return None

    @abc.abstractmethod
    def verify(self, task: Task, answer_text: str) -> Verdict:
        """Grade the solver's answer to `task`."""

    # ---- defaults -------------------------------------------------------------------------
    def validate_many(self, task_type: str, texts: Sequence[str],
                      references: Sequence[Sequence[Task]] = ()) -> list[Task | Rejection]:
        """`validate` for many proposals of one type (`references[i]` are those shown for the
        i-th); an environment that can run them together overrides this."""
        refs = list(references) or [()] * len(texts)
        return [self.validate(task_type, text, r) for text, r in zip(texts, refs, strict=True)]

    def verify_many(self, tasks: Sequence[Task], answers: Sequence[str]) -> list[Verdict]:
        """`verify` for many answers; an environment that can grade them together overrides this."""
        return [self.verify(t, a) for t, a in zip(tasks, answers, strict=True)]

    def sample_tasks(self, task_type: str, n: int, rng: random.Random) -> list[Task]:
        """Up to `n` fresh tasks from the environment's own generator, never from its held-out
        range (the trainer's `selfplay.env_tasks`). None by default: the environment has no
        generator of its own, and the solver's tasks all come from the buffer."""
        return []

    def demonstration(self, task: Task) -> str | None:
        """A correct answer to `task`, written as the solver should write it, from the
        environment's own knowledge (no human label); the trainer's warm-up learns from these.
        None by default: the environment has no demonstrations."""
        return None

    def proposal_demonstration(self, task_type: str, rng: random.Random, prompt: str = "") -> str | None:
        """A valid proposal of `task_type`, written as the proposer should write it in answer to
        `prompt` (for the warm-up); None by default."""
        return None

    def in_setting(self, task: Task, setting: str) -> Task:
        """`task` asked in an evaluation setting ("direct" or "tools"); unchanged by default (an
        environment without tools asks every task one way)."""
        return task

    def close(self) -> None:
        """Release what the environment started (a sandbox pool). Nothing by default."""

    def __enter__(self) -> "Environment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- duplicate detection: one owner -------------------------------------------------------
    def remember(self, tasks: Sequence[Task]) -> None:
        """Count these tasks as known: proposing one again is a `duplicate`."""
        for task in tasks:
            self._known[task.key] = None
            self._known.move_to_end(task.key)
        while len(self._known) > self.config.remembered_keys:
            self._known.popitem(last=False)

    def is_known(self, key: str) -> bool:
        return key in self._known

    def admit(self, task: Task, how_to_change: str = "change it") -> Task | Rejection:
        """`task`, now remembered; or a `duplicate` rejection (saying `how_to_change` it) when a
        task with its key is known."""
        if self.is_known(task.key):
            return Rejection("duplicate", f"this task is identical to a known one; {how_to_change}")
        self.remember([task])
        return task


def stable_key(*parts: Any) -> str:
    """A short, stable hash of JSON-serialisable parts, used as a task de-duplication key."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]
