"""The typed configuration of `azmed eval`: the model, batching, and one block of options per
suite, with dotted `key=value` overrides from the command line.

    from azmed.eval.config import EvalConfig, apply_overrides
    cfg = apply_overrides(EvalConfig(), ["batch_size=32", "medcalc.max_new_tokens=96"])
    cfg.model_spec()            # the ModelSpec to load

Every field has a description; an unknown key is an error that names the known ones. Values of
overrides are read as YAML scalars (`32`, `0.5`, `true`, `null`, `cuda`).

Limits: generation is always greedy (temperature 0), so a run is reproducible on the same
machine and batch size; the batch composition can still move a greedy choice on a tie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA_DIR = Path(__file__).resolve().parent / "data"
MEDCALC_CSV = DATA_DIR / "medcalc_bench_dev.csv"
AGENTCLINIC_JSONL = DATA_DIR / "agentclinic_medqa.jsonl"


class ConfigError(ValueError):
    """A configuration value or override that cannot be used; the message says how to fix it."""


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimHeldoutOptions(_Options):
    n: int = Field(300, ge=1, description="held-out simulator tasks (split evenly over the task types)")
    task_types: list[str] = Field(default_factory=lambda: ["diagnosis", "calculation"],
                                  description="clinical task types to evaluate")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer")


class MedCalcOptions(_Options):
    csv: str = Field(str(MEDCALC_CSV), description="MedCalc-Bench CSV (the shipped dev copy by default)")
    max_new_tokens: int = Field(48, ge=1, description="tokens generated per answer")


class AgentClinicOptions(_Options):
    jsonl: str = Field(str(AGENTCLINIC_JSONL), description="AgentClinic OSCE JSONL (the shipped MedQA copy by default)")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer")


class CodeHeldoutOptions(_Options):
    n: int = Field(100, ge=1, description="held-out code triplets (split evenly over deduction and abduction)")
    max_new_tokens: int = Field(64, ge=1, description="tokens generated per answer")
    timeout: float = Field(2.0, gt=0, le=60, description="sandbox wall-clock seconds per program run")


class HumanEvalOptions(_Options):
    max_new_tokens: int = Field(320, ge=1, description="tokens generated per completion")
    timeout: float = Field(5.0, gt=0, le=60, description="sandbox wall-clock seconds per problem's tests")


class EvalConfig(_Options):
    """Everything `azmed eval` needs besides the suite names and output path."""

    model: str = Field("embedded", description="'embedded', a local HF folder, or a model id in the local HF cache")
    adapter: str | None = Field(None, description="LoRA adapter folder (e.g. runs/<run>/adapter)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' = cuda if available, else cpu")
    dtype: Literal["auto", "float32", "bfloat16"] = Field("auto", description="see ModelSpec.dtype")
    threads: int = Field(0, ge=0, description="torch CPU threads (0 = torch's default)")
    batch_size: int = Field(16, ge=1, description="prompts generated together")
    max_batch_tokens: int = Field(24_000, ge=256, description="cap on (longest prompt tokens x batch) per batch, so "
                                  "long patient notes are batched smaller instead of exhausting memory")
    limit: int | None = Field(None, ge=1, description="at most this many items per suite (a quick look)")
    progress: bool = Field(True, description="show a progress bar on stderr")
    sim_heldout: SimHeldoutOptions = Field(default_factory=SimHeldoutOptions)
    medcalc: MedCalcOptions = Field(default_factory=MedCalcOptions)
    agentclinic: AgentClinicOptions = Field(default_factory=AgentClinicOptions)
    code_heldout: CodeHeldoutOptions = Field(default_factory=CodeHeldoutOptions)
    humaneval: HumanEvalOptions = Field(default_factory=HumanEvalOptions)

    def model_spec(self):
        from azmed.model import ModelSpec

        return ModelSpec(name=self.model, device=self.device, dtype=self.dtype, threads=self.threads)

    def suite_options(self, suite: str) -> _Options:
        """The options block of a suite ('sim-heldout' -> `sim_heldout`)."""
        return getattr(self, suite.replace("-", "_"))


def build_config(values: dict[str, Any], overrides: Sequence[str] = ()) -> EvalConfig:
    """An `EvalConfig` from `values` (nested dicts for suite blocks), then dotted overrides;
    every problem is a `ConfigError` naming the setting.

    >>> build_config({"medcalc": {"max_new_tokens": 64}}, ["batch_size=8"]).batch_size
    8
    """
    return apply_overrides(_validated(values), overrides)


def _validated(data: dict[str, Any]) -> EvalConfig:
    try:
        return EvalConfig(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid eval setting: {problems}") from None


def apply_overrides(cfg: EvalConfig, overrides: Sequence[str]) -> EvalConfig:
    """A copy of `cfg` with dotted `key=value` overrides applied and validated.

    >>> apply_overrides(EvalConfig(), ["batch_size=8", "medcalc.max_new_tokens=64"]).medcalc.max_new_tokens
    64
    """
    data: dict[str, Any] = cfg.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. batch_size=32 or medcalc.max_new_tokens=96)")
        path = key.strip().replace("-", "_").split(".")
        node = data
        for depth, part in enumerate(path):
            where = ".".join(path[:depth]) or "the eval config"
            if not isinstance(node, dict):
                raise ConfigError(f"unknown setting {key.strip()!r}: {where} is a single value, not a block of settings")
            if part not in node:
                raise ConfigError(f"unknown setting {key.strip()!r}: {where} has {', '.join(sorted(node))}")
            if depth == len(path) - 1:
                try:
                    value = yaml.safe_load(raw) if raw.strip() else None
                except yaml.YAMLError:
                    value = raw
                # A text setting keeps the text as typed (a file named "123" stays "123").
                node[part] = raw if isinstance(node[part], str) and value is not None else value
            else:
                node = node[part]
    return _validated(data)
