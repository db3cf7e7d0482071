"""The LoRA policy-gradient update of one self-play step (DESIGN §5).

    from azmed.selfplay.update import Sample, make_optimizer, policy_gradient_update
    stats = policy_gradient_update(policy, optimizer, samples, micro_batch_tokens=4096, grad_clip=1.0)

Loss: token-mean REINFORCE over the completion tokens the model chose (a guide's forced tokens,
`Sample.forced`, are neither trained nor counted),
    L = -(1/T) * sum_i sum_t A_i * rho_it       (T = completion tokens of the whole step)
with rho = exp(logp - logp_old) (= 1 with gradient d logp when on-policy, one epoch), logp the
log-probability under the distribution the completion was sampled from (logits / temperature), clipped
PPO-style when `ppo_clip` is set, plus `kl_coef` times the k3 estimate of KL(policy || base)
when asked. Samples whose advantage is 0 give no gradient and are skipped (their tokens still
count in T, so the token mean is the same as if they were computed). The eos that ended a
completion is trained on too: stopping is part of the answer.

Speed (DESIGN §9): completions of one prompt (a proposer's batch, a task's Monte-Carlo
rollouts) share one forward pass of that prompt: the prompt is run once with gradients, its KV
cache is copied to each completion, and the completions run on top of it, so a 500-token note
answered 4 times costs 500 + 4 x the answer's tokens instead of 4 x 530 (the gradient is the
same; the prompt's activations receive the gradients of every completion). Other sequences are
sorted by length and packed into micro-batches of at most `micro_batch_tokens` padded tokens.
`logits_to_keep` limits the 49,152-way log-softmax to the completion; fp32 master weights with
bf16 autocast on CPUs that support it; one optimizer step per call with the global gradient norm
clipped. `micro_batch_tokens` also bounds a shared prompt's group (a larger group is split).

Layout of a micro-batch: [left padding][prompt][completion][right padding], position ids from
the attention mask, exactly as during generation. A shared group: the prompt alone (positions
0..P-1), then [completion][right padding] at positions P.. with the prompt's cache.

Data parallel (`world`, `azmed.selfplay.distributed`): every rank holds the same samples and
plans the same units; each rank computes its share of the units (balanced by tokens), the loss
keeps the global token count T as its denominator, and the LoRA gradients are summed over the
ranks before clipping, so N ranks take the same optimizer step as one process.

Memory: activations kept for the backward pass are about 1.2 MB per token for SmolLM2-135M
under bf16 autocast, so `micro_batch_tokens` is the memory knob; `gradient_checkpointing`
(`trainer.gradient_checkpointing`) trades a second forward pass for most of that memory and
turns prompt sharing off (the model does not keep a cache under checkpointing).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from azmed.generation import padded_width
from azmed.model import Policy
from azmed.selfplay.distributed import World, assign


@dataclass
class Sample:
    """One trained completion: its tokens (eos included when the model stopped), advantage."""

    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float
    temperature: float = 1.0  # the sampling temperature: log-probabilities are of logits / temperature
    forced: tuple[int, ...] = ()  # completion positions a guide wrote (not the model's choice): not trained

    @property
    def length(self) -> int:
        return len(self.prompt_ids) + len(self.completion_ids)

    @property
    def trained_tokens(self) -> int:
        return len(self.completion_ids) - sum(1 for k in set(self.forced) if k < len(self.completion_ids))

    def mask_row(self, width: int) -> list[float]:
        """1.0 for each trained completion position, 0.0 for forced ones and padding, `width` long."""
        row = [1.0] * len(self.completion_ids) + [0.0] * (width - len(self.completion_ids))
        for k in self.forced:
            if k < len(self.completion_ids):
                row[k] = 0.0
        return row


def make_optimizer(model, lr: float, weight_decay: float, warmup_steps: int, total_steps: int, schedule: str):
    """AdamW over the trainable (LoRA) weights, with linear warm-up then constant or cosine."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise RuntimeError("the model has no trainable weights: attach a LoRA adapter first")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "cosine":
            done = (step - warmup_steps) / max(1, total_steps - warmup_steps)
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
        return 1.0

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def micro_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices sorted by length, packed so that (rows x longest row) <= max_tokens (a single
    longer row gets a batch of its own).

    >>> micro_batches([10, 50, 20, 40], 100)
    [[0, 2], [3, 1]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * lengths[i] <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _collate(samples: Sequence[Sample], pad_id: int, device: str, multiple: int = 1):
    """(ids, mask, positions, completion mask, completion width) of a micro-batch, prompts
    left-padded so that the model's input (all but the last position) is a `multiple` wide."""
    wc = max(len(s.completion_ids) for s in samples)
    wp = padded_width(max(len(s.prompt_ids) for s in samples) + wc - 1, multiple) + 1 - wc
    n = len(samples)
    ids = torch.full((n, wp + wc), pad_id, dtype=torch.long)
    mask = torch.zeros((n, wp + wc), dtype=torch.long)
    cmask = torch.zeros((n, wc), dtype=torch.float32)
    for r, s in enumerate(samples):
        p, c = len(s.prompt_ids), len(s.completion_ids)
        ids[r, wp - p:wp] = torch.tensor(s.prompt_ids)
        ids[r, wp:wp + c] = torch.tensor(s.completion_ids, dtype=torch.long)
        mask[r, wp - p:wp + c] = 1
        cmask[r] = torch.tensor(s.mask_row(wc))
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), pos.to(device), cmask.to(device), wc


