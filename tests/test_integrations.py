"""The TRL and verifiers integrations grade a completion exactly as AZ-Med's own trainer does:
task rows from the environment protocol, rewards from the environment's `verify`, and (in
`tests/test_integrations_tools.py`) the calculators as tools. No model here: hand-written
completions, right, wrong and unreadable."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import json

import pytest

from azmed.envs import Task, make_env
from azmed.integrations.tasks import FORMAT_PENALTY, answer_text, draw_tasks, grade, reward_of, task_row
from azmed.model import DEFAULT_SYSTEM
from azmed.selfplay.config import SelfPlaySettings
from azmed.selfplay.rewards import solve_reward


@pytest.fixture(scope="module")
def env():
    return make_env("clinical")


def _right_answer(env, task: Task) -> str:
    """An answer the environment grades right, written as a solver would."""
    if task.task_type == "calculation":  # a calculator call where the environment asks for one
        return env.demonstration(task) if "calculation" in env.config.tools else f"The answer is {task.answer}."
    if task.task_type in ("diagnosis", "self_edit"):
        return env.sim.diagnoses[task.answer].name
    return str(task.answer)  # next step: the step's text; abduction: the case's own value


@pytest.mark.parametrize("module", ["azmed.integrations.tasks", "azmed.integrations.trl",
                                    "azmed.integrations.calculator_tools"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_format_penalty_is_the_self_play_default():
    assert FORMAT_PENALTY == SelfPlaySettings().format_penalty


@pytest.mark.parametrize("task_type", ["diagnosis", "calculation", "next_step", "abduction"])
def test_rewards_add_up_to_the_self_play_solve_reward(env, task_type):
    from azmed.integrations.trl import correctness_reward, format_reward

    tasks = draw_tasks(env, [task_type], n=4, seed=3)
    rows = [task_row(env, t) for t in tasks]
    for task, row in zip(tasks, rows):
        answers = [_right_answer(env, task), "Nothing fits.", "12345"]
        correct = correctness_reward(answers, task=[row["task"]] * 3, env_options=[row["env_options"]] * 3)
        fmt = format_reward(answers, task=[row["task"]] * 3, env_options=[row["env_options"]] * 3)
        verdicts = [env.verify(task, a) for a in answers]
        assert correct[0] == 1.0, (task_type, answers[0], verdicts[0].why)
        assert [c + f for c, f in zip(correct, fmt)] == [
            solve_reward(v.correct, v.formatted, FORMAT_PENALTY) for v in verdicts]
        assert 0.0 in correct[1:]


def test_chat_completions_grade_the_last_assistant_turn(env):
    from azmed.integrations.trl import correctness_reward

    env = make_env("clinical", tools=[])  # TRL's tool loop ran the call; the last turn is the value
    task = draw_tasks(env, ["calculation"], n=1, seed=5)[0]
    row = task_row(env, task)
    after_tool = [{"role": "assistant", "content": "", "tool_calls": [
                      {"type": "function", "function": {"name": task.payload["calculator"], "arguments": {}}}]},
                  {"role": "tool", "name": task.payload["calculator"], "content": "error"},
                  {"role": "assistant", "content": f"{task.answer}"}]
    wrong_last = after_tool[:-1] + [{"role": "assistant", "content": "I am not sure, maybe 0.001."}]
    assert correctness_reward([after_tool, wrong_last], task=[row["task"]] * 2,
                              env_options=[row["env_options"]] * 2) == [1.0, 0.0]
    assert answer_text(after_tool) == str(task.answer)


def test_rows_hold_the_solver_prompt_and_round_trip_the_task(env):
    tasks = draw_tasks(env, ["diagnosis", "calculation"], n=6, seed=1)
    assert [t.task_type for t in tasks] == ["diagnosis", "calculation"] * 3  # interleaved by type
    for task in tasks:
        row = task_row(env, task)
        assert row["prompt"] == [{"role": "system", "content": DEFAULT_SYSTEM},
                                 {"role": "user", "content": env.solve_prompt(task)}]
        assert Task.from_json(json.loads(row["task"])) == task
        assert (row["env"], row["task_type"], json.loads(row["env_options"])) == ("clinical", task.task_type, {})


def test_heldout_split_never_overlaps_training(env):
    train = {t.key for t in draw_tasks(env, ["diagnosis", "calculation"], n=40, seed=0)}
    heldout = draw_tasks(env, ["diagnosis", "calculation"], n=20, split="heldout")
    assert len(heldout) == 20 and not train & {t.key for t in heldout}


def test_environment_options_travel_with_the_row():
    env = make_env("clinical", task_types=["diagnosis"], choices=4)
    task = draw_tasks(env, n=1, seed=2)[0]
    row = task_row(env, task)
    assert json.loads(row["env_options"]) == {"task_types": ["diagnosis"], "choices": 4}
    assert len(task.payload["options"]) == 4  # options shown, as the non-default option asks
    assert grade(row["task"], env.sim.diagnoses[task.answer].name, row["env_options"]).correct


@pytest.mark.parametrize("call, message", [
    (lambda env: draw_tasks(env, ["triage"]), "offers task types"),
    (lambda env: draw_tasks(env, n=0), "at least 1"),
    (lambda env: draw_tasks(env, split="test"), "split must be one of"),
])
def test_bad_requests_say_what_to_change(env, call, message):
    with pytest.raises(ValueError, match=message):
        call(env)


def test_task_dataset_is_a_trl_dataset():
    from azmed.integrations.trl import task_dataset

    data = task_dataset("clinical", task_types=["calculation"], n=3, seed=0, choices=0)
    assert data.column_names == ["prompt", "task", "env", "env_options", "task_type"]
    assert len(data) == 3 and all(m["role"] in ("system", "user") for m in data[0]["prompt"])


def test_any_registered_environment_works_the_code_environment_too():
    from azmed.integrations.trl import correctness_reward, format_reward, task_dataset

    data = task_dataset("code", task_types=["deduction"], n=2, seed=0, workers=1, bwrap="off")
    for row in data:
        task = Task.from_json(json.loads(row["task"]))
        answers = [f"```output\n{task.answer}\n```", "```output\n'not it'\n```", "no block"]
        kwargs = {"task": [row["task"]] * 3, "env_options": [row["env_options"]] * 3}
        assert correctness_reward(answers, **kwargs) == [1.0, 0.0, 0.0]
        assert format_reward(answers, **kwargs) == [0.0, 0.0, FORMAT_PENALTY]


def test_reward_of_matches_solve_reward():
    from simulator.case import Verdict

    for correct, formatted in [(True, True), (False, True), (False, False)]:
        v = Verdict(correct, None if not formatted else 1.0, "", formatted=formatted)
        assert reward_of(v) == solve_reward(correct, formatted, FORMAT_PENALTY)


# ---- verifiers -------------------------------------------------------------------------------------

def test_verifiers_environment_scores_a_right_and_a_wrong_answer():
    vf = pytest.importorskip("verifiers", reason="the `verifiers` extra is not installed")
    from azmed.integrations.verifiers import load_environment

    vf_env = vf.load_environment("azmed.integrations.verifiers", env="clinical",
                                 task_types=["calculation", "diagnosis"], n=4, n_heldout=2)
    assert vf_env is not None and isinstance(vf_env, vf.SingleTurnEnv)
    assert len(vf_env.dataset) == 4 and len(vf_env.eval_dataset) == 2
    env = make_env("clinical")

    async def score(row, text):
        state = vf.State.for_task(row)
        state["completion"] = [{"role": "assistant", "content": text}]
        await vf_env.rubric.score_rollout(state)
        return state["reward"], state["metrics"]

    for row in vf_env.dataset:
        task = Task.from_json(json.loads(json.loads(row["info"])["azmed_task"]))
        assert row["prompt"][-1]["content"] == env.solve_prompt(task)
        right = await_(score(row, _right_answer(env, task)))
        wrong = await_(score(row, "Nothing fits."))
        assert right == (1.0, {"correctness": 1.0, "readable": 0.0, "num_turns": 0.0})
        verdict = env.verify(task, "Nothing fits.")
        assert wrong[0] == solve_reward(verdict.correct, verdict.formatted, FORMAT_PENALTY) < 1.0
    assert load_environment.__module__ == "azmed.integrations.verifiers"


def await_(coroutine):
    return asyncio.run(coroutine)
