"""Self-play -> fine-tune -> self-play on tiny settings: `azmed finetune --from-adapter` starts from
a self-play adapter, and `azmed train --init-adapter` continues self-play from the fine-tuned one
(each stage's weights start where the previous stage left them)."""

from __future__ import annotations

import json

import pytest

from azmed.finetune.convert import convert
from azmed.real_cases import write_cases
from tests.conftest import run_cli
from tests.test_data_convert import data_file
from tests.test_finetune_run import TINY

pytestmark = pytest.mark.slow
KEEP = {"data.max_prompt_tokens", "trainer.max_length", "trainer.batch_size", "trainer.lr", "trainer.warmup_ratio"}

TT = "envs.clinical.task_types"
SELFPLAY_TINY = ["--env", "clinical", "trainer.steps=1", "run.progress=false", "eval.at_end=false",
                 "selfplay.mc_rollouts=1", "selfplay.warmup.steps=0", "selfplay.anchor.prompts=1",
                 "selfplay.anchor.max_tokens=4", f"{TT}.abduction.enabled=false", f"{TT}.calculation.enabled=false",
                 f"{TT}.next_step.enabled=false", f"{TT}.self_edit.enabled=false", f"{TT}.diagnosis.propose=0",
                 f"{TT}.diagnosis.solve=2", f"{TT}.diagnosis.solve_tokens=4"]  # one step: solve 2 seed tasks


def _lora(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def _distance(a, b) -> float:
    assert a.keys() == b.keys()
    return sum(float((a[k] - b[k]).float().pow(2).sum()) for k in a) ** 0.5


def test_selfplay_then_finetune_then_selfplay(tmp_path):
    first, tuned, second = tmp_path / "selfplay-1", tmp_path / "finetune", tmp_path / "selfplay-2"
    r = run_cli("train", *SELFPLAY_TINY, f"run.out_dir={first}")
    assert r.returncode == 0, r.stderr[-3000:]

    cases = convert("agentclinic", str(data_file("agentclinic_medqa.jsonl")), strict=True).cases[:10]
    data = tmp_path / "cases.jsonl"
    write_cases(cases, data)
    # No held-out part here (the held-out loss is test_finetune_run's concern): two training steps.
    r = run_cli("finetune", "--data", data, "--from-adapter", first / "adapter", "--eval-fraction", "0",
                f"run.out_dir={tuned}", "trainer.max_steps=2", *[o for o in TINY if o.split("=")[0] in KEEP])
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tuned / "report.json").read_text())
    assert report["from_adapter"].endswith("adapter") and report["lora"] == "from the starting adapter"
    # The fine-tuned adapter keeps the self-play adapter's shape and starts from its weights.
    assert json.loads((tuned / "adapter" / "adapter_config.json").read_text())["r"] == \
        json.loads((first / "adapter" / "adapter_config.json").read_text())["r"]

    r = run_cli("train", "--init-adapter", tuned / "adapter", *SELFPLAY_TINY, f"run.out_dir={second}")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b, c = _lora(first / "adapter"), _lora(tuned / "adapter"), _lora(second / "adapter")
    # Fine-tuning moved the self-play weights; one self-play step then moved far less than that,
    # so the second self-play run started from the fine-tuned adapter.
    assert _distance(a, b) > 0
    assert _distance(b, c) < _distance(a, b)
