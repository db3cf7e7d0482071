"""Rewards and Task-Relative REINFORCE++ advantages of self-play, checked against values worked
out by hand (azmed.selfplay.rewards)."""

import math

import pytest

from azmed.selfplay.rewards import (group_stats, learnability, propose_reward, solve_rate, solve_reward,
                                    task_relative_advantages)


@pytest.mark.parametrize("p, expected", [(0.0, 0.0), (1.0, 0.0), (0.25, 0.75), (0.5, 0.5), (0.875, 0.125)])
def test_learnability_is_one_minus_p_inside_the_band(p, expected):
    assert learnability(p) == pytest.approx(expected)


def test_learnability_rejects_rates_outside_zero_one():
    with pytest.raises(ValueError, match="solve rate"):
        learnability(1.5)


def test_solve_rate_counts_correct_rollouts():
    assert solve_rate([True, False, False, False]) == 0.25
    assert solve_rate([False] * 8) == 0.0
    with pytest.raises(ValueError):
        solve_rate([])


def test_propose_reward_valid_and_invalid():
    # 3 of 4 rollouts solved it: learnability 1 - 0.75 = 0.25
    assert propose_reward(True, solve_rate([True, True, True, False]), -0.5) == pytest.approx(0.25)
    assert propose_reward(True, 1.0, -0.5) == 0.0       # trivially easy: teaches nothing
    assert propose_reward(True, 0.0, -0.5) == 0.0       # impossible for the solver: teaches nothing
    assert propose_reward(False, None, -0.5) == -0.5    # rejected: the format penalty
    with pytest.raises(ValueError):
        propose_reward(True, None, -0.5)


def test_solve_reward_correct_wrong_unparseable():
    assert solve_reward(True, True, -0.5) == 1.0
    assert solve_reward(False, True, -0.5) == 0.0
    assert solve_reward(False, False, -1.0) == -1.0


def test_task_relative_advantages_by_hand():
    # group A (solve): rewards 1, 0, 0, 1 -> mean 0.5, population std 0.5 -> +1, -1, -1, +1
    # group B (propose): rewards 0.75, -0.5, 0.25 -> mean 1/6, std sqrt(((7/12)^2 + (2/3)^2 + (1/12)^2)/3)
    rewards = [1, 0.75, 0, -0.5, 0, 1, 0.25]
    groups = ["A", "B", "A", "B", "A", "A", "B"]
    adv = task_relative_advantages(rewards, groups, eps=0.0)
    assert adv[0] == pytest.approx(1.0) and adv[2] == pytest.approx(-1.0)
    assert adv[4] == pytest.approx(-1.0) and adv[5] == pytest.approx(1.0)
    std_b = math.sqrt(((7 / 12) ** 2 + (2 / 3) ** 2 + (1 / 12) ** 2) / 3)  # = 0.51370...
    assert std_b == pytest.approx(0.513701, abs=1e-6)
    assert adv[1] == pytest.approx((7 / 12) / std_b)
    assert adv[3] == pytest.approx((-2 / 3) / std_b)
    assert adv[6] == pytest.approx((1 / 12) / std_b)
    # each group is centred on its own baseline
    assert sum(adv[i] for i in (1, 3, 6)) == pytest.approx(0.0, abs=1e-12)


def test_task_relative_advantages_equal_rewards_and_singletons_give_zero():
    groups = [("clinical", "diagnosis", "solve")] * 3 + [("code", "deduction", "solve")]
    assert task_relative_advantages([1, 1, 1, 0.0], groups) == [0.0, 0.0, 0.0, 0.0]


def test_task_relative_advantages_groups_do_not_mix():
    # the same rewards in two groups with different scales give the same advantages
    adv = task_relative_advantages([0, 1, 0, 10], ["x", "x", "y", "y"], eps=0.0)
    assert adv == pytest.approx([-1.0, 1.0, -1.0, 1.0])


def test_task_relative_advantages_length_mismatch():
    with pytest.raises(ValueError, match="group labels"):
        task_relative_advantages([1.0], ["a", "b"])


def test_group_stats():
    assert group_stats([1, 0, 1, 3], ["a", "a", "a", "b"]) == {"a": (pytest.approx(2 / 3), 3), "b": (3.0, 1)}


@pytest.mark.parametrize("module", ["azmed.selfplay.rewards", "azmed.selfplay.metrics", "azmed.selfplay.update",
                                    "azmed.selfplay.config", "azmed.selfplay.heldout", "azmed.generation",
                                    "azmed.selfplay.trainer", "azmed.commands.plot", "azmed.config", "azmed.runs",
                                    "simulator.answers", "simulator.datafiles", "simulator.verify"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
