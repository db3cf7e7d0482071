"""Guided calls end to end on a tiny randomly initialised Llama with the embedded model's
tokenizer: whatever the weights, every guided answer is one well-formed call of a listed
calculator; the tokens the guide wrote are marked and the update does not train on them."""

from __future__ import annotations

import pytest
import torch

from azmed.generation import generate
from azmed.model import LoraSpec, ModelSpec, load_policy
from azmed.selfplay.update import Sample, _collate, policy_gradient_update, make_optimizer
from simulator import calculators
from simulator.tools import GuideStep, ToolFailure, call_guide, parse_call
from tests.test_model import tiny_model_dir  # noqa: F401  (fixture)

QUESTIONS = ("What is the patient's anion gap in mmol/L?", "What is the patient's CHA2DS2-VASc score?",
             "What is the patient's HEART score?")


@pytest.fixture()
def policy(tiny_model_dir):  # noqa: F811
    torch.manual_seed(0)
    return load_policy(ModelSpec(name=str(tiny_model_dir), dtype="float32"), lora=LoraSpec(r=4, alpha=8), trainable=True)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_guided_answers_are_calls_of_listed_calculators(policy, temperature):
    torch.manual_seed(1)
    guides = [call_guide(q) for q in QUESTIONS]
    prompts = [policy.chat(f"A note.\n\n{q}") for q in QUESTIONS]
    outs = generate(policy, prompts + [policy.chat("Say hello.")], max_new_tokens=400, temperature=temperature,
                    repeats=[2, 2, 1, 1], guides=guides + [None])
    assert len(outs) == 6
    tok = policy.tokenizer
    for out, guide in zip(outs[:5], [guides[0]] * 2 + [guides[1]] * 2 + [guides[2]]):
        call = parse_call(out.text)
        structural = {"no-call", "two-calls", "malformed", "unknown-calculator", "unknown-input", "missing-input"}
        assert not (isinstance(call, ToolFailure) and call.reason in structural), (out.text, call)
        if not isinstance(call, ToolFailure):
            assert call.name in guide.calcs and out.text.startswith(call.name) and out.finished, out.text
        # the forced positions are the structure: '(' '=' ',' ')' (and the end), never the model's choices
        assert out.forced and max(out.forced) <= len(out.completion_ids)
        pieces = [tok.decode([t]) for t in out.completion_ids]
        assert "(" in "".join(pieces[k] for k in out.forced if k < len(pieces))
        chosen = [p for k, p in enumerate(pieces) if k not in out.forced]
        assert not any("(" in p or "\n" in p for p in chosen), chosen  # the bracket is the guide's
        assert len(out.completion_ids) in out.forced  # the eos after ')' is the guide's
    assert outs[5].forced == ()  # an unguided prompt is sampled as before


def test_greedy_guided_generation_is_deterministic(policy):
    kw = dict(max_new_tokens=80, temperature=0.0, guides=[call_guide(QUESTIONS[1])])
    a = generate(policy, [policy.chat("A note.\n\n" + QUESTIONS[1])], **kw)[0]
    b = generate(policy, [policy.chat("A note.\n\n" + QUESTIONS[1])], **kw)[0]
    assert (a.completion_ids, a.forced) == (b.completion_ids, b.forced)


def test_guided_choice_follows_the_model(policy):
    """A choice is the model's: with one calculator listed, its name is still chosen token by token
    (not forced), so the first token is trained."""
    guide = call_guide("What is the patient's anion gap?", count=1)
    out = generate(policy, [policy.chat("x")], max_new_tokens=60, temperature=0.0, guides=[guide])[0]
    assert out.text.startswith("anion_gap(") and 0 not in out.forced  # the name's first token was chosen


def test_forced_tokens_are_not_trained(policy):
    ids = policy.tokenizer("anion_gap(sodium=140)", add_special_tokens=False)["input_ids"]
    prompt = policy.tokenizer(policy.chat("x"), add_special_tokens=False)["input_ids"]
    all_forced = Sample(prompt, ids, 1.0, 1.0, forced=tuple(range(len(ids))))
    assert all_forced.trained_tokens == 0
    opt, sched = make_optimizer(policy.model, 1e-2, 0.0, 0, 1, "constant")
    before = [p.detach().clone() for p in policy.model.parameters() if p.requires_grad]
    stats = policy_gradient_update(policy, opt, [all_forced], micro_batch_tokens=4096, grad_clip=1.0)
    assert stats["computed_sequences"] == 0
    after = [p for p in policy.model.parameters() if p.requires_grad]
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    some = Sample(prompt, ids, 1.0, 1.0, forced=(1, 3))
    *_, cmask, wc = _collate([some], policy.tokenizer.pad_token_id, "cpu")
    assert cmask[0].tolist() == [0.0 if k in (1, 3) else 1.0 for k in range(wc)]
    assert some.trained_tokens == len(ids) - 2


