"""AZ-Med tasks as rows for other trainers, and their grading by the environment that made them.

    from azmed.envs import make_env
    from azmed.integrations.tasks import draw_tasks, task_row, grade, answer_text
    env = make_env("clinical", task_types=["diagnosis", "calculation"])
    rows = [task_row(env, t) for t in draw_tasks(env, n=32, seed=0)]
    grade(rows[0]["task"], "Diabetic ketoacidosis", rows[0]["env_options"])   # a Verdict

A row holds what every integration needs:
- `prompt`: the chat AZ-Med's own trainer shows the solver (its system prompt, then the
  environment's `solve_prompt(task)`); never the hidden answer;
- `task`: the whole task as JSON (`Task.to_json`), hidden answer included, for the grader;
- `env` and `env_options`: the environment's registry name and its non-default options, so a
  grader in another process (a TRL reward, a verifiers rubric) rebuilds the same environment;
- `task_type`, for per-type metrics.

Grading is the environment's own `verify`, so an answer scores the same here as in `azmed
train` and `azmed eval`: `reward_of(verdict)` is the self-play solver reward (1 right, 0 wrong,
`FORMAT_PENALTY` when nothing could be read). `answer_text` picks out what is graded from a
completion in any shape a trainer hands over (plain text, chat messages as dicts or objects, a
last turn that ended on a tool call).

Tasks come from the protocol: `sample_tasks` (fresh tasks from training seeds, falling back to
`seed_tasks` for an environment without a generator) or `heldout_tasks` (fixed seeds training
never draws) for `split="heldout"`.

Limits: environments are cached per process by (name, options), so a grader never rebuilds one
per completion; an environment built around a custom simulator object (not from its options)
is rebuilt from its options only.
"""

from __future__ import annotations

import atexit
import functools
import json
import random
from typing import Any, Iterable, Mapping, Sequence

from azmed.envs import Environment, Task, Verdict, make_env
from azmed.model import DEFAULT_SYSTEM

# The self-play solver's reward for an answer that cannot be read (`selfplay.format_penalty`'s
# default), so a TRL or verifiers reward adds up to the self-play solve reward.
FORMAT_PENALTY = -0.5
SPLITS = ("train", "heldout")


# ---- drawing tasks ---------------------------------------------------------------------------

