"""The self-play benchmark's forward profile (benchmarks/forward_profile.py) counts what a model
computed: prefill and decode forwards of generation with their real tokens, the update's forwards,
and FLOPs by the documented formulas, on a tiny randomly initialised Llama.

These check counts, not timings."""

from __future__ import annotations

import pytest
import torch

from azmed.generation import generate
from azmed.model import LoraSpec, ModelSpec, load_policy
from azmed.selfplay.update import Sample, make_optimizer, policy_gradient_update
from benchmarks.forward_profile import ForwardProfile, causal_lm
from tests.test_model import tiny_model_dir  # noqa: F401  (fixture)


@pytest.fixture()
def policy(tiny_model_dir):  # noqa: F811
    torch.manual_seed(0)
    return load_policy(ModelSpec(name=str(tiny_model_dir), dtype="float32"), lora=LoraSpec(r=4, alpha=8),
                       trainable=True)


def test_generation_is_split_into_prefill_and_decode_with_real_tokens(policy):
    profile = ForwardProfile(policy.model, policy.tokenizer.pad_token_id)
    assert profile.core is causal_lm(policy.model) and "lm_head" in profile.core._modules
    prompts = [policy.chat("Name the diagnosis."), policy.chat("What is the anion gap of this patient?")]
    lengths = [len(policy.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    eos = policy.eos_id
    # a tiny random model may stop: keep it going so every row decodes every step
    policy.model.generation_config.suppress_tokens = [eos]
    with profile.generating():
        outs = generate(policy, prompts, max_new_tokens=5, repeats=[3, 1])
    w = profile.work()
    # the shared prefill runs each prompt but its last token once, padded to the longest
    assert w["prefill"].calls == 1
    assert w["prefill"].tokens == sum(n - 1 for n in lengths)
    assert w["prefill"].positions == 2 * (max(lengths) - 1)
    # decode: every row's last prompt token, then every sampled token but the last
    assert all(len(o.completion_ids) == 5 for o in outs)
    assert w["decode"].calls == 5 and w["decode"].tokens == w["decode"].positions == 4 * 5
    assert w["update"].calls == 0
    # FLOPs: 2 x decoder weights per token plus the LM head where logits were computed
    assert profile.flops("decode") == 2.0 * profile.base_weights * 20 + 2.0 * profile.head_weights * w["decode"].logits
    assert profile.flops("decode", merged=False) > profile.flops("decode")
    profile.close()


def test_a_finished_row_is_not_counted_as_decoded(policy):
    profile = ForwardProfile(policy.model, policy.tokenizer.pad_token_id)
    pad = policy.tokenizer.pad_token_id
    ids = torch.tensor([[5, 6, 7], [5, 6, pad]])
    with torch.no_grad(), profile.generating():
        policy.model(input_ids=ids[:, 2:], attention_mask=torch.ones(2, 3, dtype=torch.long))
    assert profile.work()["decode"].tokens == 1 and profile.work()["decode"].padding == 0.5
    profile.close()


def test_the_update_forwards_and_their_flops(policy):
    profile = ForwardProfile(policy.model, policy.tokenizer.pad_token_id)
    opt, sched = make_optimizer(policy.model, 1e-3, 0.0, 0, 10, "constant")
    samples = [Sample([11, 12, 13], [21, 22], 1.0), Sample([14, 15, 16], [23, 24], -1.0)]
    policy_gradient_update(policy, opt, samples, micro_batch_tokens=4096, grad_clip=1.0, share_prompts=False)
    w = profile.work()
    assert w["prefill"].calls == w["decode"].calls == 0 and w["update"].calls == 1
    assert w["update"].tokens == 2 * (5 - 1)  # the last token of a sequence is only predicted
    assert w["update"].logits == 2 * 2        # logits only where the loss needs them: the completion
    assert profile.lora_weights > 0
    p, lora, head = profile.base_weights, profile.lora_weights, profile.head_weights
    assert profile.flops("update") == (4 * p + 6 * lora) * 8 + 4 * head * 4
    assert profile.flops("update", recompute=True) == (6 * p + 8 * lora) * 8 + 4 * head * 4
    profile.close()
