"""Data-parallel self-play (azmed.selfplay.distributed) with two CPU processes over gloo, started
by `accelerate launch` exactly as a user starts them, on configs/clinical-smoke.yaml (the real
clinical environment) with a tiny randomly initialised Llama in place of the embedded model, so a
whole run takes seconds.

Equal updates: two processes sample other completions than one process does (each rank has its
own sampling stream), so whole runs cannot be compared after the first sampled step. The run
therefore starts with a warm-up step, whose batch is the environment's demonstrations (no
sampling): there the two-process run and a one-process run from the same start must end with the
same adapter. Its second step is a self-play step (sampled); every update the two processes
made is replayed in one process on the same global batch, from the same weights and optimizer
state, and must give the same weights. A KL penalty to the base model keeps the self-play step's
gradient non-zero even when the tiny model's rewards are all equal.

Resume: a two-process run stopped after its first step and resumed with two processes ends
where the uninterrupted run ends; one resumed with one process continues and says so."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from azmed.model import LoraSpec, ModelSpec, load_policy, lora_state
from azmed.selfplay.config import load_config
from azmed.selfplay.distributed import World, assign
from azmed.selfplay.update import make_optimizer, policy_gradient_update
from tests.conftest import ROOT, save_tiny_llama
from tests.test_selfplay_step import _tokenizer

SMOKE = ROOT / "configs" / "clinical-smoke.yaml"
# clinical-smoke.yaml, smaller: one warm-up step, one self-play step, a KL term
SMALL = ["model.dtype=float32", "run.progress=false", "run.checkpoint_every=1", "eval.at_end=false",
         "trainer.steps=2", "trainer.kl_coef=0.1", "trainer.micro_batch_tokens=512",
         "selfplay.warmup.steps=1", "selfplay.warmup.solve=3", "selfplay.warmup.propose=1", "selfplay.mc_rollouts=2"]
for _tt in ("diagnosis", "calculation", "abduction", "next_step", "self_edit"):
    SMALL += [f"envs.clinical.task_types.{_tt}.propose_tokens=24", f"envs.clinical.task_types.{_tt}.solve_tokens=8"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(processes: int, *args: str) -> subprocess.CompletedProcess:
    """`accelerate launch --multi_gpu --num_processes N -m ...` (on a CPU machine `--multi_gpu`
    selects accelerate's multi-process launcher; the backend is gloo)."""
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()), *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), _tokenizer("built"))


@pytest.fixture(scope="module")
def two_process_run(tiny, tmp_path_factory):
    """Two steps of clinical-smoke on two processes; each rank's records and final state."""
    out = tmp_path_factory.mktemp("dp")
    overrides = [*SMALL, f"model.name={tiny}", f"run.out_dir={out / 'run'}"]
    launch(2, "-m", "tests.selfplay_dp_worker", str(out / "ranks"), *overrides)
    ranks = [torch.load(out / "ranks" / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    return out / "run", ranks, overrides


def test_ranks_hold_the_same_adapter_and_buffers_and_rank_0_writes_one_run_folder(two_process_run):
    run, (r0, r1), _ = two_process_run
    assert (r0["rank"], r1["rank"], r0["world_size"]) == (0, 1, 2)
    assert r0["lora"].keys() == r1["lora"].keys()
    assert all(torch.equal(r0["lora"][k], r1["lora"][k]) for k in r0["lora"])
    assert r0["buffers"] == r1["buffers"] and sum(map(len, r0["buffers"].values())) > 0
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["phase"], r["world_size"]) for r in rows] == [(1, "warmup", 2), (2, "selfplay", 2)]
    assert len(rows[1]["memory_per_rank"]) == 2 and rows[1]["tokens"]["generated"] > 0
    samples = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    per_group = {}
    for s in samples:  # written once, by rank 0 (clinical-smoke keeps 2 per group and step)
        key = (s["step"], s["env"], s["task_type"], s["role"])
        per_group[key] = per_group.get(key, 0) + 1
    assert samples and max(per_group.values()) <= 2
    ckpt = run / "checkpoints" / "step-000002"
    assert json.loads((ckpt / "state.json").read_text())["world_size"] == 2
    assert (ckpt / "rng.pt").is_file() and (ckpt / "rng-rank-1.pt").is_file()
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert json.loads((run / "status.json").read_text())["state"] == "finished"


