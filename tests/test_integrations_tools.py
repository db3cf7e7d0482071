"""The calculators as tools for TRL's environment_factory: the tools are the kit's calculators and
nothing else; SmolLM2's chat template is unchanged for plain chats and passes TRL's own checks
for tool calling; TRL's own response parsing reads a call in AZ-Med's grammar and TRL's way of
dispatching it (methods found on the class, called by name) gives the calculator's result."""

from __future__ import annotations

import inspect

import pytest

from azmed.integrations.calculator_tools import (CALL_LINE, CalculatorCallError, CalculatorTools, calculator_tools,
                                                 use_calculator_calls)
from azmed.model import EMBEDDED_FOLDER, cache_dir
from simulator import calculators, tools
from simulator.vignettes import calculator_case, demonstration

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _trl_tools(env) -> dict:
    """The tools TRL takes from an environment instance (grpo_trainer: public methods but reset
    and get_reward), by name, as it dispatches them."""
    return {name: getattr(env, name) for name, _ in inspect.getmembers(type(env), predicate=inspect.isfunction)
            if name not in ("reset", "get_reward") and not name.startswith("_")}


@pytest.fixture(scope="module")
def tokenizers():
    from transformers import AutoTokenizer

    folder = cache_dir() / "models" / EMBEDDED_FOLDER
    if not (folder / "tokenizer.json").is_file():
        pytest.skip("the embedded model is not converted yet (run scripts/setup.sh or any model command)")
    return AutoTokenizer.from_pretrained(folder), use_calculator_calls(AutoTokenizer.from_pretrained(folder))


def test_the_tools_are_the_calculators_and_nothing_else():
    env = CalculatorTools()
    assert set(_trl_tools(env)) == set(calculators.CALCULATORS)
    subset = calculator_tools(["anion_gap", "CHA2DS2-VASc score"])()
    assert set(_trl_tools(subset)) == {"anion_gap", "cha2ds2_vasc"}


@pytest.mark.parametrize("calc_id", sorted(calculators.CALCULATORS))
def test_each_tool_runs_its_calculator_like_the_kit(sim, calc_id):
    case = calculator_case(sim, calc_id, seed=11)
    call = tools.parse_call(demonstration(sim, case))
    env = CalculatorTools()
    out = _trl_tools(env)[calc_id](**dict(call.args))
    expected = tools.execute_call(call)
    assert out == expected.text()
    assert env.calls[-1].answer == expected.answer


@pytest.mark.parametrize("kwargs, reason", [
    ({"sodium": "140"}, "missing-input"),
    ({"sodium": "__import__('os').system('id')", "chloride": "104", "bicarbonate": "24"}, "bad-value"),
    ({"sodium": "140 furlongs", "chloride": "104", "bicarbonate": "24"}, "bad-unit"),
    ({"sodium": "140", "chloride": "104", "bicarbonate": "24", "lactate": "2"}, "unknown-input"),
])
def test_a_call_that_cannot_run_is_a_failure_with_the_kits_reason(kwargs, reason):
    env = CalculatorTools()
    with pytest.raises(CalculatorCallError, match=f"^{reason}: "):
        env.anion_gap(**kwargs)
    assert env.calls[-1].reason == reason


def test_reset_lists_the_calculators_the_question_names():
    env = CalculatorTools()
    env.calls.append("earlier")
    shown = env.reset(prompt=[{"role": "user", "content": "Calculate the Anion gap (mmol/L) from: sodium = 140"}],
                      task_type="calculation")
    assert env.calls == [] and env.task_type == "calculation"
    lines = shown.strip().splitlines()
    assert lines[0] == "Calculators you can call:" and lines[1] == tools.signature(calculators.get("anion_gap"))
    assert len(lines) == 2  # the one asked for
    assert env.reset(prompt=[{"role": "user", "content": "What is the most likely diagnosis?"}]) is None


def test_plain_chats_render_as_smollm2_renders_them(tokenizers):
    plain, tooled = tokenizers
    for messages in ([{"role": "user", "content": "hi"}],
                     [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Sodium 140?"}]):
        for gen in (True, False):
            assert (tooled.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
                    == plain.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen))


def test_trl_accepts_the_template_for_tool_calling(tokenizers):
    from trl.chat_template_utils import is_chat_template_prefix_preserving, supports_tool_calling

    plain, tooled = tokenizers
    assert not supports_tool_calling(plain)  # why the kit brings its own
    assert supports_tool_calling(tooled) and is_chat_template_prefix_preserving(tooled)


def test_tools_are_presented_in_the_kits_grammar(tokenizers):
    _, tooled = tokenizers
    methods = list(_trl_tools(CalculatorTools()).values())
    messages = [{"role": "user", "content": "hi"}]
    short = tooled.apply_chat_template(messages, tools=methods, tokenize=False, add_generation_prompt=True)
    assert CALL_LINE in short and "anion_gap(" not in short
    full = tooled.apply_chat_template(messages, tools=methods, tokenize=False, add_generation_prompt=True,
                                      list_tools=True)
    listed = full.split(CALL_LINE + "\n")[1].split("<|im_end|>")[0]
    assert listed == tools.describe_tools(sorted(calculators.CALCULATORS.values(), key=lambda c: c.id))


def test_trl_parses_a_call_and_dispatches_it_to_the_calculator(sim, tokenizers):
    from trl.chat_template_utils import parse_response

    _, tooled = tokenizers
    env = CalculatorTools()
    methods = _trl_tools(env)
    prompt = tooled.apply_chat_template([{"role": "user", "content": "MAP?"}], tools=list(methods.values()),
                                        add_generation_prompt=True, tokenize=True, return_dict=False)
    for calc_id in sorted(calculators.CALCULATORS):
        call_text = demonstration(sim, calculator_case(sim, calc_id, seed=3))
        completion = tooled(f"Using the calculator: {call_text}<|im_end|>")["input_ids"]
        message = parse_response(tooled, completion, prefix=prompt, tools=list(methods.values()))
        assert message["content"] == "Using the calculator:"
        (tool_call,) = message["tool_calls"]
        name, arguments = tool_call["function"]["name"], tool_call["function"]["arguments"]
        assert methods[name](**arguments) == tools.execute_call(call_text).text()
        # written back by the template, the call is the same text the model wrote
        rendered = tooled.apply_chat_template([{"role": "user", "content": "x"}, message], tokenize=False)
        assert f"<|im_start|>assistant\nUsing the calculator: {call_text}<|im_end|>" in rendered
    prose = parse_response(tooled, tooled("The MAP is 93 mmHg.<|im_end|>")["input_ids"], prefix=prompt)
    assert prose == {"role": "assistant", "content": "The MAP is 93 mmHg."}


def test_only_chatml_tokenizers_are_changed():
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), eos_token="</s>")
    with pytest.raises(ValueError, match="ChatML"):
        use_calculator_calls(tok)
