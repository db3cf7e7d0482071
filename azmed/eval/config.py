"""The typed configuration of `azmed eval`: the model (the same `ModelSpec` block as training, so
a run's system prompt and precision carry over unchanged), batching, and one block of options
per suite. It is loaded by the one config loader (`azmed.config.load_config`): the command's
flags, then dotted `key=value` overrides.

    from azmed.config import load_config
    from azmed.eval.config import EvalConfig
    cfg = load_config(EvalConfig, overrides=["batch_size=32", "medcalc.max_new_tokens=96",
                                             "model.device=cuda"])
    cfg.suite_options("sim-heldout").n

`azmed eval --help-config` lists every setting with its type, default and description.

Limits: generation is always greedy (temperature 0), so a run is reproducible on the same
machine and batch size; the batch composition can still move a greedy choice on a tie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from azmed.config import ConfigError, StrictModel
from azmed.model import ModelSpec

__all__ = ["ConfigError", "EvalConfig", "AGENTCLINIC_JSONL", "MEDCALC_CSV"]

DATA_DIR = Path(__file__).resolve().parent / "data"
MEDCALC_CSV = DATA_DIR / "medcalc_bench_dev.csv"
AGENTCLINIC_JSONL = DATA_DIR / "agentclinic_medqa.jsonl"


class SimHeldoutOptions(StrictModel):
    n: int = Field(300, ge=1, description="held-out simulator tasks (split evenly over the task types)")
    task_types: list[str] = Field(default_factory=lambda: ["diagnosis", "calculation"],
                                  description="clinical task types to evaluate")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer")
    tools_max_new_tokens: int = Field(96, ge=1, description="tokens generated per answer in the tools setting "
                                      "(a calculator call is longer than a number)")
    guided_calls: bool = Field(True, description="tools setting: the call is written inside the grammar, as in "
                               "training (the environment's guided_calls)")
    guided_values: bool = Field(False, description="tools setting, with guided_calls: a call's numbers are chosen "
                                "among the note's, as in training (the environment's guided_values)")
    grade_inputs: bool = Field(False, description="tools setting: a call is right only when its inputs match the "
                               "case's values too (the environment's grade_inputs)")


class MedCalcOptions(StrictModel):
    csv: str = Field(str(MEDCALC_CSV), description="MedCalc-Bench CSV (the shipped dev copy by default)")
    max_new_tokens: int = Field(48, ge=1, description="tokens generated per answer")
    tools_max_new_tokens: int = Field(128, ge=1, description="tokens generated per answer in the tools setting")
    guided_calls: bool = Field(True, description="tools setting: the call is written inside the grammar, as in "
                               "training (simulator.tools.CallGuide over the calculators the prompt lists)")
    guided_values: bool = Field(False, description="tools setting, with guided_calls: a call's numbers are chosen "
                                "among the note's, as in training (the environment's guided_values)")
    per_calculator: int | None = Field(None, ge=1, description="at most this many rows per calculator, the first in "
                                       "file order (1 = the one-row-per-calculator subset); None = every row")
    tool_count: int = Field(3, ge=1, le=10, description="calculators listed in a tools-setting prompt (those whose "
                            "names best match the question, as in training)")


class AgentClinicOptions(StrictModel):
    jsonl: str = Field(str(AGENTCLINIC_JSONL), description="AgentClinic OSCE JSONL (the shipped MedQA copy by default)")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer")


class CodeHeldoutOptions(StrictModel):
    n: int = Field(100, ge=1, description="held-out code triplets (split evenly over deduction and abduction)")
    max_new_tokens: int = Field(64, ge=1, description="tokens generated per answer")
    timeout: float = Field(2.0, gt=0, le=60, description="sandbox wall-clock seconds per program run")


class HumanEvalOptions(StrictModel):
    max_new_tokens: int = Field(320, ge=1, description="tokens generated per completion")
    timeout: float = Field(5.0, gt=0, le=60, description="sandbox wall-clock seconds per problem's tests")


class RealCaseOptions(StrictModel):
    jsonl: str | None = Field(None, description="real-case JSONL file (docs/real-cases.md), e.g. a fine-tuning "
                              "run's heldout.jsonl or the output of `azmed data convert`")
    max_new_tokens: int = Field(32, ge=1, description="tokens generated per answer")


class EvalConfig(StrictModel):
    """Everything `azmed eval` needs besides the suite names and output path."""

    model: ModelSpec = Field(default_factory=ModelSpec, description="the base model (the training block)")
    adapter: str | None = Field(None, description="LoRA adapter folder (e.g. runs/<run>/adapter)")
    batch_size: int = Field(16, ge=1, description="prompts generated together")
    max_batch_tokens: int = Field(24_000, ge=256, description="cap on (longest prompt tokens x batch) per batch, so "
                                  "long patient notes are batched smaller instead of exhausting memory")
    limit: int | None = Field(None, ge=1, description="at most this many items per suite (a quick look)")
    setting: Literal["direct", "tools", "both"] = Field(
        "direct", description="how suites that offer both ask (sim-heldout, medcalc): 'direct' (answer the value), "
        "'tools' (answer with one calculator call, executed), or 'both' side by side (the tools results are "
        "reported as '<suite>-tools')")
    progress: bool = Field(True, description="show a progress bar on stderr")
    sim_heldout: SimHeldoutOptions = Field(default_factory=SimHeldoutOptions)
    medcalc: MedCalcOptions = Field(default_factory=MedCalcOptions)
    agentclinic: AgentClinicOptions = Field(default_factory=AgentClinicOptions)
    code_heldout: CodeHeldoutOptions = Field(default_factory=CodeHeldoutOptions)
    humaneval: HumanEvalOptions = Field(default_factory=HumanEvalOptions)
    real_cases: RealCaseOptions = Field(default_factory=RealCaseOptions)

    @staticmethod
    def block_name(suite: str) -> str:
        """The options block of a suite: 'sim-heldout' -> `sim_heldout`."""
        return suite.replace("-", "_")

    def suite_options(self, suite: str) -> StrictModel:
        """The options of a suite ('sim-heldout' -> `sim_heldout`)."""
        return getattr(self, self.block_name(suite))