def test_every_update_equals_one_process_on_the_same_global_batch(two_process_run, tiny):
    _, (r0, r1), overrides = two_process_run
    cfg = load_config(SMOKE, overrides)
    t = cfg.trainer
    assert len(r0["records"]) == len(r1["records"]) == 2
    for step, (rec, other) in enumerate(zip(r0["records"], r1["records"]), start=1):
        assert [s.completion_ids for s in rec["batch"]] == [s.completion_ids for s in other["batch"]]
        assert rec["stats"]["micro_batches"] >= 2  # both ranks had units to compute
        policy = load_policy(ModelSpec(name=str(tiny), dtype="float32"), lora=cfg.lora, trainable=True)
        with torch.no_grad():
            for name, p in policy.model.named_parameters():
                if p.requires_grad:
                    p.copy_(rec["lora"][name])
        optimizer, scheduler = make_optimizer(policy.model, t.lr, t.weight_decay, t.warmup_steps, t.steps, t.schedule)
        optimizer.load_state_dict(rec["optimizer"])
        scheduler.load_state_dict(rec["scheduler"])
        stats = policy_gradient_update(policy, optimizer, rec["batch"], scheduler=scheduler, **rec["options"])
        assert stats["grad_norm"] > 0, f"step {step}: no gradient, the comparison would be empty"
        for key in ("grad_norm", "loss", "kl", "nll"):
            assert stats[key] == pytest.approx(rec["stats"][key], rel=1e-5, abs=1e-9), (step, key)
        after = lora_state(policy.model)
        moved = max(float((rec["after"][k] - rec["lora"][k]).abs().max()) for k in after)
        gap = max(float((after[k] - rec["after"][k]).abs().max()) for k in after)
        print(f"step {step}: grad norm {stats['grad_norm']:.6g} vs {rec['stats']['grad_norm']:.6g}, largest move {moved:.3g}, largest gap {gap:.3g}")
        assert moved > 1e-6 and gap <= 1e-3 * moved, (step, moved, gap)


def test_the_warm_up_step_of_two_processes_equals_one_process(two_process_run, tiny, tmp_path):
    """No sampling in a warm-up step: one process from the same seed ends it with the same adapter."""
    from azmed.selfplay.trainer import SelfPlayTrainer

    run, (r0, _), overrides = two_process_run
    one = SelfPlayTrainer(load_config(SMOKE, [*overrides, f"run.out_dir={tmp_path / 'one'}", "trainer.steps=1"]))
    one.train()
    after = lora_state(one.policy.model)
    two = r0["records"][0]["after"]
    assert all(torch.allclose(after[k], two[k], rtol=0, atol=1e-7) for k in after)
    assert json.loads((tmp_path / "one" / "metrics.jsonl").read_text().splitlines()[0])["world_size"] == 1


@pytest.mark.slow  # two more launches of two processes (about 35 s)
def test_a_two_process_run_resumes_with_two_processes_where_the_uninterrupted_run_ends(two_process_run, tmp_path):
    _, (r0, _), overrides = two_process_run
    run = tmp_path / "run"
    first = [o for o in overrides if not o.startswith("run.out_dir=")] + [f"run.out_dir={run}", "trainer.steps=1"]
    launch(2, "-m", "azmed.cli", "train", "--config", str(SMOKE), *first)
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1]
    done = launch(2, "-m", "azmed.cli", "train", "--resume", str(run), "trainer.steps=2")
    assert "from step 1 | 2 processes" in done.stdout
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["world_size"]) for r in rows] == [(1, 2), (2, 2)]
    from safetensors.torch import load_file

    resumed = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    uninterrupted = {k.replace(".default", ""): v for k, v in r0["lora"].items()}
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.allclose(resumed[k], uninterrupted[k], rtol=0, atol=1e-6) for k in resumed)


@pytest.mark.slow
def test_a_two_process_run_resumed_with_one_process_continues_and_says_so(two_process_run, tmp_path, capsys):
    from azmed.selfplay.trainer import SelfPlayTrainer

    run, _, _ = two_process_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    trainer = SelfPlayTrainer.resume(copy, ["trainer.steps=3"])
    assert trainer.state.step == 2 and trainer.world.size == 1
    assert "written by 2 process(es), resuming with 1" in capsys.readouterr().out
    trainer.train()
    rows = [json.loads(x) for x in (copy / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["world_size"]) for r in rows] == [(1, 2), (2, 2), (3, 1)]


def test_work_is_split_evenly_and_deterministically():
    assert [World(r, 2).bounds(5) for r in (0, 1)] == [(0, 3), (3, 5)]
    assert [World(r, 4).bounds(2) for r in range(4)] == [(0, 1), (1, 2), (2, 2), (2, 2)]
    owners = assign([100, 90, 10, 10, 10, 5], 2)
    loads = [sum(c for c, o in zip([100, 90, 10, 10, 10, 5], owners) if o == r) for r in (0, 1)]
    assert owners == assign([100, 90, 10, 10, 10, 5], 2) and abs(loads[0] - loads[1]) <= 10
    import doctest

    import azmed.selfplay.distributed as dist_module

    assert doctest.testmod(dist_module).failed == 0
