"""Calculator calls: the small grammar a solver writes to use the kit's calculators, and their
execution. Clinicians read the note, pick the calculator and enter the values; a model is taught
the same division of labour.

    from simulator import tools
    call = tools.parse_call("The gap: anion_gap(sodium=140 mmol/L, chloride=104, bicarbonate=24)")
    out = tools.execute_call(call)          # ToolResult (answer, unit, explanation) or ToolFailure
    tools.signature(calculators.get("anion_gap"))
    # 'anion_gap(sodium mmol/L, chloride mmol/L, bicarbonate mmol/L)'
    tools.demo_call(calculators.get("map"), case.facts())   # the right call for a case

Grammar (one call per answer; prose around it is allowed):

    call   := NAME "(" [arg {"," arg} [","]] ")"
    NAME   := a calculator id or alias written as one word: anion_gap, ckd_epi_2021, CURB65, HAS_BLED
    arg    := INPUT "=" VALUE
    INPUT  := an input name from the signature (sodium, age, hypertension); a name or alias the
              variable registry knows works too (Na, HR, HTN)
    VALUE  := NUMBER [UNIT]   140 | 140 mmol/L | 1.2 mg/dL | 106 umol/L | 101.3 °F | 94%
            | yes | no | true | false | present | absent            (findings)
            | M | F | male | female                                 (sex)
            | an option's label or number                          (gcs_eye=to sound, gcs_eye=3)
            | MM/DD/YYYY                                           (dates: last_menstrual_date=02/28/2007)
            | "quoted text"                                        (a value containing , or ))

A number without a unit is in the canonical unit the signature shows; any unit the registry
accepts for that quantity is converted (`simulator.calculators.inputs.read_number`). Inputs marked
`?` in a signature are optional: a finding left out is absent, a graded input takes its default.

Failures are `ToolFailure`s (a `Rejection`): `reason` is one of FAILURE_REASONS, short and
countable in metrics; `detail` says what to fix, for a person.

Safety: nothing in a call is ever evaluated. The text is parsed with regular expressions, the
name is looked up in the calculator registry (`simulator.calculators.get`) and values are read
as numbers or words; a call naming anything else (os.system, __import__, eval) is a failure.
Covered: Python code, nested calls, names of builtins. Not covered: nothing else runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from simulator import calculators
from simulator.calculators import CalcResult, Calculator, CalculatorInputError, Input, UnknownCalculatorError
from simulator.calculators.base import answer_correct, fmt
from simulator.calculators.inputs import InputUnitError, read_number
from simulator.case import Rejection, Verdict
from simulator.render import quantity_text, with_unit
from simulator.unit_spelling import display_unit, unit_spelling
from simulator.verify import normalise

FAILURE_REASONS = {
    "no-call": "the answer contains no calculator call",
    "two-calls": "the answer contains more than one call",
    "malformed": "the call does not follow the grammar (unclosed, positional or repeated inputs, code in a value)",
    "unknown-calculator": "no calculator has that name",
    "unknown-input": "the calculator has no input of that name",
    "missing-input": "a required input is not given",
    "bad-value": "a value is not a number, a yes/no or one of the input's options",
    "bad-unit": "a unit the input does not accept",
    "implausible": "a number outside what the formula accepts (often a unit slip)",
}
GRAMMAR_HELP = ("Answer with one calculator call: name(input=value, ...). Numbers may carry a unit "
                "(sodium=140 mmol/L); findings take yes/no; sex takes M/F; inputs marked ? may be left out.")

_NAME = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\s*\(")
_ARG = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.*)$", re.S)
_SEX_INPUT = "sex"
_POSSESSIVE = re.compile("['\u2019]s\\b")


@dataclass(frozen=True)
class ToolCall:
    """One parsed call: the calculator name and the (input, value) pairs as written."""

    name: str
    args: tuple[tuple[str, str], ...]
    text: str


@dataclass(frozen=True)
class ToolFailure(Rejection):
    """A call that could not be made or run: `reason` in FAILURE_REASONS, `detail` for a person."""

    call: ToolCall | None = None


@dataclass(frozen=True)
class ToolResult:
    """A call that ran: the calculator's result with its explanation."""

    call: ToolCall
    result: CalcResult

    @property
    def answer(self) -> float | int | str | tuple[int, int]:
        return self.result.answer

    def text(self) -> str:
        """'anion_gap = 12 mmol/L' followed by the explanation, as a solver or a sample shows it."""
        calc = calculators.get(self.result.calculator)
        unit = f" {self.result.unit}" if self.result.unit and calc.output == "number" else ""
        return f"{self.result.calculator} = {calc.answer_text(self.result.answer)}{unit}\n{self.result.explanation}"


