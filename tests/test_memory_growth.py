"""Nothing a run keeps grows without bound: a simulator (and its durable-rules ruleset) is released
with its environment, the rule engine's state holds no case once it is labelled, the known-task
memory and the task buffers stay within their configured caps, and over a short self-play run of
a tiny randomly initialised Llama on the real clinical environment neither the number of live
Python objects nor the resident set size climbs step over step.

These tests check behaviour (what is alive, what is held, how much), never timing; step times
and peak RSS of the real model are printed by benchmarks/selfplay_step.py.

Limits: the tiny model proposes nothing valid, so the per-proposal path (specification, note,
engine, duplicate memory) is checked with the environment's own valid specifications, and the
buffers at their cap through seeds and direct calls; the RSS tolerance
(see `RSS_GROWTH_MB`) is loose enough for allocator noise and tight enough for a leak of a model
cache or a ruleset per step.
"""

from __future__ import annotations

import gc
import random
import weakref

import pytest

from azmed.envs.base import Task
from azmed.memory import release_memory
from azmed.selfplay.buffer import TaskBuffer
from azmed.selfplay.config import load_config
from tests.test_model import tiny_model_dir  # noqa: F401  (fixture)

CLINICAL_OPTIONS = {"case_format": "note", "proposals": "spec", "tools": ["calculation"]}
RSS_GROWTH_MB = 40          # allowed RSS growth between the first and the last self-play step measured
OBJECT_GROWTH = 0.02        # allowed growth of live Python objects over the same steps


def _clinical_env(**options):
    from azmed.envs.clinical.env import ClinicalEnv

    return ClinicalEnv(**{**CLINICAL_OPTIONS, **options})


def test_a_closed_environment_releases_its_simulator_and_ruleset():
    # notes, specifications and calculator vignettes all build per-simulator data: none may keep it alive
    env = _clinical_env(seed_tasks_per_type=2)
    for tt in env.task_types:
        env.seed_tasks(tt)
        env.sample_tasks(tt, 2, random.Random(0))
    sim, engine = weakref.ref(env.sim), weakref.ref(env.sim.engine)
    assert engine().held_facts() == 0
    env.close()
    del env
    gc.collect()
    assert sim() is None, "the simulator outlived its environment (a cache refers to it)"
    assert engine() is None, "the rule engine (and its durable-rules ruleset) outlived its simulator"


def test_reloading_the_simulator_leaves_one_engine_alive():
    from simulator.core import Simulator

    engines = []
    for seed in range(3):
        sim = Simulator.load()
        sim.generate(seed=seed)
        engines.append(weakref.ref(sim.engine))
        del sim
        gc.collect()
    assert [e() for e in engines] == [None, None, None]


def test_the_engine_state_holds_no_case_after_labelling(sim):
    for seed in range(60):
        case = sim.generate(seed=seed)
        assert sim.engine.label(case.facts()).label == case.label
    assert sim.engine.held_facts() == 0


def test_known_tasks_and_buffers_stay_within_their_caps():
    env = _clinical_env(seed_tasks_per_type=2, remembered_keys=5)
    tasks = [Task("clinical", "diagnosis", {"i": i}, "x", f"key-{i}") for i in range(40)]
    for t in tasks:
        assert env.admit(t) is t
    assert [env.is_known(t.key) for t in tasks] == [False] * 35 + [True] * 5  # the oldest are forgotten
    buf = TaskBuffer(cap=4)
    buf.extend(tasks)
    assert len(buf) == 4 and [t.key for t in buf.tasks()] == [t.key for t in tasks[-4:]]
    assert len(buf.sample(10, random.Random(0))) == 10  # drawn from what is kept
    env.close()