def completion_logprobs(model, ids, mask, pos, wc: int, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities of the last `wc` tokens of each row (the completion) under `model`,
    of the distribution sampled from (logits / temperature)."""
    out = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=pos[:, :-1],
                logits_to_keep=wc, use_cache=False)
    logits = out.logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    targets = ids[:, -wc:]
    # gather - logsumexp: the same as log_softmax + gather without a second vocab-sized tensor
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


@dataclass(frozen=True)
class Unit:
    """Samples computed together: `shared` ones all have the same prompt (run once)."""

    indices: tuple[int, ...]
    shared: bool


def plan_units(samples: Sequence[Sample], micro_batch_tokens: int, share_prompts: bool = True) -> list[Unit]:
    """Samples grouped for computation: completions of the same prompt (and temperature) share
    the prompt's forward pass, in groups of at most `micro_batch_tokens` (prompt + padded
    completions); the other samples go into length-sorted micro-batches.

    >>> s = [Sample([1, 2, 3], [4], 1.0), Sample([1, 2, 3], [5, 6], 1.0), Sample([9], [8], 1.0)]
    >>> plan_units(s, 100)
    [Unit(indices=(0, 1), shared=True), Unit(indices=(2,), shared=False)]
    """
    by_prompt: dict[tuple, list[int]] = {}
    for i, s in enumerate(samples):
        by_prompt.setdefault((tuple(s.prompt_ids), s.temperature), []).append(i)
    units: list[Unit] = []
    singles: list[int] = []
    for (prompt, _), idx in by_prompt.items():
        if not share_prompts or len(idx) < 2:
            singles += idx
            continue
        idx.sort(key=lambda i: len(samples[i].completion_ids))
        chunk: list[int] = []
        for i in idx:
            width = len(samples[i].completion_ids)
            if chunk and len(prompt) + (len(chunk) + 1) * width > micro_batch_tokens:
                units.append(Unit(tuple(chunk), True))
                chunk = []
            chunk.append(i)
        units.append(Unit(tuple(chunk), len(chunk) > 1) if len(chunk) > 1 else Unit(tuple(chunk), False))
    for temp in sorted({samples[i].temperature for i in singles}):
        idx = [i for i in singles if samples[i].temperature == temp]
        units += [Unit(tuple(idx[k] for k in b), False)
                  for b in micro_batches([samples[i].length for i in idx], micro_batch_tokens)]
    return units


def unit_tokens(unit: Unit, samples: Sequence[Sample]) -> int:
    """Tokens a unit runs through the model (a shared prompt once, padding not counted).

    >>> s = [Sample([1, 2, 3], [4], 1.0), Sample([1, 2, 3], [5, 6], 1.0)]
    >>> unit_tokens(Unit((0, 1), True), s), unit_tokens(Unit((0, 1), False), s)
    (6, 9)
    """
    if unit.shared:
        return len(samples[unit.indices[0]].prompt_ids) + sum(len(samples[i].completion_ids) for i in unit.indices)
    return sum(samples[i].length for i in unit.indices)


def unit_logprobs(model, samples: Sequence[Sample], shared: bool, pad_id: int, device: str, pad_multiple: int = 1):
    """(log-probabilities of each completion token (n, wc), completion mask (n, wc)) of one unit,
    under logits / temperature; with `shared`, the common prompt runs once (see the docstring).
    Unshared micro-batches are padded to a `pad_multiple` of positions (`model.pad_multiple`)."""
    temperature = samples[0].temperature
    if not shared:
        ids, mask, pos, cmask, wc = _collate(samples, pad_id, device, pad_multiple)
        return completion_logprobs(model, ids, mask, pos, wc, temperature), cmask
    from transformers import DynamicCache

    n, wc = len(samples), max(len(s.completion_ids) for s in samples)
    prompt = torch.tensor([samples[0].prompt_ids], dtype=torch.long, device=device)
    comp = torch.full((n, wc), pad_id, dtype=torch.long)
    for r, s in enumerate(samples):
        comp[r, :len(s.completion_ids)] = torch.tensor(s.completion_ids, dtype=torch.long)
    attend = torch.tensor([[1] * len(s.completion_ids) + [0] * (wc - len(s.completion_ids)) for s in samples],
                          dtype=torch.long, device=device)
    cmask = torch.tensor([s.mask_row(wc) for s in samples], dtype=torch.float32, device=device)
    comp = comp.to(device)
    cache = DynamicCache()
    first = model(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1].float()
    first = torch.log_softmax(first / temperature, dim=-1)[0]                     # (V,)
    logp = first[comp[:, 0]].unsqueeze(1)                                         # (n, 1)
    if wc > 1:
        p = prompt.shape[1]
        cache.batch_select_indices(torch.zeros(n, dtype=torch.long, device=device))
        attn = torch.cat([torch.ones((n, p), dtype=torch.long, device=device), attend[:, :-1]], dim=1)
        pos = (p + torch.arange(wc - 1, device=device)).unsqueeze(0).expand(n, -1)
        logits = model(input_ids=comp[:, :-1], attention_mask=attn, position_ids=pos, past_key_values=cache,
                       use_cache=True).logits.float() / temperature
        rest = logits.gather(-1, comp[:, 1:].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
        logp = torch.cat([logp, rest], dim=1)
    return logp, cmask


def k3_kl(logp: torch.Tensor, ref: torch.Tensor, cmask: torch.Tensor) -> torch.Tensor:
    """The k3 estimate of KL(policy || base) summed over the masked tokens: with d = ref - logp
    per token, exp(d) - d - 1 (non-negative, unbiased for samples of the policy)."""
    d = ref - logp
    return ((torch.exp(d) - d - 1) * cmask).sum()


def policy_gradient_update(policy: Policy, optimizer, samples: Sequence[Sample], *, micro_batch_tokens: int,
                           grad_clip: float, scheduler=None, ppo_clip: float | None = None,
                           update_epochs: int = 1, kl_coef: float = 0.0, share_prompts: bool = True,
                           world: World = World(), anchors: Sequence[Sample] = (),
                           anchor_kl: float = 0.0, anchor_source: str = "policy") -> dict[str, float]:
    """One optimizer step (per epoch) on `samples`; returns the surrogate loss, the mean negative
    log-likelihood of the computed completion tokens per trained token (`nll`: the warm-up's
    loss), grad norm, tokens, seconds. With several ranks (`world`), every rank passes the same
    `samples` and computes its share of them (see the module docstring).

    `anchors`: answers to prompts the policy is not trained on; the loss adds `anchor_kl` times
    a KL between policy and base model per anchor token (their advantages are ignored), which
    holds the model's answers there near the base model's while `samples` teach something else
    (`selfplay.anchor`). `anchor_source` says who wrote them: 'policy' (the k3 estimate of
    KL(policy || base)) or 'base' (the log-ratio estimate of KL(base || policy), whose gradient
    is that of the base answers' negative log-likelihood)."""
    if anchor_source not in ("policy", "base"):
        raise ValueError(f"anchor_source must be 'policy' or 'base', not {anchor_source!r}")
    t0 = time.perf_counter()
    model = policy.model
    total_tokens = sum(s.trained_tokens for s in samples)
    active = [s for s in samples if s.advantage != 0.0 and s.trained_tokens] if kl_coef == 0 else \
        [s for s in samples if s.trained_tokens]
    anchors = [s for s in anchors if s.trained_tokens] if anchor_kl > 0 else []
    anchor_tokens = sum(s.trained_tokens for s in anchors)
    stats = {"loss": 0.0, "grad_norm": 0.0, "trained_tokens": float(total_tokens),
             "computed_sequences": float(len(active)), "kl": 0.0, "clip_frac": 0.0, "nll": 0.0}
    if anchors:
        stats.update(anchor_kl=0.0, anchor_tokens=float(anchor_tokens))
    if (not active or total_tokens == 0) and not anchors:
        stats["update_s"] = time.perf_counter() - t0
        return stats
    pad, device = policy.tokenizer.pad_token_id, policy.device
    # the step's samples, then the anchors, as units of computation shared out over the ranks
    units = [(u, active) for u in plan_units(active, micro_batch_tokens, share_prompts)] + \
        [(u, anchors) for u in plan_units(anchors, micro_batch_tokens, share_prompts)]
    costs = [unit_tokens(u, pool) for u, pool in units]
    stats["computed_tokens"] = float(sum(costs))
    owner = assign(costs, world.size)
    mine = [b for b in range(len(units)) if owner[b] == world.rank]
    model.train()
    old: dict[int, torch.Tensor] = {}
    ref: dict[int, torch.Tensor] = {}
    with torch.no_grad(), policy.autocast():
        for b in mine:
            u, pool = units[b]
            group = [pool[i] for i in u.indices]
            if update_epochs > 1 and pool is active:
                old[b] = unit_logprobs(model, group, u.shared, pad, device, policy.pad_multiple)[0]
            if kl_coef > 0 or pool is anchors:
                with model.disable_adapter():
                    ref[b] = unit_logprobs(model, group, u.shared, pad, device, policy.pad_multiple)[0]
    params = [p for p in model.parameters() if p.requires_grad]
    clipped = counted = 0.0
    for _ in range(update_epochs):
        optimizer.zero_grad(set_to_none=True)
        loss_sum = kl_sum = nll_sum = anchor_sum = 0.0
        for b in mine:
            u, pool = units[b]
            group = [pool[i] for i in u.indices]
            if pool is anchors:
                with policy.autocast():
                    logp, cmask = unit_logprobs(model, group, u.shared, pad, device, policy.pad_multiple)
                kl = (k3_kl(logp, ref[b], cmask) if anchor_source == "policy" else
                      ((ref[b] - logp) * cmask).sum()) / anchor_tokens
                loss = anchor_kl * kl
                loss.backward()
                anchor_sum += float(kl.detach())
                loss_sum += float(loss.detach())
                continue
            adv = torch.tensor([s.advantage for s in group], dtype=torch.float32, device=device).unsqueeze(1)
            with policy.autocast():
                logp, cmask = unit_logprobs(model, group, u.shared, pad, device, policy.pad_multiple)
            ratio = torch.exp(logp - (old[b] if b in old else logp.detach()))
            per_token = ratio * adv
            if ppo_clip is not None:
                clipped_term = torch.clamp(ratio, 1 - ppo_clip, 1 + ppo_clip) * adv
                clipped += float(((per_token > clipped_term).float() * cmask).sum())
                per_token = torch.minimum(per_token, clipped_term)
            counted += float(cmask.sum())
            nll_sum -= float((logp.detach() * cmask).sum()) / total_tokens
            loss = -(per_token * cmask).sum() / total_tokens
            if kl_coef > 0:
                kl = k3_kl(logp, ref[b], cmask) / total_tokens
                loss = loss + kl_coef * kl
                kl_sum += float(kl.detach())
            loss.backward()
            loss_sum += float(loss.detach())
        world.all_reduce_gradients(params)
        loss_sum, kl_sum, nll_sum, anchor_sum = world.sum([loss_sum, kl_sum, nll_sum, anchor_sum])
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        stats.update(loss=loss_sum, grad_norm=float(norm), kl=kl_sum, nll=nll_sum)
        if anchors:
            stats["anchor_kl"] = anchor_sum
    if scheduler is not None:
        scheduler.step()
    clipped, counted = world.sum([clipped, counted])
    stats["clip_frac"] = clipped / counted if counted else 0.0
    stats["micro_batches"] = float(len(units))
    stats["shared_groups"] = float(sum(u.shared for u, _ in units))
    stats["update_s"] = time.perf_counter() - t0
    model.eval()
    return stats