# ---- parsing -----------------------------------------------------------------------------------

def parse_call(text: str) -> ToolCall | ToolFailure:
    """Exactly one call from a completion (prose around it allowed), or a ToolFailure."""
    found = []
    for m in _NAME.finditer(text or ""):
        if found and m.start() < found[-1][1]:
            continue  # inside the previous call
        close = _closing(text, m.end() - 1)
        body = text[m.end():close if close is not None else len(text)]
        name = m.group(1)
        if not _call_like(name, body, spaced=m.group(0)[len(name):] != "("):
            continue
        found.append((m.start(), (close + 1) if close is not None else len(text), name, body, close is not None))
    if not found:
        return ToolFailure("no-call", "no calculator call found; answer with e.g. "
                           "anion_gap(sodium=140 mmol/L, chloride=104 mmol/L, bicarbonate=24 mmol/L)")
    if len(found) > 1:
        names = ", ".join(f[2] for f in found)
        return ToolFailure("two-calls", f"{len(found)} calls found ({names}); answer with exactly one call")
    start, end, name, body, closed = found[0]
    call_text = text[start:end].strip()
    if not _known(name):
        return ToolFailure("unknown-calculator", _unknown(name))
    if not closed:
        return ToolFailure("malformed", f"the call {name}( is not closed with ')'")
    args = []
    parts = _split_args(body)
    for i, part in enumerate(parts):
        part = part.strip()
        if not part:
            if i == len(parts) - 1 and i > 0:
                continue  # a trailing comma
            if len(parts) == 1:
                break     # name()
            return ToolFailure("malformed", f"{name}: an empty argument between commas")
        m = _ARG.match(part)
        if not m:
            return ToolFailure("malformed", f"{name}: {part!r} is not input=value; write every input by name, "
                               "e.g. sodium=140 mmol/L")
        key, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].strip()
        elif "(" in value or ")" in value:
            return ToolFailure("malformed", f"{name}: the value of {key} ({value!r}) contains brackets; values "
                               "are numbers with an optional unit, yes/no, M/F or an option's label")
        if not value:
            return ToolFailure("malformed", f"{name}: {key} has no value")
        if key in (k for k, _ in args):
            return ToolFailure("malformed", f"{name}: {key} is given twice")
        args.append((key, value))
    return ToolCall(name, tuple(args), call_text)