def test_validating_many_proposals_holds_nothing_per_proposal():
    """Valid specifications of every type (the environment's own), validated round after round:
    the engine holds no case, the known-task memory keeps its cap, live objects stay flat."""
    env = _clinical_env(seed_tasks_per_type=2, remembered_keys=50)
    rng = random.Random(0)
    first: list[Task] = []
    objects = []
    for _ in range(4):
        for tt in ("diagnosis", "calculation", "next_step"):
            results = env.validate_many(tt, [env.proposal_demonstration(tt, rng) for _ in range(25)])
            valid = [r for r in results if isinstance(r, Task)]
            assert len(valid) >= 20, [r for r in results if not isinstance(r, Task)][:3]
            first = first or valid
        assert env.sim.engine.held_facts() == 0
        release_memory()
        objects.append(len(gc.get_objects()))
    assert not any(env.is_known(t.key) for t in first)  # 300 new keys, 50 remembered: the oldest are gone
    assert objects[-1] <= objects[1] * (1 + OBJECT_GROWTH / 2), f"live objects grew round over round: {objects}"
    env.close()


@pytest.mark.slow
def test_a_short_run_does_not_grow(tiny_model_dir, tmp_path):  # noqa: F811
    """Two warm-up steps, then six self-play steps on the clinical environment with the main
    config's options: caps hold at every step, and live objects and RSS are flat from the first
    self-play step to the last."""
    from azmed.selfplay.trainer import SelfPlayTrainer

    tt = "envs.clinical.task_types"
    cfg = load_config(None, [
        f"model.name={tiny_model_dir}", "model.dtype=float32", f"run.out_dir={tmp_path / 'run'}",
        "run.progress=false", "run.checkpoint_every=100", "eval.at_end=false", "trainer.steps=8",
        *(f"envs.clinical.options.{k}={v}" for k, v in CLINICAL_OPTIONS.items() if k != "tools"),
        "envs.clinical.options.tools=[calculation]", "envs.clinical.options.seed_tasks_per_type=6",
        "envs.clinical.options.remembered_keys=10", "selfplay.buffer_cap=4", "selfplay.warmup.steps=2",
        "selfplay.warmup.solve=3", "selfplay.warmup.propose=1", "selfplay.mc_rollouts=2", "selfplay.env_tasks=0.5",
        f"{tt}.diagnosis.propose=3", f"{tt}.diagnosis.solve=4", f"{tt}.diagnosis.propose_tokens=24",
        f"{tt}.diagnosis.solve_tokens=8", f"{tt}.calculation.propose=3", f"{tt}.calculation.solve=4",
        f"{tt}.calculation.propose_tokens=24", f"{tt}.calculation.solve_tokens=12",
        f"{tt}.next_step.enabled=false", f"{tt}.abduction.enabled=false", f"{tt}.self_edit.enabled=false"])
    trainer = SelfPlayTrainer(cfg)
    env = trainer.envs["clinical"]
    rss, objects = [], []
    for _ in range(cfg.trainer.steps):
        record = trainer.step()
        assert all(len(b) <= 4 for b in trainer.state.buffers.values())
        assert env.sim.engine.held_facts() == 0
        assert record["memory"]["rss_mb"] <= record["memory"]["peak_rss_mb"]
        if record["phase"] == "selfplay":
            release_memory()
            objects.append(len(gc.get_objects()))
            rss.append(record["memory"]["rss_mb"])
    assert len(rss) == 6
    assert objects[-1] <= objects[0] * (1 + OBJECT_GROWTH), f"live objects grew step over step: {objects}"
    assert rss[-1] - rss[0] <= RSS_GROWTH_MB, f"RSS grew step over step (MB): {rss}"
    env.close()


def test_importing_azmed_bounds_the_cpu_kernel_cache_unless_the_user_set_it():
    """`import azmed` sets oneDNN's primitive cache capacity (read when torch builds its first
    kernel) and leaves a value the user exported alone; checked in fresh interpreters."""
    import os
    import subprocess
    import sys

    import azmed

    code = "import os, azmed; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(azmed.KERNEL_CACHE_CAPACITY)
    out = subprocess.run([sys.executable, "-c", code], env={**env, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "256"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "256"
