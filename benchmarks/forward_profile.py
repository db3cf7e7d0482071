"""Where a causal LM's forward passes go: every forward of the model is timed and counted by a
hook, as prefill, decode or update, with its tokens and FLOPs.

    from benchmarks.forward_profile import ForwardProfile
    profile = ForwardProfile(model, pad_id)       # hooks the innermost *ForCausalLM module
    with profile.generating():                    # forwards in here are generation
        policy.model.generate(...)
    loss = model(...)                             # outside: the update's forwards
    profile.work()["prefill"].tokens, profile.flops("update", recompute=True)

Classification: inside `generating()` a forward with more than one new position per row is a
prefill, one with a single position is a decode step; every other forward belongs to the update.

Tokens are real tokens, never padding: the attention mask over the new positions; in a decode
step, rows fed the pad token (pad = eos: the row has already ended) are not counted.
`positions` counts what was computed, padding included, so padding waste is
1 - tokens / positions.

FLOPs (matmuls only; attention scores, about 4·layers·hidden·context per token, are left out,
under 10 % at a few hundred tokens of context, so the shares of peak are lower bounds):
- P = weights of the linear layers of the decoder (the embedding and the LM head excluded),
  L = LoRA weights (lora_A and lora_B), d·V = the LM head (hidden x vocabulary);
- forward: 2·P per token, plus 2·L per token when the LoRA is not merged (the update; generation
  merges it), plus 2·d·V per position whose logits are computed (one per row in a prefill with
  `logits_to_keep`, every completion position in the update);
- update, per token: the forward above, a backward of 2·P (gradients with respect to the inputs
  only: the base weights are frozen) + 4·L (inputs and LoRA weights), and the LM head's 2·d·V
  backward per logits position; with gradient checkpointing the decoder layers' forward runs
  again in the backward: + 2·P + 2·L per token.
So roughly 2·P·tokens for a prefill or a decode step, and (4 + 2·recompute)·P·tokens for the
update.

Limits: one model per profile; the hook sees the model's own forward only (not sampling or
logits processing between decode steps, which a caller measures as generation time minus the
forwards). The update's FLOPs assume a backward after every update forward: forwards without
gradients (old log-probabilities with `update_epochs` > 1, the reference model with `kl_coef`)
are counted as if they had one.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass


@dataclass
class Work:
    """Forwards of one kind: calls, seconds inside the forward, real tokens, computed positions
    and positions whose logits were computed."""

    calls: int = 0
    seconds: float = 0.0
    tokens: int = 0
    positions: int = 0
    logits: int = 0

    @property
    def padding(self) -> float:
        """Share of computed positions that were padding."""
        return 1 - self.tokens / self.positions if self.positions else 0.0


KINDS = ("prefill", "decode", "update")


def causal_lm(model):
    """The module that owns the LM head (inside peft's and other wrappers, which only delegate)."""
    for m in model.modules():
        if type(m).__name__.endswith("ForCausalLM") and "lm_head" in m._modules:
            return m
    raise ValueError(f"no *ForCausalLM module with an lm_head inside {type(model).__name__}")


class ForwardProfile:
    """See the module docstring."""

    def __init__(self, model, pad_id: int):
        import torch

        self.core = causal_lm(model)
        self.pad_id = pad_id
        self._generating = 0
        self._open: list[tuple[str, float]] = []
        self.reset()
        linear = [(name, m) for name, m in self.core.named_modules()
                  if isinstance(m, torch.nn.Linear) and "lm_head" not in name]
        self.lora_weights = sum(m.weight.numel() for name, m in linear if "lora_" in name)
        self.base_weights = sum(m.weight.numel() for name, m in linear if "lora_" not in name)
        head = self.core.lm_head.weight
        self.head_weights = head.numel()  # hidden x vocabulary
        self._hooks = [self.core.register_forward_pre_hook(self._before, with_kwargs=True),
                       self.core.register_forward_hook(self._after, with_kwargs=True)]

    def reset(self) -> None:
        self._work = {k: Work() for k in KINDS}

    def work(self) -> dict[str, Work]:
        return self._work

    def close(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    @contextlib.contextmanager
    def generating(self):
        """Forwards inside the block are generation (prefill or decode)."""
        self._generating += 1
        try:
            yield
        finally:
            self._generating -= 1

    # ---- the hooks --------------------------------------------------------------------------------
    def _before(self, module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:  # inputs_embeds: count the positions
            emb = kwargs["inputs_embeds"]
            rows, new = emb.shape[0], emb.shape[1]
            tokens = rows * new
        else:
            rows, new = ids.shape
            mask = kwargs.get("attention_mask")
            real = mask[:, -new:].bool() if mask is not None and mask.dim() == 2 else ids.new_ones(ids.shape, dtype=bool)
            if self._generating and new == 1:
                real = real & (ids != self.pad_id)  # a row fed pad has already ended
            tokens = int(real.sum())
        kind = ("prefill" if new > 1 else "decode") if self._generating else "update"
        w = self._work[kind]
        w.calls += 1
        w.tokens += tokens
        w.positions += rows * new
        self._open.append((kind, time.perf_counter()))

    def _after(self, module, args, kwargs, output):
        kind, t0 = self._open.pop()
        w = self._work[kind]
        w.seconds += time.perf_counter() - t0
        logits = getattr(output, "logits", None)
        if logits is not None:
            w.logits += logits.shape[0] * logits.shape[1]

    # ---- FLOPs ------------------------------------------------------------------------------------
    def flops(self, kind: str, recompute: bool = False, merged: bool = True, useful: bool = True) -> float:
        """FLOPs of the forwards of `kind` (formulas in the module docstring); `useful` counts real
        tokens, else every computed position; `recompute`: gradient checkpointing (update only);
        `merged`: the LoRA is merged into the weights during generation (AZ-Med; TRL does not)."""
        w = self._work[kind]
        n = w.tokens if useful else w.positions
        p, lora, head = self.base_weights, self.lora_weights, self.head_weights
        if kind != "update":
            return 2.0 * (p + (0 if merged else lora)) * n + 2.0 * head * w.logits
        per_token = (2 * p + 2 * lora) + (2 * p + 4 * lora) + (2 * p + 2 * lora if recompute else 0)
        return float(per_token) * n + 4.0 * head * w.logits