def _closing(text: str, open_at: int) -> int | None:
    """Index of the ')' closing the '(' at `open_at`, skipping quoted text; None if unclosed."""
    depth, quote = 0, None
    for i in range(open_at, len(text)):
        ch = text[i]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'" and i > open_at and (text[i - 1] in "=(, " or quote):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def _split_args(body: str) -> list[str]:
    """Split at commas outside quotes and brackets."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(body):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'" and (i == 0 or body[i - 1] in "=(, "):
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def _call_like(name: str, body: str, spaced: bool) -> bool:
    """A calculator's name, a code-like name (os.system, __import__) or name=value inside: the
    writer meant a call. 'the anion gap (AG)', 'f(x)' or 'the patient (age = 45)' is prose."""
    if "_" in name or "." in name or _known(name):
        return True
    return not spaced and any("=" in part.split("(")[0] for part in _split_args(body))


def _unknown(name: str) -> str:
    """'no calculator named 'x'. Did you mean ...?' without the full listing."""
    try:
        calculators.get(name)
    except UnknownCalculatorError as e:
        return str(e).split(" Known calculators:")[0] + " Only the listed calculators can be called."
    return f"{name} is a calculator"


def _known(name: str) -> bool:
    try:
        calculators.get(name)
    except UnknownCalculatorError:
        return False
    return True


# ---- execution ---------------------------------------------------------------------------------

def execute_call(call: ToolCall | ToolFailure | str) -> ToolResult | ToolFailure:
    """Run a call (or the one call in a text) on the kit's calculators, and nothing else."""
    if isinstance(call, str):
        call = parse_call(call)
    if isinstance(call, ToolFailure):
        return call
    try:
        calc = calculators.get(call.name)
    except UnknownCalculatorError:
        return ToolFailure("unknown-calculator", _unknown(call.name), call)
    values = _call_values(calc, call)
    if isinstance(values, ToolFailure):
        return values
    missing = [i for i in calc.inputs if i.required and i.name not in values]
    if missing:
        return ToolFailure("missing-input", f"{calc.id} needs {', '.join(i.name for i in missing)}; "
                           f"call it as {signature(calc)}", call)
    try:
        return ToolResult(call, calc.compute(values))
    except CalculatorInputError as e:
        return ToolFailure("bad-value", str(e), call)


def _call_values(calc: Calculator, call: ToolCall) -> dict[str, Any] | ToolFailure:
    """The call's inputs read as the calculator takes them (numbers in canonical units), or the
    first input that cannot be read."""
    values: dict[str, Any] = {}
    for key, raw in call.args:
        inp = _input_for(calc, key)
        if inp is None:
            return ToolFailure("unknown-input", f"{calc.id} has no input {key!r}; its inputs: {signature(calc)}", call)
        if inp.name in values:
            return ToolFailure("malformed", f"{calc.id}: {inp.name} is given twice (as {key})", call)
        try:
            if inp.kind == "number":
                x = read_number(inp, raw)
                if not inp.low <= x <= inp.high:
                    return ToolFailure("implausible", f"{inp.name}={raw} is outside {fmt(inp.low)}-{fmt(inp.high)} "
                                       f"{display_unit(inp.unit)}; was it given in another unit?", call)
                values[inp.name] = x
            else:
                values[inp.name] = inp.coerce(raw)
        except InputUnitError as e:
            return ToolFailure("bad-unit", str(e), call)
        except CalculatorInputError as e:
            return ToolFailure("bad-value", str(e), call)
    return values


def _input_for(calc: Calculator, key: str) -> Input | None:
    """The input `key` names: its own name (any case), or a registry name or alias of it."""
    by_name = {i.name.lower(): i for i in calc.inputs}
    if key.lower() in by_name:
        return by_name[key.lower()]
    from simulator.variables import registry

    target = registry().resolve(key)
    return by_name.get(target) if target else None


# ---- prompts and demonstrations ----------------------------------------------------------------

def signature(calc: Calculator) -> str:
    """The calculator as a prompt lists it: 'anion_gap(sodium mmol/L, chloride mmol/L, ...)';
    optional inputs end in '?', findings read 'yes/no', graded inputs list their options."""
    return f"{calc.id}({', '.join(input_signature(i) for i in calc.inputs)})"


def input_signature(inp: Input) -> str:
    """One input as a signature lists it: 'sodium mmol/L', 'black_race? yes/no', 'sex M/F'."""
    name = inp.name if inp.required else f"{inp.name}?"
    if inp.kind == "number":
        unit = display_unit(inp.unit)
        return f"{name} {unit}" if unit else name
    if inp.kind == "bool":
        return f"{name} yes/no"
    if inp.kind == "date":
        return f"{name} MM/DD/YYYY"
    if inp.name == _SEX_INPUT:
        return f"{name} M/F"
    return f"{name} " + "|".join(str(label) for label in inp.options.values())