def draw_tasks(env: Environment, task_types: Sequence[str] | None = None, n: int = 32, seed: int = 0,
               split: str = "train") -> list[Task]:
    """`n` tasks of `task_types` (default: all the environment offers), interleaved by type so
    that a small `n` still covers every type. `split="train"` draws from training seeds with
    `seed`; `split="heldout"` takes the environment's fixed held-out tasks (`seed` unused)."""
    types = list(task_types or env.task_types)
    unknown = [t for t in types if t not in env.task_types]
    if unknown:
        raise ValueError(f"environment {env.name!r} offers task types {list(env.task_types)}, not {unknown}; "
                         "choose from those (or enable them in its options)")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if split == "heldout":
        heldout = getattr(env, "heldout_tasks", None)
        if heldout is None:
            raise ValueError(f"environment {env.name!r} has no held-out tasks; use split='train'")
        return list(heldout(n, task_types=types))[:n]
    per_type = -(-n // len(types))
    rng = random.Random(seed)
    by_type = [_train_tasks(env, t, per_type, rng) for t in types]
    mixed = [tasks[i] for i in range(per_type) for tasks in by_type if i < len(tasks)]
    return mixed[:n]


def _train_tasks(env: Environment, task_type: str, n: int, rng: random.Random) -> list[Task]:
    """Fresh tasks from the environment's generator (a few tries: some seeds give none), else
    its seed tasks repeated."""
    out: list[Task] = []
    for _ in range(4):
        if len(out) >= n:
            break
        out += env.sample_tasks(task_type, n - len(out), rng)
    if not out:
        seeds = env.seed_tasks(task_type)
        if not seeds:
            raise ValueError(f"environment {env.name!r} gives no {task_type} tasks")
        out = [seeds[i % len(seeds)] for i in range(n)]
    return out[:n]


def environment_options(env: Environment) -> dict[str, Any]:
    """The options that rebuild `env` with `make_env(env.name, **options)` (non-defaults only)."""
    return env.config.model_dump(mode="json", exclude_defaults=True)


def task_row(env: Environment, task: Task, system_prompt: str = DEFAULT_SYSTEM) -> dict[str, Any]:
    """The row of one task (see the module docstring); its `prompt` is the self-play solver's."""
    messages = [{"role": "user", "content": env.solve_prompt(task)}]
    if system_prompt:
        messages.insert(0, {"role": "system", "content": system_prompt})
    return {"prompt": messages, "task": json.dumps(task.to_json()),
            "env": env.name, "env_options": json.dumps(environment_options(env), sort_keys=True),
            "task_type": task.task_type}


# ---- grading ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def environment(name: str, options_json: str = "{}") -> Environment:
    """The environment `name` with these options, built once per process and closed at its exit
    (the code environment's sandbox workers)."""
    env = make_env(name, **json.loads(options_json or "{}"))
    atexit.register(env.close)
    return env


def _json_text(value: str | Mapping | None, what: str) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    raise TypeError(f"{what} must be a JSON string or a mapping, got {type(value).__name__}")


@functools.lru_cache(maxsize=4096)
def _verdict(task_json: str, options_json: str, answer: str) -> Verdict:
    task = Task.from_json(json.loads(task_json))
    return environment(task.env, options_json).verify(task, answer)


def grade(task: str | Mapping | Task, answer: str, env_options: str | Mapping | None = None) -> Verdict:
    """The environment's own verdict on `answer` to `task` (a row's `task` JSON, its dict, or a
    `Task`). The same task and answer are verified once per process (two rewards share it).
    JSON keeps its key order: a solve prompt lists a task's values in the order they were given."""
    if isinstance(task, Task):
        task = task.to_json()
    return _verdict(_json_text(task, "task"), _json_text(env_options, "env_options"), answer or "")


def reward_of(verdict: Verdict, format_penalty: float = FORMAT_PENALTY) -> float:
    """The self-play solver reward of a verdict: 1 right, 0 wrong, `format_penalty` unreadable.

    >>> reward_of(Verdict(True, 12.0, "ok")), reward_of(Verdict(False, 9.0, "no"))
    (1.0, 0.0)
    >>> reward_of(Verdict(False, None, "no number", formatted=False))
    -0.5
    """
    if not verdict.formatted:
        return float(format_penalty)
    return 1.0 if verdict.correct else 0.0


# ---- what is graded in a completion ----------------------------------------------------------------

def answer_text(completion: str | Iterable[Any]) -> str:
    """The text graded for a completion: plain text as it is; for chat messages (dicts or
    objects with `role` and `content`), the model's last turn, with the call it ended on (a tool
    call a trainer parsed out of the text) written back in AZ-Med's grammar.

    >>> answer_text("Diabetic ketoacidosis")
    'Diabetic ketoacidosis'
    >>> answer_text([{"role": "assistant", "content": "", "tool_calls": [{"type": "function",
    ...     "function": {"name": "map", "arguments": {"sbp": "120 mmHg", "dbp": 80}}}]},
    ...     {"role": "tool", "name": "map", "content": "map = 93.333 mmHg"},
    ...     {"role": "assistant", "content": "93.3"}])
    '93.3'
    >>> answer_text([{"role": "assistant", "content": "MAP:", "tool_calls": [{"type": "function",
    ...     "function": {"name": "map", "arguments": {"sbp": "120 mmHg", "dbp": 80}}}]}])
    'MAP: map(sbp=120 mmHg, dbp=80)'
    """
    if isinstance(completion, str):
        return completion
    for message in reversed(list(completion or [])):
        if _field(message, "role") != "assistant":
            continue
        text = _content_text(_field(message, "content"))
        calls = [call_text(c) for c in (_field(message, "tool_calls") or [])]
        return " ".join(part for part in [text.strip(), *calls] if part)
    return ""


def call_text(tool_call: Any) -> str:
    """A parsed tool call (OpenAI shape, as dict or object) written back as `name(input=value, ...)`;
    a value holding a comma, a bracket or a quote is quoted.

    >>> call_text({"type": "function", "function": {"name": "gcs", "arguments": {"gcs_verbal": "confused, oriented"}}})
    'gcs(gcs_verbal="confused, oriented")'
    """
    function = _field(tool_call, "function") or tool_call
    name = _field(function, "name") or ""
    arguments = _field(function, "arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return f"{name}({arguments})"
    return f"{name}({', '.join(f'{k}={_call_value(v)}' for k, v in dict(arguments).items())})"


def _call_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return f'"{text}"' if any(ch in text for ch in ',()"') else text


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(_field(part, "text") or "") for part in content)
