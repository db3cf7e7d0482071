"""AZ-Med's environments as `verifiers` environments, scored by a `Rubric` over the kit's graders.

    from azmed.integrations.verifiers import load_environment
    vf_env = load_environment("clinical", task_types=["diagnosis", "calculation"], n=256, n_heldout=64)
    # or by module path, as verifiers' own loader and `vf-eval` take it:
    import verifiers as vf
    vf_env = vf.load_environment("azmed.integrations.verifiers", env="clinical")
    results = vf_env.evaluate_sync(client, model="my-model", num_examples=32)   # any OpenAI-compatible server

Install with `pip install 'azmed[verifiers]'` (verifiers 0.2.1 to 0.3.x: the classic `Rubric` /
`SingleTurnEnv` API, which 0.3 keeps as `verifiers.legacy` and 0.4 removed).

The environment is a `vf.SingleTurnEnv`:
- `dataset`: `n` tasks from training seeds (`seed`), `eval_dataset`: `n_heldout` tasks from the
  environment's fixed held-out seeds (none when it has no held-out tasks, or `n_heldout=0`).
  Rows are those of `azmed.integrations.tasks`: `prompt` is the self-play solver's chat,
  `answer` the hidden answer as text (for reading results; grading never compares strings),
  `info` the task as JSON with its environment's name and options.
- `rubric`: `vf.Rubric(funcs=[correctness, readable], weights=[1, 1])`. `correctness` is 1 when
  the environment's own `verify` grades the answer right, `readable` is 0, or `FORMAT_PENALTY`
  (-0.5) when the answer could not be read: their weighted sum is the self-play solver reward,
  and each is also reported as a metric. The answer graded is the last assistant turn
  (`tasks.answer_text`), so a completion scores the same here as in `azmed train`, `azmed eval`
  and the TRL integration.

Any registered environment works (`env="code"` grades programs in the sandbox). Options other
than those named below go to the environment (`make_env(env, **env_options)`).

Limits: single-turn (the calculator tools are offered to TRL's tool loop, `calculator_tools`;
here a calculator call written as the answer is executed by the environment when its task type
takes calls); verifiers starts no model: rollouts need a client of an OpenAI-compatible server.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from azmed.integrations.tasks import FORMAT_PENALTY, answer_text, draw_tasks, environment, grade, task_row
from azmed.model import DEFAULT_SYSTEM

__all__ = ["FORMAT_PENALTY", "correctness", "load_environment", "readable", "verifiers_row"]


def load_environment(env: str = "clinical", task_types: Sequence[str] | None = None, n: int = 256,
                     n_heldout: int = 64, seed: int = 0, system_prompt: str = DEFAULT_SYSTEM, **env_options: Any):
    """A `verifiers.SingleTurnEnv` over the AZ-Med environment `env` (see the module docstring)."""
    import verifiers as vf
    from datasets import Dataset

    source = environment(env, json.dumps(env_options, sort_keys=True))
    train = [verifiers_row(source, t, system_prompt) for t in draw_tasks(source, task_types, n=n, seed=seed)]
    heldout = None
    if n_heldout and hasattr(source, "heldout_tasks"):
        heldout = Dataset.from_list([verifiers_row(source, t, system_prompt)
                                     for t in draw_tasks(source, task_types, n=n_heldout, split="heldout")])
    rubric = vf.Rubric(funcs=[correctness, readable], weights=[1.0, 1.0])
    return vf.SingleTurnEnv(dataset=Dataset.from_list(train), eval_dataset=heldout, rubric=rubric,
                            env_id=f"azmed-{env}", env_args={"env": env, "task_types": list(task_types or []),
                                                             "n": n, "n_heldout": n_heldout, "seed": seed,
                                                             **env_options})


def verifiers_row(source, task, system_prompt: str = DEFAULT_SYSTEM) -> dict[str, Any]:
    """A task as a verifiers row: `prompt`, `answer` (text) and `info` (JSON: the task, its
    environment and options, its type). The task sits under `azmed_task`: verifiers reads an
    `info["task"]` as its own task payload."""
    row = task_row(source, task, system_prompt)
    info = {"azmed_task": row["task"], "env": row["env"], "env_options": row["env_options"],
            "task_type": row["task_type"]}
    return {"prompt": row["prompt"], "answer": _answer_text(task.answer), "info": json.dumps(info)}


def _answer_text(answer: Any) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer, default=str)


def _verdict(completion: Any, info: Any):
    if isinstance(info, str):
        info = json.loads(info)
    if not isinstance(info, dict) or "azmed_task" not in info:
        raise ValueError("this rollout's info holds no AZ-Med task (info['azmed_task']): score rows made by "
                         "azmed.integrations.verifiers.load_environment")
    return grade(info["azmed_task"], answer_text(completion), info.get("env_options"))


def correctness(completion: Any, info: Any, **kwargs: Any) -> float:
    """1.0 when the task's environment grades the answer right, else 0.0 (a Rubric function)."""
    return 1.0 if _verdict(completion, info).correct else 0.0


def readable(completion: Any, info: Any, **kwargs: Any) -> float:
    """0.0 when the environment could read the answer, `FORMAT_PENALTY` when not (a Rubric function)."""
    return 0.0 if _verdict(completion, info).formatted else FORMAT_PENALTY