def describe_tools(calcs, max_chars: int | None = None) -> str:
    """Signatures one a line, as many as fit in `max_chars` (all when None)."""
    lines, used = [], 0
    for c in calcs:
        line = signature(c)
        if max_chars is not None and used + len(line) + 1 > max_chars:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


_QUESTION_STOP = {"what", "is", "the", "patient", "patients", "s", "of", "a", "an", "in", "using", "based", "on",
                  "score", "criteria", "rule", "formula", "calculator", "calculate", "value", "for", "and", "with",
                  "this", "their", "his", "her", "index", "equation", "estimate", "estimated", "ml", "min", "l"}


def relevant_calculators(question: str, k: int = 5, named: bool = False) -> list[Calculator]:
    """Up to `k` calculators whose id, name or alias the question mentions, best first: a whole
    name found in the question first (longer first), then shared words. [] when nothing fits.
    `named` keeps only calculators whose whole name is in the question (no shared-word guesses)."""
    q = f" {normalise(_POSSESSIVE.sub('', question))} "
    q_words = set(q.split()) - _QUESTION_STOP
    q_compact = re.sub(r"[^a-z0-9]", "", q)
    scored = []
    for order, c in enumerate(calculators.CALCULATORS.values()):
        phrases = [normalise(p) for p in (c.id.replace("_", " "), c.name, *c.aliases)]
        whole = max((len(p) for p in phrases if p and (f" {p} " in q or
                     (len(p.replace(" ", "")) >= 4 and p.replace(" ", "") in q_compact))), default=0)
        words = set(" ".join(phrases).split()) - _QUESTION_STOP
        score = whole * 100 + len(words & q_words)
        if score and (whole or not named):
            scored.append((-score, order, c))
    return [c for _, _, c in sorted(scored, key=lambda t: t[:2])[:k]]


def demo_call(calc: Calculator, values: Mapping[str, Any], units: Mapping[str, str] | None = None,
              registry=None) -> str:
    """The call a solver should write for `values` (canonical units, findings True when present,
    age and sex), e.g. from `case.facts()`. `units` writes numbers in the units a note used
    (e.g. `Note.units`); when a converted value would change the answer, canonical units are used.
    `registry` knows the variables of those units (default: the shared registry; a registry
    extended with calculator inputs for vignettes). Absent optional findings are left out. Raises
    CalculatorInputError when a required input is missing from `values`."""
    text = _demo_text(calc, values, units or {}, registry)
    if units:
        truth = calc.compute(values).answer
        got = execute_call(text)
        if not (isinstance(got, ToolResult) and answer_correct(got.answer, truth, calc.kind)):
            text = _demo_text(calc, values, {}, registry)
    return text


def _demo_text(calc: Calculator, values: Mapping[str, Any], units: Mapping[str, str], registry=None) -> str:
    parts = []
    for inp in calc.inputs:
        v = values.get(inp.name)
        if v is None or (inp.kind == "bool" and not inp.coerce(v)):
            if inp.required:
                raise CalculatorInputError(f"{calc.id} needs {inp.name} ({inp.description}) for a demonstration")
            continue
        if inp.kind == "number":
            parts.append(f"{inp.name}={_demo_number(inp, float(v), units.get(inp.name), registry)}")
        elif inp.kind == "bool":
            parts.append(f"{inp.name}=yes")
        elif inp.kind == "date":
            parts.append(f"{inp.name}={inp.label(inp.coerce(v))}")
        else:
            key = inp.coerce(v)
            label = key if inp.name == _SEX_INPUT else inp.options[key]
            parts.append(f"{inp.name}={_written_label(label)}")
    return f"{calc.id}({', '.join(parts)})"


