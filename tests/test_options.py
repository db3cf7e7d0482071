"""Fair multiple-choice options: over 1,000 diagnosis tasks, no option but the label fires on its
case (the engine decides) and none is nested with the label through `supersedes`; most tasks
offer distractors with partial evidence in the case."""

from __future__ import annotations

import random

import pytest

from azmed.envs.clinical import ClinicalEnv
from simulator import criteria as C


@pytest.fixture(scope="module")
def env(sim):
    return ClinicalEnv(task_types=("diagnosis",), choices=4, simulator=sim)


def test_no_option_but_the_label_fires_or_is_nested(sim, env):
    by_name = {d.name: d.id for d in sim.diagnoses.values()}
    tasks = env.maker.from_seeds("diagnosis", range(1200), "simulator")
    assert len(tasks) >= 1000
    with_evidence = 0
    for task in tasks:
        case = sim.check(task.payload["case"])
        options = [by_name[o] for o in task.payload["options"]]
        assert len(options) == 4 and len(set(options)) == 4 and task.answer in options
        fired = set(sim.engine.fired(case.facts()))
        for o in options:
            if o == task.answer:
                continue
            assert o not in fired, (task.key, o, fired)
            assert o not in sim.nesting[task.answer], (task.key, o)
            assert task.answer not in sim.nesting[o]
        facts = case.facts()
        with_evidence += all(C.support(sim.trees[o], facts) > 0 for o in options if o != task.answer)
    assert with_evidence / len(tasks) >= 0.8, with_evidence / len(tasks)


def test_nesting_follows_supersedes_both_ways(sim):
    assert {"A41.9", "J18.9"} <= sim.nesting["R65.21"]      # shock > sepsis > pneumonia
    assert "R65.21" in sim.nesting["J18.9"]
    assert "I26.99" in sim.nesting["I26.09"] and "I26.09" in sim.nesting["I26.99"]
    assert "E87.5" in sim.nesting["E11.10"]                 # DKA over hyperkalaemia
    assert "I21.3" not in sim.nesting["I30.9"]


def test_options_are_seeded(sim):
    case = sim.generate(11, diagnosis="R65.21")
    a = sim.options(case, 4, random.Random(3))
    assert a == sim.options(case, 4, random.Random(3))
    assert "R65.21" in a and "A41.9" not in a


def test_engine_and_python_agree_on_every_rule(sim):
    """The durable-rules compilation (at_least as nested and/or) means what `criteria.holds` means."""
    rng = random.Random(0)
    for seed in range(400):
        case = sim.generate(seed)
        facts = case.facts()
        if seed % 2:  # perturb values and findings so that rules fire and fail in other ways
            for k in list(case.values):
                facts[k] = case.values[k] * rng.choice((0.5, 0.8, 1.0, 1.25, 2.0))
            for f in rng.sample(sorted(sim.registry.findings), 6):
                facts[f] = True
        python = {dx for dx, tree in sim.trees.items() if C.holds(tree, facts)}
        assert set(sim.engine.fired(facts)) == python, seed
