"""The typed configuration of `azmed finetune`: model, LoRA, data split, trainer and held-out
scoring, loaded by the one config loader (`azmed.config.load_config`: YAML, typed flags such
as `--eval-fraction`, then dotted `key=value` overrides).

    from azmed.finetune.config import load_config
    cfg = load_config("configs/finetune.yaml", ["trainer.lr=1e-4", "data.eval_fraction=0.25"])

`azmed finetune --help-config` lists every setting with its type, default and description. The
resolved config is saved as `config.yaml` in the run folder and reused by `--resume`.

Limits: `model` and `lora` are the same blocks as self-play's (azmed.model.ModelSpec and
LoraSpec); when fine-tuning starts from an adapter, that adapter's own LoRA shape is used and
the `lora` block is ignored (the run's report says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field, model_validator

from azmed.config import ConfigError, StrictModel
from azmed.config import load_config as _load
from azmed.model import LoraSpec, ModelSpec

__all__ = ["ConfigError", "FinetuneConfig", "load_config"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "finetune.yaml"


class DataSpec(StrictModel):
    """How the real cases become training and held-out examples."""

    eval_fraction: float = Field(0.2, ge=0.0, lt=1.0, description="share of cases held out for the held-out loss, "
                                 "early stopping and scoring (0 = no held-out part: no early stopping)")
    split_seed: int = Field(0, description="seed of the held-out split (the split depends on the case content "
                            "and this seed only, so the same file and seed give the same held-out part)")
    max_prompt_tokens: int = Field(768, ge=64, description="prompt budget in tokens: a longer case presentation is "
                                   "cut at the end (marked '[...]'), so the question and answer always fit")
    with_rationale: bool = Field(False, description="train on 'rationale + Answer: answer' where a row has a "
                                 "rationale (default: the answer alone)")
    limit: int | None = Field(None, ge=1, description="use at most this many valid rows (in file order)")


class TrainerSpec(StrictModel):
    """Supervised fine-tuning (TRL SFTTrainer) settings; the loss covers the answer only."""

    lr: float = Field(2e-4, gt=0, description="peak learning rate of the LoRA weights")
    epochs: float = Field(3.0, gt=0, description="passes over the training cases (when max_steps is 0)")
    max_steps: int = Field(0, ge=0, description="optimizer steps to run (0 = as many as `epochs` gives)")
    batch_size: int = Field(4, ge=1, description="cases per forward pass")
    grad_accum: int = Field(1, ge=1, description="forward passes per optimizer step")
    eval_batch_size: int = Field(8, ge=1, description="cases per forward pass when computing the held-out loss")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "cosine", description="learning-rate schedule")
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0, description="share of steps spent warming the rate up")
    weight_decay: float = Field(0.0, ge=0.0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    max_length: int = Field(1024, ge=32, description="token cap of prompt + answer (see data.max_prompt_tokens)")
    eval_every: int = Field(10, ge=1, description="optimizer steps between held-out losses; a checkpoint is "
                            "written at each, so early stopping can go back to the best")
    early_stopping_patience: int = Field(3, ge=0, description="stop after this many held-out losses without "
                                         "improvement (0 = never stop early)")
    early_stopping_threshold: float = Field(0.0, ge=0.0, description="smallest drop of the held-out loss "
                                            "that counts as an improvement")
    log_every: int = Field(1, ge=1, description="optimizer steps between console / metrics.jsonl lines")
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass: about "
                                         "half the memory, about 1.9x the time (DESIGN §9)")


class RunSpec(StrictModel):
    """Where the run goes (the same block as self-play's `run`)."""

    out_dir: str | None = Field(None, description="run folder (default runs/<timestamp>-finetune-<data file>)")
    seed: int = Field(0, description="seed of the LoRA init, the data order and dropout")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept on disk (the best is always kept)")


class HeldoutSpec(StrictModel):
    """Scoring the held-out cases by generation, before and after fine-tuning."""

    score_before: bool = Field(True, description="also score the starting model (base or --from-adapter) first")
    limit: int | None = Field(None, ge=1, description="score at most this many held-out cases (default: all)")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer (greedy)")
    batch_size: int = Field(8, ge=1, description="prompts generated together")
    max_batch_tokens: int = Field(24_000, ge=256, description="cap on (longest prompt tokens x batch) per "
                                  "generation batch, so long notes are batched smaller")


class FinetuneConfig(StrictModel):
    """Everything `azmed finetune` needs besides the data file."""

    run: RunSpec = Field(default_factory=RunSpec, description="run folder, seed, checkpoints kept")
    model: ModelSpec = Field(default_factory=ModelSpec, description="the base model (same as self-play)")
    lora: LoraSpec = Field(default_factory=lambda: LoraSpec(dropout=0.05),
                           description="a new LoRA adapter's shape (ignored with --from-adapter)")
    data: DataSpec = Field(default_factory=DataSpec, description="how the cases are split and shown")
    trainer: TrainerSpec = Field(default_factory=TrainerSpec, description="supervised fine-tuning")
    heldout: HeldoutSpec = Field(default_factory=HeldoutSpec, description="scoring the held-out cases")

    @model_validator(mode="after")
    def _length_budget(self):
        if self.data.max_prompt_tokens >= self.trainer.max_length:
            raise ValueError(f"data.max_prompt_tokens ({self.data.max_prompt_tokens}) must be below "
                             f"trainer.max_length ({self.trainer.max_length}) to leave room for the answer")
        return self


def load_config(path: str | Path | None = None, overrides: Sequence[str] = (), *,
                flags: dict[str, Any] | None = None) -> FinetuneConfig:
    """The config from YAML `path` (default configs/finetune.yaml, or the built-in defaults when
    that file is absent), then typed `flags`, then dotted `overrides`."""
    return _load(FinetuneConfig, path, overrides, flags=flags, default=DEFAULT_CONFIG)
