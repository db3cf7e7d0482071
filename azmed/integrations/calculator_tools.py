"""The kit's calculators as tools for TRL's `GRPOTrainer(environment_factory=...)`, written and
read in AZ-Med's own call grammar.

    from azmed.integrations.calculator_tools import CalculatorTools, calculator_tools, use_calculator_calls
    tokenizer = use_calculator_calls(AutoTokenizer.from_pretrained(model_dir))   # SmolLM2 or any ChatML model
    GRPOTrainer(model, reward_funcs=[correctness_reward, format_reward], train_dataset=task_dataset(...),
                processing_class=tokenizer, environment_factory=CalculatorTools, ...)

**The environment** (`CalculatorTools`, or `calculator_tools(ids)` for a subset) is what TRL's
`environment_factory` asks for: a class whose public methods are the tools and whose
`reset(**row)` starts a rollout. Each calculator is one method named by its id, with its
inputs as keyword arguments (`anion_gap(sodium=..., chloride=..., bicarbonate=...)`). A method
rebuilds the call and runs it through `simulator.tools.execute_call`: only the kit's
calculators run, nothing in a call is evaluated, units convert as everywhere in the kit. A call
that cannot run (missing input, bad unit, implausible value) raises `CalculatorCallError` with
the kit's reason and what to fix: TRL shows that to the model as the tool's answer and counts
it in `tools/failure_frequency`. Every call of a rollout is kept in `calls`, for a user's own
reward or metric (the `environments` argument TRL gives reward functions).

`reset(**row)` appends to the question the signatures of the calculators it names by id, name
or alias (`simulator.tools.relevant_calculators(named=True)`, at most `shown`), the way AZ-Med's
own prompts list tools, and returns None when it names none: a guess from shared words ("heart"
-> the HEART score) would double a diagnosis prompt with noise. There is no `get_reward`: TRL calls it without the
completion, so it could not grade the answer the way the environment does; the reward
functions of `azmed.integrations.trl` do that.

**Why AZ-Med's grammar, not JSON.** TRL renders and parses tool calls through the chat
template and a response parser, and has neither for SmolLM2 (its template drops tool calls).
`use_calculator_calls(tokenizer)` gives a ChatML tokenizer both:
- a chat template that is SmolLM2's own for plain chats (byte for byte), adds one line saying how
  to call a calculator to the system turn when tools are given, writes an assistant's tool call
  as `anion_gap(sodium=140 mmol/L, chloride=104 mmol/L, bicarbonate=24 mmol/L)` and a tool's
  answer as a `tool` turn. It lists every tool's signature only when asked
  (`chat_template_kwargs={"list_tools": True}`): the 58 signatures are about 3,400 SmolLM2 tokens,
  so by default the environment shows the relevant few instead;
- a response parser that reads a call out of the model's text with `simulator.tools.parse_call`,
  the reader the environment's own `verify` uses for calculator-call answers, so a call means
  the same to TRL, to `azmed train` and to `azmed eval`; the plain text is read by a standard
  transformers `response_template`, which is what a saved tokenizer keeps.
`name(key=value unit)` is shorter than nested JSON for a 135M model, and the same text is a
valid answer to AZ-Med's calculator-call tasks, so what it learns here carries over. The base
SmolLM2 does not call on its own; it has to learn to (demonstrations, or the reward).

What is graded (`tasks.answer_text`): the last assistant turn, so after a tool ran, the answer
the model gave with its result. For tasks whose answer is itself a call (AZ-Med's calculator-call
tasks), `GRPOConfig(max_tool_calling_iterations=0)` leaves the call as the answer, written back
in the kit's grammar, and the environment executes and grades it as `azmed train` does.

Limits: one call per assistant turn (two calls in one turn are no call, as in the kit); the
response parser is attached to the tokenizer object (a tokenizer loaded from a saved folder needs
`use_calculator_calls` again); ChatML tokenizers only (`<|im_end|>` ends a turn).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional, Sequence

from simulator import calculators, tools
from simulator.calculators import Calculator
from simulator.tools import ToolCall, ToolFailure, ToolResult

SHOWN = 1  # calculators listed under a question that names them (the best match: the one asked for)
TOOL_HINT = "Calculators you can call:\n"
CALL_LINE = ("You may use a clinical calculator: write one call, name(input=value unit, ...); "
             "its result comes back, then give your answer.")
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
END_OF_TURN = "<|im_end|>"

# SmolLM2's ChatML template, plus tools: one line in the system turn, every signature when
# `list_tools` is set, assistant tool calls in AZ-Med's grammar, tool answers as a `tool` turn.
CHAT_TEMPLATE = (
    "{%- macro call_value(v) -%}"
    "{%- if v is sameas true -%}yes{%- elif v is sameas false -%}no"
    "{%- elif v is string and (',' in v or '(' in v or ')' in v or '\"' in v) -%}\"{{ v }}\""
    "{%- else -%}{{ v }}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- macro tool_lines() -%}"
    "{%- if tools -%}{{ '\\n\\n' + call_line }}"
    "{%- if list_tools is defined and list_tools -%}"
    "{%- for tool in tools -%}{{ '\\n' + (tool.function.description if tool.function is defined else tool.description) }}"
    "{%- endfor -%}{%- endif -%}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "{{ '<|im_start|>system\\n' + default_system }}{{ tool_lines() }}{{ '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- elif message['content'] -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'system' -%}{{ tool_lines() }}{%- endif -%}"
    "{%- if message['role'] == 'assistant' and message['tool_calls'] is defined and message['tool_calls'] -%}"
    "{%- for tool_call in message['tool_calls'] -%}"
    "{%- set f = tool_call['function'] if tool_call['function'] is defined else tool_call -%}"
    "{%- if message['content'] or not loop.first -%}{{ ' ' }}{%- endif -%}"
    "{{ f['name'] }}("
    "{%- if f['arguments'] is mapping -%}{%- for key, value in f['arguments'].items() -%}"
    "{{ key }}={{ call_value(value) }}{%- if not loop.last -%}, {% endif -%}{%- endfor -%}"
    "{%- else -%}{{ f['arguments'] }}{%- endif -%})"
    "{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)
# The plain text of an assistant turn, read by transformers' own parser (kept when saved).
TEXT_RESPONSE_TEMPLATE = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {"content": {"close_pattern": r"<\|im_end\|>\s*", "content": "text"}},
}


class CalculatorCallError(ValueError):
    """A calculator call that could not run; the message is the kit's reason and its fix."""

    def __init__(self, failure: ToolFailure) -> None:
        super().__init__(f"{failure.reason}: {failure.detail}")
        self.failure = failure