def test_every_calculator_can_be_guided_to_a_closed_call(policy):
    """One greedy guided answer per calculator (all listed as the only choice) closes its call."""
    calcs = list(calculators.CALCULATORS.values())[::6]
    from simulator.tools import CallGuide

    outs = generate(policy, [policy.chat("A note.")] * len(calcs), max_new_tokens=400, temperature=0.0,
                    guides=[CallGuide([c]) for c in calcs], batch_size=16)
    for c, out in zip(calcs, outs):
        assert out.text.startswith(c.id + "(") and out.text.endswith(")"), (c.id, out.text)
    assert GuideStep("stop") == CallGuide([calcs[0]]).next(outs[0].text)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_guided_options_are_answered_with_one_whole_option(policy, temperature):
    """A multiple-choice diagnosis through the real decoder: whatever the weights, the answer is
    one of the options, and it ends there (the eos is the guide's)."""
    from simulator.tools import OptionGuide

    torch.manual_seed(2)
    options = ["Diabetic ketoacidosis", "Hyperosmolar hyperglycaemic state", "Sepsis", "Acute pancreatitis (severe)"]
    outs = generate(policy, [policy.chat("A note. What is the most likely diagnosis?")], max_new_tokens=40,
                    temperature=temperature, repeats=[6], guides=[OptionGuide(options)])
    for out in outs:
        assert out.text in options and out.finished and len(out.completion_ids) in out.forced, out.text


@pytest.mark.parametrize("guided", [False, True])
def test_a_token_bound_splits_the_calls_and_changes_no_greedy_answer(policy, guided, monkeypatch):
    """`batch_tokens` cuts a batch into several generate calls, each within the bound (cached
    positions: completions x (padded prompt + new tokens)); greedy answers stay the same."""
    import azmed.generation as generation

    prompts = [policy.chat(f"A note{' with more words' * k}.\n\n{q}") for k, q in enumerate(QUESTIONS)]
    guides = [call_guide(q) for q in QUESTIONS] if guided else None
    calls: list[list[int]] = []
    real = generation._calls
    monkeypatch.setattr(generation, "_calls", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    whole = generate(policy, prompts, max_new_tokens=24, temperature=0.0, repeats=2, guides=guides)
    lengths = [len(policy.tokenizer(p, add_special_tokens=False)["input_ids"]) + 24 for p in prompts]
    bound = 2 * max(lengths) + 1
    split = generate(policy, prompts, max_new_tokens=24, temperature=0.0, repeats=2, guides=guides,
                     batch_tokens=bound)
    assert len(calls[0]) == 1 and len(calls[1]) == 3
    assert all(2 * len(c) * max(lengths[i] for i in c) <= bound for c in calls[1])
    assert [o.completion_ids for o in split] == [o.completion_ids for o in whole]


def test_a_demonstrated_call_is_trained_on_its_choices_only(policy):
    """`guided_forced` replays a written call through its guide: the brackets, '=' and the closing
    eos are the guide's (not trained), the calculator's name and the values are chosen (trained),
    as when the model writes the call itself."""
    from azmed.generation import guided_forced
    from simulator.tools import CallGuide

    tok = policy.tokenizer
    call = "anion_gap(sodium=140 mmol/L, chloride=104 mmol/L, bicarbonate=24 mmol/L)"
    ids = tok(call, add_special_tokens=False)["input_ids"]
    forced = guided_forced(CallGuide([calculators.get("anion_gap"), calculators.get("map")]), ids, tok)
    pieces = [tok.decode([t]) for t in ids]
    assert len(ids) in forced  # the eos after ')'
    chosen = "".join(p for k, p in enumerate(pieces) if k not in forced)
    written = "".join(pieces[k] for k in forced if k < len(ids))
    assert "(" in written and "=" in written and written.rstrip().endswith(")")
    assert "anion" in chosen and "140" in chosen and "104" in chosen and "(" not in chosen
    assert set(forced) < set(range(len(ids) + 1))


def test_a_demonstrated_option_trains_the_option_not_its_end(policy):
    from azmed.generation import guided_forced
    from simulator.tools import OptionGuide

    tok = policy.tokenizer
    ids = tok("Septic arthritis", add_special_tokens=False)["input_ids"]
    assert guided_forced(OptionGuide(["Gout", "Septic arthritis"]), ids, tok) == (len(ids),)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_replayed_positions_are_positions_the_decoder_forced(policy, temperature):
    """On the decoder's own guided answers, the replay marks no token the model chose itself, and
    it finds the same closing eos."""
    from azmed.generation import guided_forced

    torch.manual_seed(3)
    guides = [call_guide(q) for q in QUESTIONS]
    outs = generate(policy, [policy.chat(f"A note.\n\n{q}") for q in QUESTIONS], max_new_tokens=200,
                    temperature=temperature, repeats=2, guides=guides)
    for out, guide in zip(outs, [g for g in guides for _ in range(2)]):
        replayed = guided_forced(guide, out.completion_ids, policy.tokenizer)
        assert set(replayed) <= set(out.forced), (out.text, replayed, out.forced)
        assert (len(out.completion_ids) in replayed) == (len(out.completion_ids) in out.forced)
        assert any(k < len(out.completion_ids) for k in replayed), out.text  # at least the '('
