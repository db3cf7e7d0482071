"""AZ-Med tasks for TRL's `GRPOTrainer`: a dataset, reward functions, and the calculators as tools.

    from trl import GRPOConfig, GRPOTrainer
    from azmed.integrations.trl import (CalculatorTools, correctness_reward, format_reward, task_dataset,
                                        use_calculator_calls)

    dataset = task_dataset("clinical", task_types=["diagnosis", "calculation"], n=256, seed=0)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=[correctness_reward, format_reward],
                          train_dataset=dataset, args=GRPOConfig(...), peft_config=LoraConfig(...))
    # with the calculators as tools (TRL's environment_factory; see calculator_tools):
    trainer = GRPOTrainer(..., processing_class=use_calculator_calls(tokenizer),
                          environment_factory=CalculatorTools)

`examples/trl_grpo_clinical.py` trains the embedded model this way on CPU. Install with
`pip install 'azmed[trl]'`.

- `task_dataset(env, ...)`: a `datasets.Dataset` of rows from any registered environment
  (`azmed.integrations.tasks`): `prompt` in chat form, exactly the self-play solver's prompt;
  `task` (the task as JSON, hidden answer included: TRL never shows a column other than
  `prompt` to the model), `env`, `env_options`, `task_type`.
- `correctness_reward`: 1.0 when the environment's own `verify` says the answer is right, else 0.0.
- `format_reward`: 0.0 when the answer could be read, `FORMAT_PENALTY` (-0.5) when not.
  Together, with weights 1 (TRL's default), they give exactly the self-play solver reward, so a
  completion earns the same through TRL as through `azmed train`.
- `CalculatorTools`, `calculator_tools`, `use_calculator_calls`: see `calculator_tools`.

Reward functions take TRL's arguments (`completions` plus the dataset's columns as lists) and
ignore the rest; a completion is graded through `tasks.answer_text` (plain text, or the last
assistant turn of a chat, with a call it ended on written back). They are pure functions of
their inputs: the environment is rebuilt from `env_options` once per process.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from azmed.envs import Environment
from azmed.integrations.calculator_tools import (CalculatorCallError, CalculatorTools, calculator_tools,
                                                 use_calculator_calls)
from azmed.integrations.tasks import (FORMAT_PENALTY, answer_text, draw_tasks, environment, grade, reward_of,
                                      task_row)
from azmed.model import DEFAULT_SYSTEM

__all__ = ["FORMAT_PENALTY", "CalculatorCallError", "CalculatorTools", "calculator_tools", "correctness_reward",
           "format_reward", "task_dataset", "use_calculator_calls"]


def task_dataset(env: Environment | str, task_types: Sequence[str] | None = None, n: int = 64, seed: int = 0,
                 split: str = "train", system_prompt: str = DEFAULT_SYSTEM, **env_options: Any):
    """A `datasets.Dataset` of `n` tasks from `env` (an environment, or its registry name with
    `env_options`), interleaved over `task_types` (default all); `split` is "train" (training
    seeds, `seed`) or "heldout" (the environment's fixed held-out tasks)."""
    from datasets import Dataset

    if isinstance(env, str):
        env = environment(env, json.dumps(env_options, sort_keys=True))
    elif env_options:
        raise TypeError("give env_options only with an environment's name, not with an environment object")
    tasks = draw_tasks(env, task_types, n=n, seed=seed, split=split)
    return Dataset.from_list([task_row(env, t, system_prompt) for t in tasks])


def _per_completion(values: Any, n: int) -> list:
    """A dataset column as TRL passes it (one value per completion), or one value for all."""
    if isinstance(values, (list, tuple)):
        if len(values) != n:
            raise ValueError(f"{len(values)} values for {n} completions: pass the dataset's column as TRL does")
        return list(values)
    return [values] * n


def _verdicts(completions: Sequence[Any], task: Any, env_options: Any):
    n = len(completions)
    return [grade(t, answer_text(c), o)
            for c, t, o in zip(completions, _per_completion(task, n), _per_completion(env_options, n))]


def correctness_reward(completions: Sequence[Any], task: Any, env_options: Any = None, **kwargs: Any) -> list[float]:
    """1.0 for an answer the task's environment grades right, else 0.0 (TRL reward function).

    >>> from azmed.envs import make_env
    >>> from azmed.integrations.tasks import task_row
    >>> env = make_env("clinical", tools=[])      # calculations answered with their value
    >>> task = env.seed_tasks("calculation")[0]
    >>> row = task_row(env, task)
    >>> chat = [{"role": "assistant", "content": f"The answer is {task.answer}."}]
    >>> correctness_reward([chat, "no idea"], task=[row["task"]] * 2, env_options=[row["env_options"]] * 2)
    [1.0, 0.0]
    """
    return [1.0 if v.correct else 0.0 for v in _verdicts(completions, task, env_options)]


def format_reward(completions: Sequence[Any], task: Any, env_options: Any = None, **kwargs: Any) -> list[float]:
    """0.0 for an answer the environment could read, `FORMAT_PENALTY` for one it could not
    (TRL reward function); added to `correctness_reward` it is the self-play solver reward.

    >>> from azmed.envs import make_env
    >>> from azmed.integrations.tasks import task_row
    >>> env = make_env("clinical", tools=[])
    >>> row = task_row(env, env.seed_tasks("calculation")[0])
    >>> format_reward(["The result is 7.", "I cannot tell."], task=[row["task"]] * 2, env_options=[row["env_options"]] * 2)
    [0.0, -0.5]
    """
    return [reward_of(v) - (1.0 if v.correct else 0.0) for v in _verdicts(completions, task, env_options)]