# ---- the environment ---------------------------------------------------------------------------

class _CalculatorEnvironment:
    """Base of the classes `calculator_tools` builds (see the module docstring)."""

    exposed: tuple[str, ...] = ()
    shown: int = SHOWN

    def __init__(self) -> None:
        self.calls: list[ToolResult | ToolFailure] = []
        self.task_type: str | None = None

    def reset(self, **row: Any) -> str | None:
        """Start a rollout on a dataset row: forget earlier calls; list the calculators its
        question names (their signatures), or return None when it names none."""
        self.calls = []
        self.task_type = row.get("task_type")
        named = tools.relevant_calculators(_question(row.get("prompt")), k=len(calculators.CALCULATORS), named=True)
        relevant = [c for c in named if c.id in self.exposed][: self.shown]
        if not relevant:
            return None
        return "\n\n" + TOOL_HINT + tools.describe_tools(relevant)

    def _run(self, calc_id: str, inputs: dict[str, Any]) -> str:
        args = tuple((name, _argument_text(value)) for name, value in inputs.items() if value is not None)
        text = f"{calc_id}({', '.join(f'{k}={v}' for k, v in args)})"
        outcome = tools.execute_call(ToolCall(calc_id, args, text))
        self.calls.append(outcome)
        if isinstance(outcome, ToolFailure):
            raise CalculatorCallError(outcome)
        return outcome.text()


