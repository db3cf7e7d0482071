"""The run configuration of `azmed train`: one typed model tree (`TrainConfig`), loaded by the
one config loader of `azmed.config` (YAML, typed flags, dotted overrides).

    from azmed.selfplay.config import load_config
    cfg = load_config("configs/clinical.yaml", ["trainer.lr=1e-4", "envs.code.enabled=true"])

`azmed train --help-config` prints every setting with its type, default and description,
including each environment's options. The resolved config is saved as `config.yaml` in the run
folder, and `--resume` reloads it from there.

Environments are a mapping by name, one entry per environment registered in
`azmed.envs.ENVIRONMENTS` (an entry the YAML leaves out gets that environment's defaults; the
clinical one is on unless switched off). An environment's `options` are checked by its own
typed `Config` when the config is loaded.

Limits: a task type the environment knows but its options switch off is found when the
environment is built, before the model loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field, ValidationError, field_validator

from azmed.config import ConfigError, StrictModel, explain
from azmed.config import load_config as _load
from azmed.model import LoraSpec, ModelSpec

__all__ = ["ConfigError", "TrainConfig", "TaskTypeSettings", "load_config"]


class TaskTypeSettings(StrictModel):
    """How much of one task type a step does."""

    enabled: bool = Field(True, description="train on this task type")
    propose: int = Field(4, ge=0, description="proposals per step (0 = the proposer does not play this type)")
    solve: int = Field(8, ge=0, description="buffer tasks the solver answers (and is trained on) per step")
    propose_tokens: int = Field(160, ge=8, description="max new tokens of a proposal")
    solve_tokens: int = Field(24, ge=1, description="max new tokens of an answer")
    keep: Literal["all", "learnable"] = Field("all", description="valid proposals kept in the buffer: all, or only "
                                              "those the solver solves sometimes but not always (0 < p < 1)")
    demos: int | None = Field(None, ge=0, description="solver demonstrations of this type per warm-up step "
                              "(None = selfplay.warmup.solve; 0 = none)")


class EnvSettings(StrictModel):
    """One environment of the run."""

    enabled: bool = Field(False, description="play this environment (when left out: on for clinical, off for "
                          "the others)")
    options: dict[str, Any] = Field(default_factory=dict, description="the environment's options (its `Config`: "
                                    "listed under 'Environment options')")
    task_types: dict[str, TaskTypeSettings] = Field(
        default_factory=dict, description="per task type settings; a type the environment offers but not "
        "listed here runs with the defaults")


class WarmupSettings(StrictModel):
    """Steps of learning from the environment's own demonstrations (correct answers and valid
    proposals it writes itself, no human label) before self-play starts: a small model that never
    writes a calculator call or a specification gets no reward to learn from."""

    steps: int = Field(0, ge=0, description="warm-up steps (each one LoRA update on demonstrations only)")
    solve: int = Field(8, ge=0, description="solver demonstrations per task type and warm-up step (fresh "
                       "simulator tasks answered by the environment)")
    propose: int = Field(2, ge=0, description="proposer demonstrations per task type and warm-up step (valid "
                         "proposals written by the environment), for task types the proposer plays")


class AnchorSettings(StrictModel):
    """Keeping what the model could do before: every step, the solver prompts of fresh tasks
    whose answer is free text (no guide: a diagnosis asked with no options, a calculation asked
    for the number) are answered (by the policy or the base model, `source`), and the update adds
    `kl_coef` times a KL between policy and base model on those answers. Demonstrations and rewarded answers
    are short (an option, a call, a number); unanchored, a small model learns to answer every
    question that way and loses the free-text answers it gave before (AgentClinic). Label-free:
    the anchors are the model's own answers (or the base model's, `source`), never graded."""

    prompts: int = Field(0, ge=0, description="anchor prompts per step (0 = off)")
    kl_coef: float = Field(1.0, ge=0, description="weight of the anchors' KL to the base model (per anchor token)")
    source: Literal["policy", "base"] = Field("policy", description="who answers the anchor prompts: 'policy' "
                                              "(its own answers; the loss is KL(policy || base), k3 estimate) or "
                                              "'base' (the base model, adapter off; the loss is KL(base || policy), "
                                              "which keeps the base model's answers likely even once the policy "
                                              "has stopped giving them)")
    max_tokens: int | None = Field(None, ge=1, description="longest anchor answer in tokens (default: the task "
                                   "type's solve_tokens); the start of an answer carries its form")


class SelfPlaySettings(StrictModel):
    """The self-play game (DESIGN §5)."""

    references: int = Field(3, ge=0, description="K: buffer tasks shown to the proposer as references")
    mc_rollouts: int = Field(4, ge=1, description="n: solver rollouts per valid proposal for its solve rate")
    propose_prompts: int = Field(1, ge=1, description="distinct proposer prompts per task type and step (each with "
                                 "its own references and, for clinical specifications, its own sample of listed "
                                 "diagnoses); a task type's `propose` samples are spread over them. 1 = one prompt "
                                 "sampled `propose` times (one shared prefill; its samples tend to repeat each "
                                 "other)")
    train_rollouts: bool = Field(False, description="train the solver on the Monte-Carlo rollouts of the proposals "
                                 "that join the buffer (their answers were sampled and graded already; R-Zero "
                                 "style), besides the `solve` tasks drawn from the buffer")
    buffer_cap: int = Field(2048, ge=1, description="tasks kept per (environment, task type); the oldest leave first")
    invalid_penalty: float = Field(-0.5, le=0, description="proposer reward of a rejected proposal "
                                   "(parse, schema, implausible, duplicate, ...)")
    format_penalty: float = Field(-0.5, le=0, description="solver reward of an answer that cannot be parsed")
    train_propose: bool = Field(True, description="train the proposer role (else proposals only fill the buffers)")
    train_solve: bool = Field(True, description="train the solver role")
    env_tasks: float = Field(0.0, ge=0, le=1, description="fraction of each step's solver tasks drawn fresh from "
                             "the environment's own generator (`sample_tasks`, training seeds only) instead of "
                             "the buffer; 0 = pure self-play")
    warmup: WarmupSettings = Field(default_factory=WarmupSettings, description="learning from the environment's "
                                   "demonstrations before self-play")
    anchor: AnchorSettings = Field(default_factory=AnchorSettings, description="the model's own free-text answers "
                                   "held near the base model's, in warm-up and self-play steps")


class RolloutSettings(StrictModel):
    temperature: float = Field(1.0, gt=0, description="solver sampling temperature (1.0 = unbiased)")
    propose_temperature: float | None = Field(None, gt=0, description="proposer sampling temperature "
                                              "(None = `temperature`); below 1 keeps a small model's cases well-formed")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling (1.0 = off); top_k is always off")
    batch_size: int = Field(32, ge=1, description="completions generated together")
    batch_tokens: int = Field(0, ge=0, description="cached positions one generate call may hold: completions x "
                              "(padded prompt + new tokens); bounds the KV cache, the largest part of a step's "
                              "memory (0 = only `batch_size` bounds a call)")
    backend: Literal["hf", "vllm", "auto"] = Field("hf", description="'hf' (transformers generate), 'vllm' (GPU, "
                                                   "if installed) or 'auto' (vllm when installed, the model is on CUDA "
                                                   "and the run is one process, else hf); the backend used is logged "
                                                   "each step")


class TrainerSettings(StrictModel):
    steps: int = Field(100, ge=1, description="self-play steps (one LoRA update each)")
    lr: float = Field(1e-4, gt=0, description="AdamW learning rate of the LoRA weights")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    warmup_steps: int = Field(0, ge=0, description="linear learning-rate warm-up steps")
    schedule: Literal["constant", "cosine"] = Field("constant", description="learning rate after warm-up")
    grad_clip: float = Field(1.0, gt=0, description="max global gradient norm")
    micro_batch_tokens: int = Field(2048, ge=64, description="padded tokens per forward/backward chunk; activation "
                                    "memory is about 1.2 MB a token for SmolLM2-135M (the memory knob)")
    share_prompts: bool = Field(True, description="completions of one prompt share its forward pass in the update "
                                "(same gradient, less work)")
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass: most of "
                                         "the update's memory for about a third more update time (turns prompt "
                                         "sharing off)")
    time_budget_min: float | None = Field(None, gt=0, description="wall-clock minutes for the whole run, final "
                                          "check included: training stops early, cleanly, when the next step would "
                                          "not leave `eval.reserve_min` for the check (None = run every step)")
    ppo_clip: float | None = Field(None, gt=0, description="PPO ratio clip epsilon (matters when update_epochs > 1)")
    update_epochs: int = Field(1, ge=1, description="passes over each step's samples (1 = on-policy REINFORCE)")
    kl_coef: float = Field(0.0, ge=0, description="weight of a k3 KL penalty to the base model (0 = off)")


class RunSettings(StrictModel):
    out_dir: str | None = Field(None, description="run folder (default runs/<timestamp>-<env>)")
    seed: int = Field(0, description="seed of python, numpy and torch RNGs")
    checkpoint_every: int = Field(10, ge=1, description="save a checkpoint every N steps (and at the end)")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept (the oldest are removed)")
    samples_per_step: int = Field(3, ge=0, description="proposals and answers per group written to samples.jsonl")
    progress: bool = Field(True, description="show a progress bar")


class EvalSettings(StrictModel):
    at_end: bool = Field(True, description="when training ends, score the base model and the adapter on the "
                         "held-out suite of every enabled environment that declares one (`Environment."
                         "heldout_suite`: sim-heldout for clinical, code-heldout for code)")
    suites: list[str] = Field(default_factory=list, description="suites scored besides the enabled environments' "
                              "held-out suites (e.g. [medcalc]); names from `azmed eval`")
    setting: Literal["direct", "tools", "both"] = Field("direct", description="how suites that offer both ask "
                                                        "(sim-heldout, medcalc): see `azmed eval --setting`")
    medcalc_per_calculator: int | None = Field(1, ge=1, description="MedCalc-Bench rows per calculator in the final "
                                               "check (1 = one row per calculator; None = every row)")
    n: int = Field(300, ge=1, description="held-out items per suite")
    guided_calls: bool = Field(True, description="tools setting: calls written inside the grammar "
                               "(simulator.tools.CallGuide), as the environment's guided_calls does in training")
    guided_values: bool = Field(False, description="tools setting: a call's numbers chosen among the note's, as the "
                                "environment's guided_values does in training")
    task_types: list[str] = Field(default_factory=lambda: ["diagnosis", "calculation"],
                                  description="held-out task types, for suites that offer several (sim-heldout)")
    batch_size: int = Field(32, ge=1, description="prompts generated together")
    max_batch_tokens: int = Field(24_000, ge=256, description="cap on (longest prompt tokens x batch) per batch "
                                  "(`azmed eval`'s max_batch_tokens): long notes come in smaller batches, which "
                                  "bounds the check's memory")
    max_new_tokens: int = Field(24, ge=1, description="tokens generated per answer")
    reserve_min: float = Field(5.0, ge=0, description="minutes kept for the final check when "
                               "`trainer.time_budget_min` is set")
    base_first: bool = Field(True, description="with `trainer.time_budget_min`, score the base model before the "
                             "first step (heldout-base.json) instead of after the last, and reserve its measured "
                             "time, times `base_margin`, for the adapter's half of the check")
    base_margin: float = Field(1.25, ge=1.0, description="the adapter's check is reserved this many times the base "
                               "model's measured check time (its answers can be longer)")
    reserve_steps: float = Field(0.0, ge=0, description="the final check's reserve in steps of this run: the "
                                 "reserve is the larger of reserve_min and this many times the mean of the last five "
                                 "steps' times, so "
                                 "that it grows on a slower machine (the check's generation slows as the steps do)")


class TrainConfig(StrictModel):
    """Everything `azmed train` needs."""

    run: RunSettings = Field(default_factory=RunSettings, description="run folder, seed, logging, checkpoints")
    model: ModelSpec = Field(default_factory=ModelSpec, description="the base model")
    lora: LoraSpec = Field(default_factory=LoraSpec, description="the LoRA adapter shared by both roles")
    init_adapter: str | None = Field(None, description="start from this saved LoRA adapter folder")
    envs: dict[str, EnvSettings] = Field(default_factory=dict, validate_default=True,
                                         description="environments by registered name (azmed.envs.ENVIRONMENTS)")
    selfplay: SelfPlaySettings = Field(default_factory=SelfPlaySettings, description="the self-play game")
    rollout: RolloutSettings = Field(default_factory=RolloutSettings, description="sampling")
    trainer: TrainerSettings = Field(default_factory=TrainerSettings, description="the LoRA update")
    eval: EvalSettings = Field(default_factory=EvalSettings, description="held-out check at the end")

    @field_validator("envs", mode="before")
    @classmethod
    def _every_registered_environment(cls, value: Any) -> dict[str, Any]:
        """One entry per registered environment, in registry order, with its options checked."""
        from azmed.envs import ENVIRONMENTS, env_class

        given = dict(value or {})
        unknown = [name for name in given if name not in ENVIRONMENTS]
        if unknown:
            raise ValueError(f"unknown environment {unknown[0]!r}; the registered ones are {', '.join(ENVIRONMENTS)}")
        out = {}
        for name in ENVIRONMENTS:
            entry = given.get(name) or {}
            entry = entry.model_dump() if isinstance(entry, EnvSettings) else dict(entry)
            env = env_class(name)
            entry.setdefault("enabled", env.enabled_by_default)
            try:
                env.Config.model_validate(entry.get("options") or {})
            except ValidationError as exc:
                raise ValueError(explain(exc, env.Config, f"envs.{name}.options", {})) from None
            known_types = env.all_task_types or tuple(entry.get("task_types") or ())  # () = checked when built
            unknown_types = [tt for tt in entry.get("task_types") or {} if tt not in known_types]
            if unknown_types:
                raise ValueError(f"envs.{name}.task_types.{unknown_types[0]} is not a task type of the {name} "
                                 f"environment; it offers {', '.join(env.all_task_types)}")
            out[name] = entry
        return out

    def enabled_envs(self) -> list[str]:
        """Names of the environments played, in registry order.

        >>> TrainConfig().enabled_envs(), TrainConfig(envs={"code": {"enabled": True}}).enabled_envs()
        (['clinical'], ['clinical', 'code'])
        """
        return [name for name, settings in self.envs.items() if settings.enabled]


def load_config(path: str | Path | None, overrides: Sequence[str] = (), *,
                flags: dict[str, Any] | None = None) -> TrainConfig:
    """The config of YAML file `path` (None = defaults), then typed `flags`, then dotted `overrides`."""
    return _load(TrainConfig, path, overrides, flags=flags)


def environment_options_help() -> list[tuple[str, list[str]]]:
    """`--help-config` sections: each registered environment's options."""
    from azmed.config import describe
    from azmed.envs import ENVIRONMENTS, env_class

    return [(f"Environment options: envs.{name}.options.*", describe(env_class(name).Config, f"envs.{name}.options."))
            for name in ENVIRONMENTS]