def _demo_number(inp: Input, value: float, unit: str | None, reg=None) -> str:
    """A number in the note's unit when the registry can write it, else in the canonical unit."""
    if unit:
        from simulator.variables import registry

        try:
            var = (reg or registry()).get(inp.name)
        except KeyError:
            var = None
        if var is not None and unit_spelling(var, unit) is not None and quantity_text(var, value, unit) is not None:
            return with_unit(quantity_text(var, value, unit), unit_spelling(var, unit))
    return with_unit(fmt(value), display_unit(inp.unit))


# ---- grading an answer written as a call ------------------------------------------------------------

INPUT_TOLERANCE = 0.01  # relative: a value copied from the note, or converted to another unit and rounded


def input_differences(call: ToolCall | str, reference: ToolCall | str, rel: float = INPUT_TOLERANCE) -> list[str]:
    """The inputs `call` enters with other values than `reference`, the right call for the same
    case (the environment's demonstration): a number off by more than `rel` of the larger one
    (both in the input's canonical unit, so 4.5 mmol/L and 81 mg/dL of glucose agree), another
    finding, option, sex or date, or an input one call gives and the other leaves out (a left-out
    input counts as its default: an absent finding). Empty when both enter the same values; a call
    to another calculator, or one that does not parse or read, is not compared (its result decides).

    >>> input_differences("map(sbp=120, dbp=80 mm[Hg])", "map(sbp=120 mmHg, dbp=80 mmHg)")
    []
    >>> input_differences("map(sbp=120, dbp=70)", "map(sbp=120, dbp=80)")
    ['dbp=70 (70 mmHg; the case: 80 mmHg)']
    """
    calls = [parse_call(c) if isinstance(c, str) else c for c in (call, reference)]
    if any(isinstance(c, ToolFailure) for c in calls):
        return []
    try:
        calc, ref_calc = (calculators.get(c.name) for c in calls)
    except UnknownCalculatorError:
        return []
    if calc.id != ref_calc.id:
        return []
    got, want = (_call_values(calc, c) for c in calls)
    if isinstance(got, ToolFailure) or isinstance(want, ToolFailure):
        return []
    written = {_input_for(calc, k).name: f"{k}={v}" for k, v in calls[0].args}  # every key read above
    out = []
    for inp in calc.inputs:
        a, b = got.get(inp.name, inp.default), want.get(inp.name, inp.default)
        if inp.kind == "number" and a is not None and b is not None:
            same = abs(a - b) <= rel * max(abs(a), abs(b))
        else:
            same = a == b
        if not same:
            shown = written.get(inp.name, f"{inp.name} left out")
            out.append(f"{shown} ({_input_text(inp, a)}; the case: {_input_text(inp, b)})")
    return out


def _input_text(inp: Input, value: Any) -> str:
    if value is None:
        return "not given"
    if inp.kind == "number":
        return with_unit(fmt(value), display_unit(inp.unit))
    if inp.kind == "bool":
        return "yes" if value else "no"
    if inp.kind == "date":
        return inp.label(value)
    return str(value if inp.name == _SEX_INPUT else inp.options.get(value, value))


