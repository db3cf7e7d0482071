"""The LoRA policy-gradient update (azmed.selfplay.update) on a tiny randomly initialised Llama
with the embedded model's tokenizer: the training layout reproduces generation's
log-probabilities, and the sign of the advantage moves a completion's probability the right way."""

from __future__ import annotations

import pytest
import torch

from azmed.model import LoraSpec, ModelSpec, load_policy, lora_state
from azmed.generation import generate
from azmed.selfplay.update import Sample, Unit, _collate, completion_logprobs, make_optimizer, micro_batches, \
    plan_units, policy_gradient_update, unit_logprobs
from tests.test_model import tiny_model_dir  # noqa: F401  (fixture)


@pytest.fixture()
def policy(tiny_model_dir):  # noqa: F811
    torch.manual_seed(0)
    p = load_policy(ModelSpec(name=str(tiny_model_dir), dtype="float32"), lora=LoraSpec(r=4, alpha=8), trainable=True)
    with torch.no_grad():
        for n, w in p.model.named_parameters():
            if "lora_B" in n:
                w.normal_(0, 0.05)
    return p


def test_micro_batches_respect_the_token_budget():
    lengths = [30, 10, 200, 50, 40, 20]
    batches = micro_batches(lengths, 100)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 100


def test_training_layout_reproduces_generation_logprobs(policy):
    """Log-probabilities recomputed in the update's layout (left-padded prompt, right-padded
    completion, positions from the mask) equal the ones the sampler used."""
    prompts = [policy.chat("short"), policy.chat("a considerably longer prompt than the other one " * 3)]
    enc = [policy.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    width = max(map(len, enc))
    ids = torch.tensor([[policy.tokenizer.pad_token_id] * (width - len(e)) + e for e in enc])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in enc])
    torch.manual_seed(1)
    with torch.no_grad():
        out = policy.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, min_new_tokens=5,
                                    do_sample=True, top_k=0, temperature=1.0, output_logits=True,
                                    return_dict_in_generate=True, pad_token_id=policy.tokenizer.pad_token_id)
    new = out.sequences[:, width:]
    sampled = torch.stack([torch.log_softmax(l.float(), -1) for l in out.logits], 1).gather(-1, new.unsqueeze(-1))[..., 0]
    samples = [Sample(enc[r], new[r].tolist(), 1.0) for r in range(2)]
    ids2, mask2, pos2, cmask, wc = _collate(samples, policy.tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        recomputed = completion_logprobs(policy.model, ids2, mask2, pos2, wc)
    assert torch.allclose(recomputed, sampled, atol=1e-4)
    # and one row alone gives the same numbers as inside the padded batch
    ids1, mask1, pos1, _, wc1 = _collate(samples[:1], policy.tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        alone = completion_logprobs(policy.model, ids1, mask1, pos1, wc1)
    assert torch.allclose(alone[0], recomputed[0], atol=1e-4)


def _logprob(policy, sample: Sample) -> float:
    ids, mask, pos, cmask, wc = _collate([sample], policy.tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        return float((completion_logprobs(policy.model, ids, mask, pos, wc) * cmask).sum())


@pytest.mark.parametrize("advantage", [1.0, -1.0])
def test_advantage_sign_moves_the_completion_probability(policy, advantage):
    prompt = policy.tokenizer(policy.chat("What is the anion gap?"), add_special_tokens=False)["input_ids"]
    completion = policy.tokenizer("12", add_special_tokens=False)["input_ids"] + [policy.eos_id]
    sample = Sample(prompt, completion, advantage)
    opt, sched = make_optimizer(policy.model, lr=1e-3, weight_decay=0.0, warmup_steps=0, total_steps=10,
                                schedule="constant")
    before = _logprob(policy, sample)
    stats = policy_gradient_update(policy, opt, [sample], micro_batch_tokens=4096, grad_clip=1.0, scheduler=sched)
    after = _logprob(policy, sample)
    assert stats["grad_norm"] > 0 and stats["trained_tokens"] == len(completion)
    assert (after - before) * advantage > 0


def test_zero_advantages_change_nothing(policy):
    prompt = policy.tokenizer(policy.chat("hi"), add_special_tokens=False)["input_ids"]
    opt, _ = make_optimizer(policy.model, 1e-3, 0.0, 0, 10, "constant")
    before = lora_state(policy.model)
    stats = policy_gradient_update(policy, opt, [Sample(prompt, [5, 6], 0.0), Sample(prompt, [7], 0.0)],
                                   micro_batch_tokens=4096, grad_clip=1.0)
    assert stats["computed_sequences"] == 0
    for k, v in lora_state(policy.model).items():
        assert torch.equal(v, before[k])


def test_gradient_is_clipped_to_the_configured_norm(policy):
    prompt = policy.tokenizer(policy.chat("hello"), add_special_tokens=False)["input_ids"]
    opt, _ = make_optimizer(policy.model, 1e-3, 0.0, 0, 10, "constant")
    samples = [Sample(prompt, [100 + i, 200 + i, policy.eos_id], 50.0 * (-1) ** i) for i in range(4)]
    stats = policy_gradient_update(policy, opt, samples, micro_batch_tokens=len(prompt) + 6, grad_clip=0.01)
    assert stats["grad_norm"] > 0.01  # reported before clipping
    assert stats["micro_batches"] >= 2  # the token budget split the step (a shared prompt's group too)
    total = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in policy.model.parameters() if p.grad is not None))
    assert float(total) == pytest.approx(0.01, rel=1e-3)


def test_kl_to_base_and_ppo_clip_run(policy):
    prompt = policy.tokenizer(policy.chat("x"), add_special_tokens=False)["input_ids"]
    opt, _ = make_optimizer(policy.model, 1e-2, 0.0, 0, 10, "constant")
    samples = [Sample(prompt, [300, 301, policy.eos_id], 1.0), Sample(prompt, [302, policy.eos_id], -1.0)]
    stats = policy_gradient_update(policy, opt, samples, micro_batch_tokens=4096, grad_clip=1.0, kl_coef=0.1,
                                   ppo_clip=0.2, update_epochs=3)
    assert stats["kl"] > 0  # the adapter was already away from the base (lora_B non-zero)
    assert 0.0 <= stats["clip_frac"] <= 1.0


def _anchor_measures(policy, anchors) -> dict[str, float]:
    """Per anchor token, measured with no update: the k3 estimate of KL(policy || base), the
    log-ratio estimate of KL(base || policy) and the policy's negative log-likelihood."""
    k3 = ratio = nll = n = 0.0
    with torch.no_grad():
        for a in anchors:
            ids, mask, pos, cmask, wc = _collate([a], policy.tokenizer.pad_token_id, "cpu")
            lp = completion_logprobs(policy.model, ids, mask, pos, wc)
            with policy.model.disable_adapter():
                ref = completion_logprobs(policy.model, ids, mask, pos, wc)
            d = ref - lp
            k3 += float(((torch.exp(d) - d - 1) * cmask).sum())
            ratio += float((d * cmask).sum())
            nll -= float((lp * cmask).sum())
            n += float(cmask.sum())
    return {"k3": k3 / n, "log_ratio": ratio / n, "nll": nll / n}


def _anchor_kl(policy, anchors) -> float:
    return _anchor_measures(policy, anchors)["k3"]


def test_anchors_pull_the_policy_back_toward_the_base_model(policy):
    """`anchors`: the policy's own answers to other prompts, held near the base model's by their
    KL (advantages ignored). An update on anchors alone lowers that KL (the adapter here starts
    away from the base: lora_B is not zero); with anchor_kl 0 they change nothing."""
    tok = policy.tokenizer
    prompts = [policy.chat(q) for q in ("What is the most likely diagnosis?", "Name the condition.")]
    outs = generate(policy, prompts, max_new_tokens=8, temperature=1.0, repeats=2)
    anchors = [Sample(o.prompt_ids, o.completion_ids + ([policy.eos_id] if o.finished else []), 5.0) for o in outs]
    opt, _ = make_optimizer(policy.model, 1e-2, 0.0, 0, 10, "constant")
    before = lora_state(policy.model)
    stats = policy_gradient_update(policy, opt, [], micro_batch_tokens=4096, grad_clip=1.0, anchors=anchors)
    assert "anchor_kl" not in stats and all(torch.equal(v, before[k]) for k, v in lora_state(policy.model).items())
    kl0 = _anchor_kl(policy, anchors)
    assert kl0 > 0
    for _ in range(3):
        stats = policy_gradient_update(policy, opt, [], micro_batch_tokens=4096, grad_clip=1.0, anchors=anchors,
                                       anchor_kl=1.0)
    assert stats["anchor_tokens"] == sum(a.trained_tokens for a in anchors)
    assert stats["anchor_kl"] > 0 and _anchor_kl(policy, anchors) < kl0
    # beside a step's samples: the samples' loss is unchanged, the anchors' KL is added
    demo = Sample(tok(prompts[0], add_special_tokens=False)["input_ids"], [300, 301, policy.eos_id], 1.0)
    opt.zero_grad()
    plain = policy_gradient_update(policy, torch.optim.SGD(opt.param_groups[0]["params"], lr=0.0), [demo],
                                   micro_batch_tokens=4096, grad_clip=1e9)
    both = policy_gradient_update(policy, torch.optim.SGD(opt.param_groups[0]["params"], lr=0.0), [demo],
                                  micro_batch_tokens=4096, grad_clip=1e9, anchors=anchors, anchor_kl=0.5)
    assert both["nll"] == pytest.approx(plain["nll"]) and both["trained_tokens"] == plain["trained_tokens"]
    assert both["loss"] == pytest.approx(plain["loss"] + 0.5 * both["anchor_kl"], rel=1e-4)


def test_base_anchors_make_the_base_models_answers_likely_again(policy):
    """`anchor_source='base'`: the anchors are the base model's answers (adapter off); the loss
    is the log-ratio estimate of KL(base || policy) per anchor token, and an update on them raises
    the policy's likelihood of those answers (the adapter here starts away from the base)."""
    prompts = [policy.chat(q) for q in ("What is the most likely diagnosis?", "Name the condition.")]
    with policy.model.disable_adapter():
        outs = generate(policy, prompts, max_new_tokens=8, temperature=1.0, repeats=2)
    anchors = [Sample(o.prompt_ids, o.completion_ids + ([policy.eos_id] if o.finished else []), 0.0) for o in outs]
    before = _anchor_measures(policy, anchors)
    nll0, kl0 = before["nll"], before["log_ratio"]
    opt, _ = make_optimizer(policy.model, 1e-2, 0.0, 0, 10, "constant")
    stats = policy_gradient_update(policy, opt, [], micro_batch_tokens=4096, grad_clip=1.0, anchors=anchors,
                                   anchor_kl=1.0, anchor_source="base")
    assert stats["anchor_kl"] == pytest.approx(kl0, rel=1e-3, abs=1e-4)  # measured before the optimizer step
    assert stats["loss"] == pytest.approx(stats["anchor_kl"], rel=1e-6)
    for _ in range(2):
        policy_gradient_update(policy, opt, [], micro_batch_tokens=4096, grad_clip=1.0, anchors=anchors,
                               anchor_kl=1.0, anchor_source="base")
    after = _anchor_measures(policy, anchors)
    nll3, kl3 = after["nll"], after["log_ratio"]
    assert nll3 < nll0 and kl3 < kl0
    with pytest.raises(ValueError, match="anchor_source"):
        policy_gradient_update(policy, opt, [], micro_batch_tokens=4096, grad_clip=1.0, anchors=anchors,
                               anchor_kl=1.0, anchor_source="reference")


def test_completions_of_one_prompt_share_its_forward_pass_exactly(policy):
    """A shared prompt (run once, its cache copied to each completion) gives the same
    log-probabilities and the same LoRA gradients as each sequence computed on its own."""
    prompt = policy.tokenizer(policy.chat("a patient note, long enough to matter " * 5), add_special_tokens=False)["input_ids"]
    samples = [Sample(prompt, [100, 200, 300, policy.eos_id], 1.0, 0.8), Sample(prompt, [150, policy.eos_id], -0.5, 0.8),
               Sample(prompt, [120, 220, 320, 420, 520], 0.25, 0.8)]
    units = plan_units(samples, micro_batch_tokens=4096)
    assert units == [Unit((1, 0, 2), True)]
    pad = policy.tokenizer.pad_token_id

    def grads(shared):
        policy.model.zero_grad(set_to_none=True)
        group = [samples[i] for i in units[0].indices]
        logp, cmask = unit_logprobs(policy.model, group, shared, pad, "cpu")
        adv = torch.tensor([s.advantage for s in group]).unsqueeze(1)
        (-(logp * cmask * adv).sum()).backward()
        return logp.detach() * cmask, {n: p.grad.clone() for n, p in policy.model.named_parameters() if p.requires_grad}

    lp_shared, g_shared = grads(True)
    lp_alone, g_alone = grads(False)
    assert torch.allclose(lp_shared, lp_alone, atol=1e-4)
    assert all(torch.allclose(g_shared[n], g_alone[n], atol=1e-5, rtol=1e-3) for n in g_alone)
    assert sum(float(g.abs().sum()) for g in g_alone.values()) > 0
    # a group larger than the token budget is split; prompts seen once are batched as before
    split = plan_units(samples + [Sample([7, 8], [9], 1.0)], micro_batch_tokens=len(prompt) + 10)
    assert [u.shared for u in split].count(False) >= 1 and sorted(i for u in split for i in u.indices) == [0, 1, 2, 3]


def test_padding_to_a_multiple_changes_no_log_probability_and_no_sample(policy):
    """`model.pad_multiple`: extra left padding (masked) in the update and in generation leaves the
    log-probabilities and greedy completions as they were, and the shapes are multiples."""
    tok = policy.tokenizer
    prompts = [policy.chat("short"), policy.chat("a longer patient note " * 7)]
    enc = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    samples = [Sample(enc[0], [100, 200, policy.eos_id], 1.0), Sample(enc[1], [150, 250, 350, 450], -0.5)]
    plain = unit_logprobs(policy.model, samples, False, tok.pad_token_id, "cpu")
    padded = unit_logprobs(policy.model, samples, False, tok.pad_token_id, "cpu", pad_multiple=64)
    ids = _collate(samples, tok.pad_token_id, "cpu", 64)[0]
    assert (ids.shape[1] - 1) % 64 == 0 and ids.shape[1] > _collate(samples, tok.pad_token_id, "cpu")[0].shape[1]
    assert torch.allclose(plain[0] * plain[1], padded[0] * padded[1], atol=1e-4) and torch.equal(plain[1], padded[1])
    before = generate(policy, prompts, max_new_tokens=12, temperature=0.0)
    policy.pad_multiple = 64
    try:
        after = generate(policy, prompts, max_new_tokens=12, temperature=0.0)
    finally:
        policy.pad_multiple = 1
    assert [o.completion_ids for o in before] == [o.completion_ids for o in after]
    assert [o.prompt_ids for o in before] == [o.prompt_ids for o in after]
