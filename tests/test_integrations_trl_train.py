"""TRL's GRPOTrainer trains the real embedded model on AZ-Med tasks through the integration:
two steps of `examples/trl_grpo_clinical.py`'s trainer (LoRA, CPU, the calculators as tools,
AZ-Med's rewards), after which the LoRA weights have moved and every step logged AZ-Med's
rewards."""

from __future__ import annotations

import importlib.util
import math
import warnings

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _example():
    spec = importlib.util.spec_from_file_location("trl_grpo_clinical", ROOT / "examples" / "trl_grpo_clinical.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_grpo_steps_move_the_lora_weights(tmp_path):
    import torch

    example = _example()
    args = example.parse_args(["--max-steps", "2", "--tasks", "8", "--task-types", "calculation",
                               "--prompts-per-step", "2", "--generations", "2", "--max-completion-length", "24",
                               "--lr", "1e-4", "--tools", "--out", str(tmp_path)])
    trainer, policy = example.build_trainer(args)
    assert policy.autocast_bf16 == trainer.args.bf16  # bf16 only where the CPU has it natively
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert before and all("lora_" in n for n in before)

    with warnings.catch_warnings():  # pytest records every warning; transformers warns per layer call
        warnings.simplefilter("ignore")
        trainer.train()

    after = dict(trainer.model.named_parameters())
    moved = [n for n, p in before.items() if not torch.equal(p, after[n].detach())]
    assert moved, "no LoRA weight changed in two GRPO steps"
    steps = [r for r in trainer.state.log_history if "reward" in r]
    assert len(steps) == 2
    for record in steps:
        correct, fmt = record["rewards/correctness_reward/mean"], record["rewards/format_reward/mean"]
        assert 0.0 <= correct <= 1.0 and -0.5 <= fmt <= 0.0
        assert math.isclose(record["reward"], correct + fmt, abs_tol=1e-6)
        assert "tools/call_frequency" in record  # the tool loop ran (whether or not the model called)