def grade_call(answer: str, truth: Any, kind: str, reference: str | None = None) -> Verdict:
    """Grade a solver's answer that must be one calculator call: the call is parsed and run on the
    kit's calculators and its result graded like any calculator answer (`answer_correct`). A call
    that cannot be parsed or run is a format failure whose `reason` is its FAILURE_REASONS key.
    With `reference` (the right call for the case), a right result is right only when the call
    also enters the case's values (`input_differences`): a result within tolerance from misread
    inputs is wrong, with reason "wrong-input".

    >>> grade_call("anion_gap(sodium=140, chloride=104, bicarbonate=24)", 12, "integer").correct
    True
    >>> grade_call("The gap is 12.", 12, "integer").reason
    'no-call'
    >>> grade_call("map(sbp=122, dbp=79)", 93.3, "decimal", reference="map(sbp=120, dbp=80)").reason
    'wrong-input'
    """
    out = execute_call(answer or "")
    if isinstance(out, ToolFailure):
        return Verdict(False, None, f"{out.reason}: {out.detail}", formatted=False, reason=out.reason)
    calc = calculators.get(out.result.calculator)
    ok = answer_correct(out.answer, truth, kind)
    got = calc.answer_text(out.answer)
    parsed = {"call": out.call.text, "result": got}
    wrong = input_differences(out.call, reference) if ok and reference else []
    if wrong:
        return Verdict(False, parsed, f"{out.call.text} = {got} (within tolerance of {truth}, but not from the "
                       f"case's values: {'; '.join(wrong)})", reason="wrong-input")
    return Verdict(ok, parsed, f"{out.call.text} = {got} ({'right' if ok else f'expected {truth}'})")


# ---- guided writing of a call ------------------------------------------------------------------

@dataclass(frozen=True)
class GuideStep:
    """What may come next in a guided answer: `force` the `text`; `choose` a piece that is a
    non-empty prefix of one of `choices` (the model picks among them; with `end` it may also end
    the answer); `free` (the model writes, then the guide's `check` reads the piece); `stop` (the
    answer is complete: end it)."""

    kind: str
    text: str = ""
    choices: tuple[str, ...] = ()
    end: bool = False


