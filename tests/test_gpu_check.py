"""The GPU path's check, scripts/gpu-check.sh, and its config: without a CUDA device it stops at
once with a clear message and exit 2; its `--cpu` dry run trains configs/gpu-example.yaml for a
step (here on a tiny randomly initialised Llama, shrunk by overrides) and prints the generation
backend, tokens/s and peak memory that a GPU user reads. The check on a real GPU is not run by
the test suite."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

from azmed.selfplay.config import load_config
from tests.conftest import ROOT, save_tiny_llama
from tests.test_selfplay_step import _tokenizer

SCRIPT = ROOT / "scripts" / "gpu-check.sh"
SHRINK = ["selfplay.mc_rollouts=2", "envs.clinical.options.seed_tasks_per_type=4"]
for _tt, _propose, _solve in (("diagnosis", 2, 3), ("calculation", 2, 3), ("abduction", 1, 2), ("next_step", 0, 2),
                              ("self_edit", 1, 0)):
    SHRINK += [f"envs.clinical.task_types.{_tt}.propose={_propose}", f"envs.clinical.task_types.{_tt}.solve={_solve}",
               f"envs.clinical.task_types.{_tt}.propose_tokens=24", f"envs.clinical.task_types.{_tt}.solve_tokens=8"]


def _run(*args: str) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHON": sys.executable})


def test_the_gpu_config_asks_for_cuda_bf16_weights_and_vllm_when_installed():
    cfg = load_config(ROOT / "configs" / "gpu-example.yaml")
    assert (cfg.model.device, cfg.model.dtype, cfg.rollout.backend) == ("cuda", "bfloat16", "auto")
    from azmed.generation import resolve_backend, vllm_available

    assert resolve_backend("auto", "cpu") == "hf"
    assert resolve_backend("auto", "cuda") == ("vllm" if vllm_available() else "hf")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the check would run for real")
def test_without_a_cuda_device_the_check_stops_with_a_clear_message():
    done = _run()
    assert done.returncode == 2
    assert "no CUDA device is visible to torch" in done.stderr and "--cpu" in done.stderr
    assert "[train]" not in done.stdout  # nothing was loaded or trained


def test_generation_over_bf16_base_weights_leaves_them_untouched(tmp_path):
    """The GPU path loads bf16 weights: a LoRA merged in and out of them for generation would move
    thousands of base weights by up to half a bf16 step on every call, so it generates unmerged;
    over fp32 weights it is merged, and the round trip stays within 1e-6."""
    from azmed.generation import generate
    from azmed.model import LoraSpec, ModelSpec, load_policy

    tiny = save_tiny_llama(tmp_path / "tiny", _tokenizer("built"))
    for dtype, exact in ((torch.bfloat16, True), (torch.float32, False)):
        policy = load_policy(ModelSpec(name=str(tiny), dtype="float32"), lora=LoraSpec(r=4, alpha=8), trainable=True)
        torch.manual_seed(0)
        for name, w in policy.model.named_parameters():
            if not w.requires_grad:
                w.data = w.data.to(dtype)
            elif "lora_B" in name:
                torch.nn.init.normal_(w, std=0.05)  # a LoRA that changes the weights
        base = {n: w.detach().clone() for n, w in policy.model.named_parameters() if not w.requires_grad}
        for _ in range(3):
            generate(policy, [policy.chat("Name the diagnosis.")], max_new_tokens=3)
        after = {n: w.detach() for n, w in policy.model.named_parameters() if not w.requires_grad}
        if exact:
            assert all(torch.equal(after[n], base[n]) for n in base)
        else:
            assert max(float((after[n] - base[n]).abs().max()) for n in base) < 1e-6


def test_a_bad_option_is_refused():
    done = _run("--steps", "zero")
    assert done.returncode == 2 and "--steps must be a whole number" in done.stderr
    assert _run("--gpu").returncode == 2


def test_the_cpu_dry_run_trains_the_gpu_config_and_reports_backend_speed_and_memory(tmp_path):
    tiny = save_tiny_llama(tmp_path / "tiny", _tokenizer("built"))
    run = tmp_path / "run"
    done = _run("--cpu", "--model", str(tiny), "--steps", "1", "--out", str(run), *SHRINK)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith("gpu-check: OK")]
    assert len(summary) == 1
    assert "backend hf" in summary[0] and "cpu (" in summary[0] and "tokens/s" in summary[0]
    assert "resident (no GPU)" in summary[0]
    (row,) = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert row["tokens"]["backend"] == "hf" and row["device"] == "cpu" and row["world_size"] == 1
    assert row["tokens"]["generated"] > 0 and row["memory"]["peak_rss_mb"] > 0
    assert f"{row['tokens']['per_s']} tokens/s" in done.stdout
    cfg = load_config(run / "config.yaml")
    assert cfg.model.dtype == "auto" and cfg.trainer.steps == 1 and cfg.envs["code"].enabled is False