def calculator_tools(ids: Sequence[str] | None = None, shown: int = SHOWN) -> type:
    """An environment class exposing the calculators `ids` (ids, aliases or MedCalc-Bench names;
    default all) as tools, listing at most `shown` under a question."""
    chosen = [calculators.get(i) for i in ids] if ids is not None else list(calculators.CALCULATORS.values())
    if not chosen:
        raise ValueError("give at least one calculator, or None for all of them")
    methods: dict[str, Any] = {c.id: _tool_method(c) for c in chosen}
    methods.update(exposed=tuple(methods), shown=shown, __doc__=(
        f"AZ-Med's calculators as tools for TRL's environment_factory: {', '.join(methods)}."))
    return type("CalculatorTools", (_CalculatorEnvironment,), methods)


def _tool_method(calc: Calculator):
    """A method `calc.id(self, **inputs) -> str` whose signature and docstring name the inputs,
    so transformers' `get_json_schema` describes it; its description is the kit's signature."""

    def method(self, **inputs: Any) -> str:
        return self._run(calc.id, inputs)

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for inp in calc.inputs:
        kind = str if inp.required else Optional[str]
        annotations[inp.name] = kind
        params.append(inspect.Parameter(inp.name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                        default=inspect.Parameter.empty if inp.required else None))
    annotations["return"] = str
    method.__signature__ = inspect.Signature(params, return_annotation=str)
    method.__annotations__ = annotations
    method.__name__ = method.__qualname__ = calc.id
    args = "\n".join(f"    {i.name}: {_one_line(i.description)}, {_one_line(i.expects())}" for i in calc.inputs)
    method.__doc__ = (f"{tools.signature(calc)}\n\nArgs:\n{args}\n\nReturns:\n"
                      f"    The {_one_line(calc.name)} with how it was reached.")
    return method


def _argument_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("(choices:", "(options:")


def _question(prompt: Any) -> str:
    """The text of the last user turn of a row's prompt (chat messages or plain text)."""
    if isinstance(prompt, str):
        return prompt
    for message in reversed(list(prompt or [])):
        if message.get("role") == "user":
            return message.get("content") if isinstance(message.get("content"), str) else ""
    return ""


CalculatorTools = calculator_tools()


# ---- the tokenizer: template and parser ----------------------------------------------------------------

def use_calculator_calls(tokenizer):
    """Give a ChatML tokenizer (SmolLM2's) the chat template and response parser described in
    the module docstring, for TRL's tool loop; returns the same tokenizer, changed in place."""
    if tokenizer.eos_token != END_OF_TURN:
        raise ValueError(f"use_calculator_calls needs a ChatML tokenizer whose turns end with {END_OF_TURN} "
                         f"(SmolLM2, Qwen); this one ends them with {tokenizer.eos_token!r}")
    template = CHAT_TEMPLATE.replace("default_system", repr(SMOLLM2_SYSTEM)).replace("call_line", repr(CALL_LINE))
    tokenizer.chat_template = template
    tokenizer.response_template = TEXT_RESPONSE_TEMPLATE
    read_text = type(tokenizer).parse_response.__get__(tokenizer)

    def parse_response(response, schema=None, *, prefix=None, tools=None):  # noqa: A002 - transformers' names
        parsed = read_text(response, schema, prefix=prefix, tools=tools)
        return [with_call(m) for m in parsed] if isinstance(parsed, list) else with_call(parsed)

    tokenizer.parse_response = parse_response
    return tokenizer


def with_call(message: dict) -> dict:
    """An assistant message with the one calculator call in its text moved to `tool_calls`
    (OpenAI shape, the calculator's id as name, the values as written); unchanged when the text
    holds no call that `simulator.tools.parse_call` accepts.

    >>> with_call({"role": "assistant", "content": "map(sbp=120 mmHg, dbp=80)"})["tool_calls"]
    [{'type': 'function', 'function': {'name': 'map', 'arguments': {'sbp': '120 mmHg', 'dbp': '80'}}}]
    >>> with_call({"role": "assistant", "content": "The MAP is 93 mmHg."})
    {'role': 'assistant', 'content': 'The MAP is 93 mmHg.'}
    """
    content = message.get("content")
    if not isinstance(content, str):
        return message
    call = tools.parse_call(content)
    if isinstance(call, ToolFailure):
        return message
    name = calculators.get(call.name).id
    return {**message, "content": content.replace(call.text, "", 1).strip(),
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": dict(call.args)}}]}