class CallGuide:
    """Grammar-constrained writing of one call, for a model too small to keep to the grammar by
    itself (a 135M model names the right calculator, then stops or writes prose). The model
    chooses and writes; the guide only keeps the answer inside the grammar:

    - the name: each piece must continue one of the listed calculators' ids (`choose`); once a
      whole id is written, '(' follows (`force`);
    - each input: its name is chosen among the inputs not yet given (`choose`), '=' follows;
    - each value: a finding's yes/no, a sex's M/F and a graded input's option label are chosen
      among those words; with a `note` (the case the question is about), a number is chosen
      among the note's numbers that the input reads as plausible (`note_numbers`: each number
      alone, and with the unit written after it), as a clinician copies a value from the chart;
      otherwise a number (with its unit) or a date is written freely until the model writes ','
      ')', a newline or the end (or `max_value_chars`); then ',' follows while a required input
      is missing, else the model's own choice of ',' (another input) or ')' (done), and ')' ends
      the answer (`stop`).

    The guide reads only the text written so far (no state), so one guide serves every sample of a
    prompt. Forced text is not the model's choice: the update does not train on it (see
    `azmed.generation`). Inputs may come in any order; optional inputs may be left out, as in
    `demo_call`.

    >>> g = CallGuide([calculators.get("anion_gap")])
    >>> g.next("anion")
    GuideStep(kind='choose', text='', choices=('_gap',), end=False)
    >>> g.next("anion_gap").text, g.next("anion_gap(sodium").text
    ('(', '=')
    >>> g.check("anion_gap(sodium=140", " mmol/L, chl")
    ' mmol/L,'
    >>> g.check("anion_gap(sodium=140, chloride=104, bicarbonate=2", "4)")
    '4)'
    >>> g.next("anion_gap(sodium=140, chloride=104, bicarbonate=24)").kind
    'stop'
    """

    def __init__(self, calcs: Sequence[Calculator] | None = None, max_value_chars: int = 24,
                 note: str | None = None):
        calcs = list(calcs) if calcs else list(calculators.CALCULATORS.values())
        self.calcs = {c.id: c for c in calcs}
        self.max_value_chars = max_value_chars
        self.numbers = note_numbers(note) if note else None
        self._copyable: dict[tuple[str, str], list[str]] = {}

    def _number_labels(self, calc: Calculator, inp: Input) -> list[str] | None:
        """With a note: the numbers of the note (with their unit where one follows) that `inp`
        reads as a plausible value, or None when there is no note or none of its numbers fits
        (the value is then written freely)."""
        if self.numbers is None:
            return None
        key = (calc.id, inp.name)
        if key not in self._copyable:
            self._copyable[key] = [n for n in self.numbers if _plausible(inp, n)]
        return self._copyable[key] or None

    def next(self, text: str) -> GuideStep:
        """The step after `text` (the answer so far)."""
        if "(" not in text:
            return choice(text, list(self.calcs), {"("})
        name, args = text.split("(", 1)
        calc = self.calcs.get(name)
        if calc is None or args.endswith(")"):
            return GuideStep("stop")
        *done, cur = _split_args(args)
        written = {d.split("=", 1)[0].strip() for d in done}
        if "=" in cur:
            key, value = cur.split("=", 1)
            inp = next((i for i in calc.inputs if i.name == key.strip()), None)
            labels = None if inp is None else \
                self._number_labels(calc, inp) if inp.kind == "number" else _value_labels(inp)
            if labels is None:
                return GuideStep("free")
            left = [i for i in calc.inputs if i.name not in written and i.name != inp.name]
            ends = {","} if any(i.required for i in left) else {",", ")"} if left else {")"}
            return choice(value, labels, ends)
        lead = " " if done else ""
        return choice(cur, [lead + i.name for i in calc.inputs if i.name not in written], {"="})

    def copied(self, call: str) -> str:
        """`call` (a demonstration) with each number written as the note writes it, where one of
        the note's numbers reads as the same value: the call this guide lets a model write.
        Other values are left as they are.

        >>> CallGuide([calculators.get("map")], note="BP 120/80 mmHg").copied("map(sbp=120 mmHg, dbp=80 mmHg)")
        'map(sbp=120, dbp=80 mmHg)'
        """
        if self.numbers is None or "(" not in call:
            return call
        name, body = call.split("(", 1)
        calc = self.calcs.get(name)
        if calc is None or not body.endswith(")"):
            return call
        parts = []
        for arg in _split_args(body[:-1]):
            key, eq, value = arg.partition("=")
            inp = next((i for i in calc.inputs if i.name == key.strip()), None)
            labels = self._number_labels(calc, inp) if eq and inp is not None and inp.kind == "number" else None
            if labels:
                value = _same_value(inp, value.strip(), labels) or value
            parts.append(f"{key}={value}" if eq else arg)
        return f"{name}({', '.join(p.strip() for p in parts)})"

    def check(self, text: str, piece: str, end: bool = False) -> str | None:
        """For a `free` step: None keeps the model's `piece`; otherwise the text written instead
        (the value's end, then ',' or ')'), or "" when the piece would leave the value empty (the
        model then writes a piece without ',' ')' or a newline). `end`: the model chose to end
        the answer."""
        name, args = text.split("(", 1)
        calc = self.calcs[name]
        *done, cur = _split_args(args)
        value = cur.split("=", 1)[1] + piece
        quoted = value.lstrip().startswith('"') and value.count('"') < 2
        cut = None if quoted else next((i for i, ch in enumerate(piece) if ch in ",)\n"), None)
        if cut is None and not end and len(value) <= self.max_value_chars:
            return None
        head = piece if cut is None else piece[:cut]
        if not (value[:len(value) - len(piece)] + head).strip():
            return ""  # a value cannot be empty: the model writes another piece
        more = cut is not None and piece[cut] == ","
        written = {d.split("=", 1)[0].strip() for d in (*done, cur)}
        left = [i for i in calc.inputs if i.name not in written]
        if any(i.required for i in left) or (more and left):
            return head + ","
        return head + ")"


