"""Generation: batched sampling of completions from a policy, shared by self-play (proposing,
solving), evaluation, fine-tuning's held-out scoring and the playground.

    from azmed.generation import generate
    outs = generate(policy, [policy.chat(p) for p in prompts], max_new_tokens=48, temperature=1.0)
    outs[0].text, outs[0].completion_ids

Why it is shaped this way (DESIGN §9):
- Left padding and the KV cache (`generate`'s default) so one batch decodes together.
- Prompts are sorted by length and cut into micro-batches (length-bucketing): less padding in
  prefill, and micro-batches bound memory.
- The LoRA is merged into the base weights for the duration of generation (an unmerged LoRA
  costs 15-30 % of decode) and unmerged afterwards, so training sees the same weights. Only over
  fp32 base weights: peft merges in the base weights' dtype, and a bf16 merge-unmerge round trip
  moves a weight by up to half a bf16 step (about 0.2 %) every call, which over a run wears
  the base model away; over bf16 weights (the GPU path) the LoRA generates unmerged.
- Sampling is unbiased for RL: `top_k=0`, `top_p=1` (transformers' default top_k is 50).
- Completions are cut at the first eos; `completion_ids` excludes the eos and the padding,
  and `finished` says whether the model stopped by itself (else it hit `max_new_tokens`).
- Guided answers (`guides`, one per prompt: `simulator.tools.CallGuide` for a calculator call,
  `simulator.spec.guide.SpecGuide` for a proposer's specification): a small model writes inside
  the grammar. Such prompts decode in this module's own loop
  (same KV cache, same sampling): where the guide offers a choice, the model samples among the
  tokens that keep the text on one of the allowed strings (logits of the others masked); where it
  forces text (a '(' after a calculator's name, an '=' after an input's name, a ',' or ')' after a
  value), that text's tokens are fed instead of a sample. `Completion.forced` marks those tokens
  (and a forced eos) so that the update does not train on them: they were not the model's choice.
  Chosen and free tokens are trained with the model's own log-probability (for a masked choice
  this also raises the mass on the allowed tokens). Finished answers leave the batch once they are
  a quarter of it, so a long call does not keep short ones decoding padding.
- An optional vLLM backend (`backend="vllm"`, GPU only; `resolve_backend("auto", ...)` picks it
  when vLLM is installed, the model is on CUDA and the run is one process): it is not a
  dependency, is not installed on CPU machines, and is imported only when asked for. Its engine
  is built once per process from the base model folder with LoRA support; before each call the
  current adapter is saved to a temporary folder and passed as a new `LoRARequest`, so vLLM
  always samples from the current policy. Sampling matches the HF backend: top_k off, eos ends
  a completion.

Limits: one process; generation runs in inference mode, without gradients. The vLLM engine
takes 0.3 of one GPU (tensor parallel 1), leaving the rest to the training model. The vLLM path
has not been run yet (no GPU was available to the project); `scripts/gpu-check.sh` is how a GPU
user checks it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from azmed.model import Policy


@dataclass
class Completion:
    """One sampled completion. `prompt_ids` and `completion_ids` are plain token lists (no
    padding, no eos) so the update can rebuild exactly what was sampled."""

    prompt_ids: list[int]
    completion_ids: list[int]
    text: str
    finished: bool
    forced: tuple[int, ...] = ()  # positions in completion_ids (+ the eos at len(completion_ids)) not sampled


@contextlib.contextmanager
def merged_lora(policy: Policy):
    """Merge the LoRA into the base weights for the duration of the block, if there is one and
    the base weights are fp32 (else the block runs with the LoRA unmerged)."""
    model = policy.model
    if not policy.has_adapter or not _fp32_base(model):
        yield
        return
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()


def _fp32_base(model) -> bool:
    """Whether the frozen (base) weights are fp32, where merging the LoRA in and out is exact to
    about 1e-7 of a weight (see the module docstring)."""
    import torch

    return all(p.dtype == torch.float32 for p in model.parameters() if not p.requires_grad and p.is_floating_point())


def generate(policy: Policy, prompts: Sequence[str], *, max_new_tokens: int, temperature: float = 1.0,
             top_p: float = 1.0, batch_size: int = 32, backend: str = "hf",
             stop_strings: Sequence[str] | None = None, repeats: int | Sequence[int] = 1,
             guides: Sequence | None = None, batch_tokens: int = 0) -> list[Completion]:
    """Sample `repeats` completions per prompt (prompts already chat-formatted; one count for all,
    or one per prompt), returned prompt by prompt in the order of `prompts`. `temperature` 0
    means greedy decoding.

    A prompt sampled several times (Monte-Carlo solve rates, a proposer's batch) is prefilled once
    and its KV cache copied to its repeats, which saves most of the cost of short answers to long
    prompts. `guides` (one per prompt, None for an unguided one) keep answers inside a grammar
    (see the module docstring)."""
    if not prompts:
        return []
    counts = [repeats] * len(prompts) if isinstance(repeats, int) else list(repeats)
    if len(counts) != len(prompts) or min(counts) < 1:
        raise ValueError("repeats must be a count >= 1, or one such count per prompt")
    if guides is not None and any(g is not None for g in guides):
        if len(guides) != len(prompts):
            raise ValueError("guides must give one guide (or None) per prompt")
        return _split_guided(policy, prompts, counts, list(guides), max_new_tokens=max_new_tokens,
                             temperature=temperature, top_p=top_p, batch_size=batch_size, backend=backend,
                             stop_strings=stop_strings, batch_tokens=batch_tokens)
    if backend == "vllm":
        return _generate_vllm(policy, [p for p, k in zip(prompts, counts) for _ in range(k)],
                              max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                              stop_strings=stop_strings)
    import torch

    tok = policy.tokenizer
    encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    first = [sum(counts[:i]) for i in range(len(prompts))]  # where each prompt's completions start
    results: list[Completion | None] = [None] * sum(counts)
    sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=top_p) if temperature > 0 \
        else dict(do_sample=False, temperature=None, top_k=None, top_p=None)
    if stop_strings:
        sampling.update(stop_strings=list(stop_strings), tokenizer=tok)
    eos = policy.eos_id
    policy.model.eval()
    lengths = _cached_lengths(encoded, max_new_tokens, policy.pad_multiple)
    with merged_lora(policy), torch.inference_mode(), policy.autocast():
        for idx in _calls(order, counts, batch_size, lengths, batch_tokens):
            ids, mask, rows = _left_padded(encoded, idx, counts, tok.pad_token_id, policy.device, policy.pad_multiple)
            width = ids.shape[1]
            extra = {}
            if len(rows) > len(idx):
                extra["past_key_values"] = _shared_prefill(policy.model, ids, mask, rows)
                ids, mask = ids[rows], mask[rows]
            out = policy.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                        pad_token_id=tok.pad_token_id, eos_token_id=eos, use_cache=True,
                                        **sampling, **extra)
            new = out[:, width:].tolist()
            seen: dict[int, int] = {}
            for row, r in enumerate(rows.tolist()):
                i = idx[r]
                completion, finished = cut_at_eos(new[row], eos)
                results[first[i] + seen.get(i, 0)] = Completion(
                    encoded[i], completion, tok.decode(completion, skip_special_tokens=True), finished)
                seen[i] = seen.get(i, 0) + 1
    return results  # type: ignore[return-value]


def _split_guided(policy: Policy, prompts, counts, guides, **kw) -> list[Completion]:
    """Guided prompts through `_generate_guided`, the others through `generate`, in prompt order."""
    plain = [i for i, g in enumerate(guides) if g is None]
    guided = [i for i, g in enumerate(guides) if g is not None]
    out: dict[int, list[Completion]] = {}
    if plain:
        got = generate(policy, [prompts[i] for i in plain], repeats=[counts[i] for i in plain], **kw)
        for i in plain:
            out[i], got = got[:counts[i]], got[counts[i]:]
    got = _generate_guided(policy, [prompts[i] for i in guided], [counts[i] for i in guided],
                           [guides[i] for i in guided], max_new_tokens=kw["max_new_tokens"],
                           temperature=kw["temperature"], batch_size=kw["batch_size"],
                           batch_tokens=kw["batch_tokens"])
    for i in guided:
        out[i], got = got[:counts[i]], got[counts[i]:]
    return [c for i in range(len(prompts)) for c in out[i]]


def _generate_guided(policy: Policy, prompts: Sequence[str], counts: Sequence[int], guides: Sequence,
                     *, max_new_tokens: int, temperature: float, batch_size: int,
                     batch_tokens: int = 0) -> list[Completion]:
    """Decode guided prompts token by token with the KV cache (see the module docstring)."""
    import torch

    tok, eos = policy.tokenizer, policy.eos_id
    vocab = _piece_index(tok)
    encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    first = [sum(counts[:i]) for i in range(len(prompts))]  # where each prompt's completions start
    results: list[Completion | None] = [None] * sum(counts)
    lengths = _cached_lengths(encoded, max_new_tokens, policy.pad_multiple)
    policy.model.eval()
    with merged_lora(policy), torch.inference_mode(), policy.autocast():
        for idx in _calls(order, counts, batch_size, lengths, batch_tokens):
            ids, mask, rows = _left_padded(encoded, idx, counts, tok.pad_token_id, policy.device, policy.pad_multiple)
            cache = _shared_prefill(policy.model, ids, mask, rows)
            mask = mask[rows]
            pos = mask.sum(-1, keepdim=True) - 1
            nxt = ids[rows, -1:]
            n = len(rows)
            owner = [idx[r] for r in rows.tolist()]
            out_ids: list[list[int]] = [[] for _ in range(n)]
            forced: list[list[int]] = [[] for _ in range(n)]
            queue: list[list[int]] = [[] for _ in range(n)]
            texts = [""] * n
            done = [False] * n
            live = list(range(n))  # the rows still in the batch, in batch order
            for _ in range(max_new_tokens):
                logits = policy.model(input_ids=nxt, attention_mask=mask, position_ids=pos, past_key_values=cache,
                                      use_cache=True).logits[:, -1].float()
                picks = _sample(logits, temperature)
                step = []
                for k, r in enumerate(live):
                    if done[r]:
                        step.append(tok.pad_token_id)
                        continue
                    t, was_forced = _guided_token(guides[owner[r]], texts[r], logits[k], int(picks[k]), queue[r],
                                                  tok, eos, vocab, temperature)
                    if was_forced:
                        forced[r].append(len(out_ids[r]))
                    if t == eos:
                        done[r] = True
                    else:
                        out_ids[r].append(t)
                        texts[r] = tok.decode(out_ids[r], skip_special_tokens=True)
                    step.append(t)
                keep = [k for k, r in enumerate(live) if not done[r]]
                if not keep:
                    break
                if len(keep) <= 0.75 * len(live):  # finished rows leave the batch (a copy of the cache,
                    # so only once a quarter of it is padding)
                    sel = torch.tensor(keep, dtype=torch.long, device=policy.device)
                    cache.batch_select_indices(sel)
                    mask, pos = mask[sel], pos[sel]
                    live, step = [live[k] for k in keep], [step[k] for k in keep]
                nxt = torch.tensor(step, dtype=torch.long, device=policy.device).unsqueeze(1)
                mask = torch.cat([mask, torch.ones((len(live), 1), dtype=mask.dtype, device=mask.device)], dim=1)
                pos = pos + 1
            seen: dict[int, int] = {}
            for r in range(n):
                i = owner[r]
                results[first[i] + seen.get(i, 0)] = Completion(encoded[i], out_ids[r], texts[r], done[r],
                                                                tuple(forced[r]))
                seen[i] = seen.get(i, 0) + 1
            del cache
    return results  # type: ignore[return-value]


def _sample(logits, temperature: float):
    """One token per row: greedy at temperature 0, else sampled from softmax(logits / temperature)."""
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1).squeeze(-1)


def _guided_token(guide, text: str, logits, pick: int, queue: list[int], tok, eos: int, vocab, temperature: float):
    """(the next token of one guided row, whether it was forced), given the model's free `pick`."""
    if queue:
        return queue.pop(0), True
    step = guide.next(text)
    if step.kind == "stop":
        return eos, True
    if step.kind == "force":
        return _force(step.text, queue, tok), True
    if step.kind == "choose":
        allowed = sorted({t for c in step.choices for t in vocab.prefixes(c)}) + ([eos] if step.end else [])
        if not allowed:  # no single token starts the choice: write it
            return _force(min(step.choices, key=len), queue, tok), True
        sub = logits[allowed]
        return allowed[int(_sample(sub.unsqueeze(0), temperature)[0])], False
    piece = "" if pick == eos else tok.decode([pick], skip_special_tokens=True)
    instead = guide.check(text, piece, end=pick == eos)
    if instead is None:
        return pick, False
    if instead == "":  # an empty value: the model writes a piece that does not end it
        sub = logits[vocab.value_tokens]
        return vocab.value_tokens[int(_sample(sub.unsqueeze(0), temperature)[0])], False
    return _force(instead, queue, tok), True


def guided_forced(guide, completion_ids: Sequence[int], tok) -> tuple[int, ...]:
    """The positions of `completion_ids` (+ the eos at `len(completion_ids)`) that `guide` would
    have written itself had a model sampled this text (`Completion.forced`): '(' '=' ',' ')', a
    value's forced end, the closing eos. A demonstration trained with these positions masked
    teaches exactly the choices that self-play trains, never the structure the guide writes. A
    token that holds both forced text and a choice counts as chosen (trained).

    Replays `_guided_token` over the given tokens, one piece at a time, with no model."""
    forced: list[int] = []
    text, owed = "", ""  # the text so far; forced text the following pieces still cover
    for k in range(len(completion_ids)):
        piece = tok.decode(completion_ids[:k + 1], skip_special_tokens=True)[len(text):]
        if not owed:
            step = guide.next(text)
            if step.kind == "force":
                owed = step.text
            elif step.kind == "free":
                owed = guide.check(text, piece) or ""
        if owed and piece and owed.startswith(piece):
            forced.append(k)
            owed = owed[len(piece):]
        else:
            owed = ""
        text += piece
    if guide.next(text).kind == "stop":
        forced.append(len(completion_ids))
    return tuple(forced)


def _force(text: str, queue: list[int], tok) -> int:
    ids = tok(text, add_special_tokens=False)["input_ids"]
    queue.extend(ids[1:])
    return ids[0]


class _PieceIndex:
    """Every token of a vocabulary by the text it decodes to, to find the tokens that start a string."""

    def __init__(self, tok):
        self.by_piece: dict[str, list[int]] = {}
        special = set(tok.all_special_ids)
        for i, piece in enumerate(tok.batch_decode([[i] for i in range(len(tok))])):
            if piece and i not in special and "\ufffd" not in piece:
                self.by_piece.setdefault(piece, []).append(i)

        self.value_tokens = sorted(t for piece, ids in self.by_piece.items() if piece.strip()
                                   and not any(ch in piece for ch in ",)\n") for t in ids)

    def prefixes(self, text: str) -> list[int]:
        """Tokens whose text is a non-empty prefix of `text`."""
        return [t for k in range(1, len(text) + 1) for t in self.by_piece.get(text[:k], ())]


_PIECES: dict[int, _PieceIndex] = {}


def _piece_index(tok) -> _PieceIndex:
    if id(tok) not in _PIECES:
        _PIECES[id(tok)] = _PieceIndex(tok)
    return _PIECES[id(tok)]


def _left_padded(encoded: list[list[int]], idx: list[int], counts: Sequence[int], pad: int, device,
                 multiple: int = 1):
    """(ids, attention mask) of prompts `idx`, left-padded to the longest (rounded up to a
    `multiple` of positions), and the batch rows of their completions (prompt row r repeated
    counts[idx[r]] times)."""
    import torch

    width = padded_width(max(len(encoded[i]) for i in idx), multiple)
    ids = torch.full((len(idx), width), pad, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
        mask[row, width - len(encoded[i]):] = 1
    rows = torch.repeat_interleave(torch.arange(len(idx)), torch.tensor([counts[i] for i in idx]))
    return ids.to(device), mask.to(device), rows.to(device)


def _cached_lengths(encoded: list[list[int]], max_new_tokens: int, multiple: int) -> list[int]:
    """Positions each prompt's completions hold in the KV cache: padded prompt + new tokens."""
    return [padded_width(len(e), multiple) + max_new_tokens for e in encoded]


def padded_width(width: int, multiple: int = 1) -> int:
    """`width` rounded up to a multiple of `multiple` (`model.pad_multiple`).

    >>> padded_width(130, 64), padded_width(128, 64), padded_width(5, 1)
    (192, 128, 5)
    """
    return -(-width // multiple) * multiple


def _calls(order: list[int], counts: list[int], batch_size: int, lengths: Sequence[int] | None = None,
           batch_tokens: int = 0) -> list[list[int]]:
    """Prompts (in `order`, shortest first) cut into generate calls of at most `batch_size`
    completions and, with `batch_tokens`, at most that many cached positions (completions x
    (padded prompt + new tokens) in `lengths[i]`): the KV cache of one call is what bounds
    generation memory. A prompt with more repeats than either limit gets a call of its own.

    >>> _calls([0, 1, 2], [4, 4, 1], 8)
    [[0, 1], [2]]
    >>> _calls([0, 1, 2], [2, 2, 2], 8, lengths=[100, 100, 150], batch_tokens=300)
    [[0], [1], [2]]
    >>> _calls([0, 1, 2], [1, 1, 1], 8, lengths=[100, 100, 150], batch_tokens=400)
    [[0, 1], [2]]
    """
    calls: list[list[int]] = []
    used = batch_size
    for i in order:
        rows = used + counts[i]
        if rows > batch_size or (batch_tokens and lengths is not None and rows * lengths[i] > batch_tokens):
            calls.append([])
            used = 0
        calls[-1].append(i)
        used += counts[i]
    return calls


def _shared_prefill(model, ids, mask, rows):
    """The KV cache of every prompt but its last token, computed once and copied to the batch
    rows `rows` (row r samples prompt rows[r]); `generate` then starts from the last prompt token."""
    from transformers import DynamicCache

    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=pos[:, :-1], past_key_values=cache,
          use_cache=True, logits_to_keep=1)
    cache.batch_select_indices(rows)
    return cache


def cut_at_eos(tokens: list[int], eos: int) -> tuple[list[int], bool]:
    """Tokens before the first eos, and whether an eos was found.

    >>> cut_at_eos([5, 6, 2, 2, 2], eos=2)
    ([5, 6], True)
    >>> cut_at_eos([5, 6, 7], eos=2)
    ([5, 6, 7], False)
    """
    try:
        k = tokens.index(eos)
    except ValueError:
        return tokens, False
    return tokens[:k], True


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def resolve_backend(backend: str, device: str, processes: int = 1) -> str:
    """The backend `generate` will use: 'auto' is 'vllm' when vLLM is installed, the model is on
    CUDA and the run is one process (a vLLM engine inside each rank of a data-parallel run has
    not been tried), else 'hf'; 'hf' and 'vllm' are taken as given.

    >>> resolve_backend("auto", "cpu"), resolve_backend("hf", "cuda"), resolve_backend("auto", "cuda", processes=2)
    ('hf', 'hf', 'hf')
    """
    if backend == "auto":
        return "vllm" if device.startswith("cuda") and processes == 1 and vllm_available() else "hf"
    if backend not in ("hf", "vllm"):
        raise ValueError(f"unknown generation backend {backend!r}: use 'hf', 'vllm' or 'auto'")
    return backend


_VLLM_ENGINES: dict = {}
_ADAPTER_VERSION = [0]  # vLLM caches a LoRA by its id: every call after an update gets a new one


def _vllm_engine(policy: Policy):
    from vllm import LLM

    from azmed.model import resolve_model_path

    path = resolve_model_path(policy.name)
    if path not in _VLLM_ENGINES:
        r = policy.model.peft_config["default"].r if policy.has_adapter else 8
        _VLLM_ENGINES[path] = LLM(model=path, enable_lora=policy.has_adapter, max_lora_rank=max(8, r),
                                  gpu_memory_utilization=0.3, dtype="bfloat16", enforce_eager=True)
    return _VLLM_ENGINES[path]


def _generate_vllm(policy: Policy, prompts: Sequence[str], *, max_new_tokens: int, temperature: float,
                   top_p: float, stop_strings: Sequence[str] | None) -> list[Completion]:
    """Generation through vLLM with the current LoRA weights (see the module docstring)."""
    if not vllm_available():
        raise RuntimeError("rollout.backend is 'vllm' but vLLM is not installed: `pip install vllm` on a "
                           "CUDA machine, or use rollout.backend=hf")
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    llm = _vllm_engine(policy)
    params = SamplingParams(max_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=-1,
                            stop=list(stop_strings or []) or None)
    lora = None
    if policy.has_adapter:
        folder = Path(tempfile.mkdtemp(prefix="azmed-vllm-lora-"))
        policy.model.save_pretrained(folder)
        _ADAPTER_VERSION[0] += 1
        lora = LoRARequest(f"policy-{_ADAPTER_VERSION[0]}", _ADAPTER_VERSION[0], str(folder))
    outs = llm.generate(list(prompts), params, lora_request=lora, use_tqdm=False)
    tok, eos = policy.tokenizer, policy.eos_id
    completions = []
    for prompt, o in zip(prompts, outs):
        c = o.outputs[0]
        completions.append(Completion(tok(prompt, add_special_tokens=False)["input_ids"],
                                      [t for t in c.token_ids if t != eos], c.text, c.finish_reason == "stop"))
    return completions