def choice(current: str, targets: Sequence[str], then: set[str], end: bool = False) -> GuideStep:
    """Choose a continuation of `current` toward one of `targets`; one of `then` (or, with `end`,
    the end of the answer) follows a whole one; what is the only way on is forced."""
    choices = {t[len(current):] for t in targets if t.startswith(current) and t != current}
    whole = current in targets
    if whole:
        choices |= then
    end = end and whole
    if not choices:
        return GuideStep("stop")
    if len(choices) == 1 and choices <= then and not end:
        return GuideStep("force", next(iter(choices)))
    return GuideStep("choose", choices=tuple(sorted(choices)), end=end)


def _value_labels(inp: Input) -> list[str] | None:
    """The values an input can take, as a call writes them (yes/no, M/F, an option's label), or
    None for a number or a date (written freely)."""
    if inp.kind == "bool":
        return ["yes", "no"]
    if inp.kind != "choice":
        return None
    if inp.name == _SEX_INPUT:
        return [str(k) for k in inp.options]
    return [_written_label(label) for label in inp.options.values()]


def _written_label(label) -> str:
    """An option's label as a call writes it: quoted when it holds a comma, a bracket or a quote."""
    return f'"{label}"' if re.search(r"[,()\"]", str(label)) else str(label)


class OptionGuide:
    """Writing one of a multiple-choice question's `options`, whole: the model chooses among
    them, and the answer ends with the option. Same protocol as `CallGuide`; no state.

    >>> g = OptionGuide(["Gout", "Septic arthritis"])
    >>> g.next("")
    GuideStep(kind='choose', text='', choices=('Gout', 'Septic arthritis'), end=False)
    >>> g.next("Sep").choices, g.next("Gout").kind
    (('tic arthritis',), 'stop')
    """

    def __init__(self, options: Sequence[str]):
        self.options = tuple(options)

    def next(self, text: str) -> GuideStep:
        return choice(text, self.options, set(), end=True)


def call_guide(question: str, count: int = 3, note: str | None = None) -> CallGuide:
    """The guide for a tool prompt of `question` (`azmed.envs.clinical.prompts.tool_prompt`): the
    calculators it lists, or every calculator when it lists none; with `note`, numbers are
    chosen among the note's (`CallGuide`)."""
    return CallGuide(relevant_calculators(question, k=count) or None, note=note)


_NOTE_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\d.]*\d)(?:[ \t]*([A-Za-z\u00b5\u03bc\u00b0%][^\s,;:()\[\]]*))?")


def note_numbers(text: str) -> list[str]:
    """The numbers a note writes, in order and without repeats: each alone, and with the word
    written right after it when that word starts like a unit ('0.8 mg/dL', '105 kg', '37 \u00b0C').
    A call copies its values from these (`CallGuide`); a unit an input does not accept, or a
    value outside its plausible range, is filtered out there.

    >>> note_numbers("Na 141 mEq/L, creatinine 0.8 mg/dL; BP 145/90 mm Hg; a 42-year-old")
    ['141', '141 mEq/L', '0.8', '0.8 mg/dL', '145', '90', '90 mm', '42']
    """
    out: dict[str, None] = {}
    for m in _NOTE_NUMBER.finditer(text or ""):
        number, unit = m.group(1), (m.group(2) or "").rstrip(".")
        out[number] = None
        if unit:
            out[f"{number} {unit}"] = None
    return list(out)


def _same_value(inp: Input, value: str, labels: Sequence[str]) -> str | None:
    """The label among `labels` that reads as `value` does (the longest: a unit kept), or None."""
    try:
        want = read_number(inp, value)
    except (CalculatorInputError, InputUnitError, ValueError):
        return None
    same = [lab for lab in labels if abs(read_number(inp, lab) - want) <= 1e-6 * max(1.0, abs(want))]
    return max(same, key=len) if same else None


def _plausible(inp: Input, written: str) -> bool:
    """Whether `written` ('0.8 mg/dL', '140') is a value `inp` accepts: a number, in a unit it
    reads, within its plausible range."""
    try:
        return inp.low <= read_number(inp, written) <= inp.high
    except (CalculatorInputError, InputUnitError, ValueError):
        return False
