"""The code environment: Absolute Zero's deduction, abduction and induction triplets,
graded by running programs in the sandbox (`azmed.sandbox`).

    from azmed.envs.code import CodeEnv
    env = CodeEnv(timeout=2.0)
    task = env.validate("deduction", "```python\\ndef f(a):\\n    return a * 2\\n```\\n```input\\n21\\n```")
    env.verify(task, "```output\\n42\\n```").correct          # True

A triplet is (program, input, output): the program defines `def f(...)`, the input is the
arguments of one call as Python literals (`'abc', [1, 2]`), the output is the `repr` of
what the call returns -- computed here, never taken from the proposer.
- deduction: program + input -> the output, graded by strict value equality (`1 != 1.0
  != True`);
- abduction: program + output -> an input; any input the program maps to that output is
  correct (the program is run on it);
- induction: a message and some input/output pairs -> a program, graded on held-back pairs.

Validation of a proposal, each step with its rejection reason (`REJECTION_REASONS`):
parse (fenced blocks) -> too-large (program / input size) -> syntax -> schema (a top-level
`f` with parameters; inputs are literals) -> unsafe (banned imports, see
`azmed.sandbox.imports`) -> duplicate (of a reference shown in a prompt, a seed, or an
earlier proposal in the same batch) -> execute (error / timeout / memory / unsafe) ->
nondeterministic (two runs in different interpreters, with different hash seeds, disagree)
-> too-large (output) -> unrepresentable (the value is neither a literal nor a plain value
such as frozenset({1}) whose repr, evaluated beside the program, gives itself back; such
values are later compared by repr).

Proposals and answers use fenced blocks (```python, ```input, ```message, ```output) and
are parsed leniently: the last block of a kind wins, an untagged fence or a bare last line
is accepted where unambiguous. `validate_many` and `verify_many` batch every program run
of many proposals or answers into one `Sandbox.run_many` call (the trainer calls them).

Limits: only what `f` returns counts (printing is ignored). Comparisons happen here, on
reprs, so an object claiming to equal everything does not pass; a program forging its own
result in the sandbox's pipe would (see `azmed.sandbox.worker`).
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from pydantic import Field

from azmed.envs.base import EnvConfig, Environment, Rejection, Task, Verdict, extract_block, stable_key
from azmed.sandbox import BANNED_IMPORTS, Job, RunResult, Sandbox, find_banned_imports

TASK_TYPES = ("deduction", "abduction", "induction")
REJECTION_REASONS = ("parse", "too-large", "syntax", "schema", "unsafe", "duplicate", "error", "timeout",
                     "memory", "nondeterministic", "unrepresentable")
IDENTITY_PROGRAM = "def f(a):\n    return a"
_RUN_REASON = {"error": "error", "timeout": "timeout", "out-of-memory": "memory", "violation": "unsafe"}


class CodeEnvConfig(EnvConfig):
    """Options of the code environment (`make_env("code", **options)`)."""

    task_types: list[Literal["deduction", "abduction", "induction"]] = Field(
        default_factory=lambda: list(TASK_TYPES), description="task types offered")
    timeout: float = Field(2.0, gt=0, le=60, description="wall-clock seconds per program run")
    memory_mb: int = Field(256, ge=16, description="memory (MB) a program may allocate")
    workers: int | None = Field(None, ge=1, description="sandbox workers (default: one per core, at least 2)")
    bwrap: Literal["auto", "on", "off"] = Field("auto", description="run sandbox workers inside bubblewrap")
    max_program_chars: int = Field(3000, ge=20, description="longest program accepted")
    max_input_chars: int = Field(500, ge=1, description="longest input accepted")
    max_output_chars: int = Field(1000, ge=1, description="longest output (repr) accepted")
    max_message_chars: int = Field(500, ge=1, description="longest induction message accepted")
    induction_inputs: int = Field(6, ge=2, le=20, description="inputs the induction proposer is asked for")
    min_induction_inputs: int = Field(4, ge=2, description="fewest valid, distinct induction inputs accepted")
    max_references: int = Field(6, ge=0, description="most reference tasks shown in a proposer prompt")


# ---------------------------------------------------------------------------------------
# Parsing: fenced blocks, literals, values.

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_LABEL = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?(?:output|answer|input|result)\s*(?:is)?\s*[:=]?\s*", re.I)


def fenced_blocks(text: str, tags: Sequence[str]) -> list[str]:
    """Contents of every ```tag fenced block (tags case-insensitive; "" = untagged), in order."""
    wanted = {t.lower() for t in tags}
    return [body.strip() for tag, body in _FENCE.findall(text) if tag.lower() in wanted]


def answer_text(text: str, tag: str) -> str | None:
    """The solver's answer: the last ```tag block (or <tag> element), else the last untagged
    block, else the last non-empty line without an "Output:"/"Answer:" label."""
    found = extract_block(text, tag)
    if found is None:
        untagged = fenced_blocks(text, [""])
        found = untagged[-1] if untagged else None
    if found is None:
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        found = _LABEL.sub("", lines[-1]).strip().strip("`").strip() if lines else None
    return found or None


def program_text(text: str) -> str | None:
    """The last ```python block, else the last untagged block defining f, else the text from
    the first `def f(`."""
    blocks = fenced_blocks(text, ["python", "py", "python3"]) or [
        b for b in fenced_blocks(text, [""]) if "def f(" in b]
    if blocks:
        return blocks[-1]
    start = text.find("def f(")
    return text[start:].strip() if start != -1 else None


def parse_arguments(text: str) -> tuple[str, tuple] | str:
    """(canonical text, argument values) of the arguments of one call, as Python literals;
    else what is wrong, for a person. A whole call, `f(3, 'a')`, is accepted too.

    >>> parse_arguments(" 'a' , [1,2] ")[0], parse_arguments("f(3)")[0]
    ("'a', [1, 2]", '3')
    """
    whole = re.fullmatch(r"\s*f\((.*)\)\s*", text, re.S)
    if whole:
        text = whole.group(1)
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except (SyntaxError, ValueError):
        return f"{text[:80]!r} is not a list of call arguments; write them as in f(...), e.g. 'abc', [1, 2]"
    if not isinstance(call, ast.Call) or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return "write the arguments by position, without names or *: e.g. 3, 'x'"
    try:
        values = tuple(ast.literal_eval(arg) for arg in call.args)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return f"{text[:80]!r} is not made of Python literals (numbers, strings, lists, dicts, ...)"
    return ", ".join(ast.unparse(arg) for arg in call.args), values


def literal(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is a Python literal, else (False, None)."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def same_value(a: Any, b: Any) -> bool:
    """Equality that also requires the same types, all the way down (so 1, 1.0 and True
    differ, and [1] differs from (1,))."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a:
        return b != b  # nan
    return bool(a == b)


def triplets(task: Task) -> tuple[str, list[str], list[str]]:
    """(program, inputs, outputs) of any code task, hidden parts included."""
    p, a = task.payload, task.answer
    if task.task_type == "deduction":
        return p["program"], [p["input"]], [a]
    if task.task_type == "abduction":
        return p["program"], [a], [p["output"]]
    return a["program"], list(p["inputs"]) + list(a["inputs"]), list(p["outputs"]) + list(a["outputs"])


def same_output(value: str, expected: str, mode: str) -> bool:
    """Whether a run's value (a repr) is the expected output: as literals of the same types,
    or, for outputs that are not literals ("exec"), as the same repr. A program cannot pass
    by returning an object that claims to equal everything."""
    if mode == "exec":
        return value == expected
    ok, got = literal(value)
    return ok and same_value(got, literal(expected)[1])


_CONSTRUCTORS = frozenset({"frozenset", "set", "range", "complex", "tuple", "list", "dict", "bytes",
                           "bytearray", "deque", "Counter", "OrderedDict", "Fraction", "Decimal"})
_PLAIN_NODES = (ast.Expression, ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp,
                ast.UAdd, ast.USub, ast.Add, ast.Sub, ast.Load, ast.Call, ast.Name)


def _plain_value(text: str) -> bool:
    """Only literals and calls of known constructors on them (no names, attributes or code)."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _PLAIN_NODES):
            return False
        if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, ast.Name)
                                           or node.func.id not in _CONSTRUCTORS):
            return False
        if isinstance(node, ast.Name) and node.id not in _CONSTRUCTORS:
            return False
    return True


# ---------------------------------------------------------------------------------------
# Batched execution: a plan is the jobs to run and what to make of their results.

@dataclass
class _Plan:
    jobs: list[Job]
    then: Callable[[list[RunResult]], Any]  # -> a final value, or another _Plan


def _settle(sandbox: Sandbox, items: list) -> list:
    """Replace every _Plan in `items` by its final value, running all jobs of a round at once."""
    items = list(items)
    while True:
        pending = [i for i, item in enumerate(items) if isinstance(item, _Plan)]
        if not pending:
            return items
        results = sandbox.run_many([job for i in pending for job in items[i].jobs])
        at = 0
        for i in pending:
            n = len(items[i].jobs)
            items[i] = items[i].then(results[at:at + n])
            at += n


def _too_large(what: str, size: int, limit: int) -> Rejection:
    return Rejection("too-large", f"{what} has {size} characters, the limit is {limit}; make it shorter")


def _unrepresentable(inp: str, value: str) -> Rejection:
    return Rejection("unrepresentable", f"f({inp}) returns {value[:80]}, which cannot be written back as a "
                                        f"value; return numbers, strings, lists, tuples, dicts, sets or booleans")


@dataclass(frozen=True)
class _Proposal:
    program: str
    canonical_program: str  # for de-duplication: comments and layout do not count
    inputs: list[str]  # canonical argument texts, distinct
    message: str


class CodeEnv(Environment):
    """The code executor environment; see the module docstring."""

    name = "code"
    all_task_types = TASK_TYPES
    Config = CodeEnvConfig
    heldout_suite = "code-heldout"

    def __init__(self, config: CodeEnvConfig | None = None, *, sandbox: Sandbox | None = None, **options) -> None:
        super().__init__(config, **options)
        self._sandbox = sandbox
        self._own_sandbox = sandbox is None
        self._seeds: dict[str, list[Task]] = {}
        self._pin = 0

    @property
    def task_types(self) -> Sequence[str]:
        return tuple(self.config.task_types)

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            options = {"workers": self.config.workers} if self.config.workers else {}
            self._sandbox = Sandbox(timeout=self.config.timeout, memory_mb=self.config.memory_mb,
                                    bwrap=self.config.bwrap, **options)
        return self._sandbox

    def close(self) -> None:
        """Stop the sandbox this environment started (a shared one is left running)."""
        if self._own_sandbox and self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def _check_type(self, task_type: str) -> None:
        if task_type not in TASK_TYPES:
            raise ValueError(f"unknown code task type {task_type!r}: choose one of {', '.join(TASK_TYPES)}")

    # ---- seeds and prompts ---------------------------------------------------------------
    def seed_tasks(self, task_type: str) -> list[Task]:
        """The identity triplet (Absolute Zero's seed), validated like any proposal."""
        self._check_type(task_type)
        if task_type not in self._seeds:
            inputs = ["'Hello world'"] if task_type != "induction" else [
                "'Hello world'", "7", "[1, 2, 3]", "{'a': 1}", "(2.5, 'x')", "True"]
            text = self.proposal_text(IDENTITY_PROGRAM, inputs, "Return the argument unchanged.")
            task = self._checked(task_type, [text], known_ok=True)[0]
            if isinstance(task, Rejection):
                raise RuntimeError(f"the sandbox cannot run the identity seed: {task}")
            self._seeds[task_type] = [task]
            self.remember([task])
        return list(self._seeds[task_type])

    @staticmethod
    def proposal_text(program: str, inputs: Sequence[str], message: str = "") -> str:
        """A proposal in the fenced format the environment parses."""
        parts = [f"```python\n{program.strip()}\n```"]
        if message:
            parts.append(f"```message\n{message.strip()}\n```")
        parts += [f"```input\n{text.strip()}\n```" for text in inputs]
        return "\n".join(parts)

    def propose_prompt(self, task_type: str, references: Sequence[Task], rng: random.Random) -> str:
        self._check_type(task_type)
        refs = list(references)[: self.config.max_references]
        rng.shuffle(refs)
        self.remember(refs)
        shown = "\n\n".join(self._reference_text(task_type, ref) for ref in refs) or "(none yet)"
        banned = ", ".join(BANNED_IMPORTS)
        rules = (f"Rules:\n- Define a function named f with at least one parameter that returns a value "
                 f"(helpers are fine).\n- The input is the arguments of one call to f, as Python literals, "
                 f"e.g. 'abc', [1, 2]\n- Same input, same output: no randomness, time, files, network.\n"
                 f"- Do not use: {banned}.\n- At most {self.config.max_program_chars} characters.\n")
        if task_type == "induction":
            n = self.config.induction_inputs
            return (f"Write a Python program, a one-sentence message that hints at what it does, and {n} "
                    f"different inputs. Another model will see the message and some input/output pairs and "
                    f"must write the program; it is graded on the pairs it does not see.\n\n{rules}\n"
                    f"Examples already used (write something different):\n\n{shown}\n\n"
                    f"Answer with a ```python block, a ```message block and {n} ```input blocks:\n"
                    f"```python\ndef f(...):\n    ...\n```\n```message\n...\n```\n```input\n...\n```\n...")
        goal = ("must predict the output" if task_type == "deduction"
                else "sees only the program and its output and must find an input that produces it")
        return (f"Write a new Python program and an input for it. Another model {goal}, so make the "
                f"program compute something that takes a little reasoning.\n\n{rules}\n"
                f"Examples already used (write something different):\n\n{shown}\n\n"
                f"Answer with exactly two blocks:\n```python\ndef f(...):\n    ...\n```\n```input\n...\n```")

    def _reference_text(self, task_type: str, ref: Task) -> str:
        """A reference in the format asked for; any code task can serve any task type (an
        induction proposer may be shown deduction programs, as in Absolute Zero)."""
        program, inputs, outputs = triplets(ref)
        if task_type == "induction":
            return self.proposal_text(program, inputs, ref.payload.get("message", ""))
        return self.proposal_text(program, inputs[:1]) + f"\n```output\n{outputs[0]}\n```"

    def solve_prompt(self, task: Task) -> str:
        p = task.payload
        if task.task_type == "deduction":
            return (f"Predict what this program returns for this input.\n\n```python\n{p['program']}\n```\n"
                    f"```input\n{p['input']}\n```\n\nWrite the returned value as a Python literal in a block:\n"
                    f"```output\n...\n```")
        if task.task_type == "abduction":
            return (f"Find an input for which this program returns the output below (any such input "
                    f"is correct).\n\n```python\n{p['program']}\n```\n```output\n{p['output']}\n```\n\n"
                    f"Write the arguments of the call f(...) as Python literals in a block:\n```input\n...\n```")
        pairs = "\n".join(f"```input\n{i}\n```\n```output\n{o}\n```" for i, o in zip(p["inputs"], p["outputs"]))
        return (f"Write a Python function f that does what the message says and matches the examples.\n\n"
                f"Message: {p['message']}\n\nExamples:\n{pairs}\n\nAnswer with the program in a block:\n"
                f"```python\ndef f(...):\n    ...\n```")

    # ---- validation ----------------------------------------------------------------------
    def validate(self, task_type: str, proposal_text: str, references: Sequence[Task] = ()) -> Task | Rejection:
        return self.validate_many(task_type, [proposal_text])[0]

    def validate_many(self, task_type: str, texts: Sequence[str],
                      references: Sequence[Sequence[Task]] = ()) -> list[Task | Rejection]:
        """Validate many proposals of one type, running all their programs together (proposals
        are whole triplets: the references shown to the proposer are not needed). A proposal
        equal to a known task is rejected before anything runs; valid tasks become known."""
        return [self.admit(r, "change the program or the input") if isinstance(r, Task) else r
                for r in self._checked(task_type, texts)]

    def _checked(self, task_type: str, texts: Sequence[str], known_ok: bool = False) -> list[Task | Rejection]:
        """Parse, check and run proposals (all runs together); with `known_ok` a proposal equal
        to a known task is run too, not rejected."""
        self._check_type(task_type)
        seen_in_batch: set[str] = set()
        items = []
        for text in texts:
            parsed = self._parse_proposal(task_type, text)
            if isinstance(parsed, Rejection):
                items.append(parsed)
                continue
            inputs = sorted(parsed.inputs) if task_type == "induction" else parsed.inputs
            key = stable_key(self.name, task_type, parsed.canonical_program, inputs)
            if (self.is_known(key) and not known_ok) or key in seen_in_batch:
                items.append(Rejection("duplicate", "this task is the same as one already shown or "
                                                    "proposed; change the program or the input"))
                continue
            seen_in_batch.add(key)
            items.append(self._execution_plan(task_type, parsed, key))
        return _settle(self.sandbox, items)

    def _parse_proposal(self, task_type: str, text: str) -> _Proposal | Rejection:
        cfg = self.config
        program = program_text(text or "")
        if not program:
            return Rejection("parse", "no program found: put it in a ```python block defining f")
        inputs = fenced_blocks(text, ["input"])
        message = ""
        if task_type == "induction":
            message = (fenced_blocks(text, ["message"]) or [""])[-1]
            if not message:
                return Rejection("parse", "no message found: put a one-sentence hint in a ```message block")
            if len(message) > cfg.max_message_chars:
                return _too_large("the message", len(message), cfg.max_message_chars)
        elif inputs:
            inputs = inputs[-1:]
        if not inputs:
            return Rejection("parse", "no input found: put the arguments of f in an ```input block")
        if len(program) > cfg.max_program_chars:
            return _too_large("the program", len(program), cfg.max_program_chars)
        checked = self.check_program(program)
        if isinstance(checked, Rejection):
            return checked
        canonical_inputs = []
        for text_in in inputs:
            if len(text_in) > cfg.max_input_chars:
                return _too_large("an input", len(text_in), cfg.max_input_chars)
            parsed = parse_arguments(text_in)
            if isinstance(parsed, str):
                return Rejection("schema", f"input {text_in[:60]!r}: {parsed}")
            if parsed[0] not in canonical_inputs:
                canonical_inputs.append(parsed[0])
        if task_type == "induction" and len(canonical_inputs) < cfg.min_induction_inputs:
            return Rejection("schema", f"{len(canonical_inputs)} different inputs given, at least "
                                       f"{cfg.min_induction_inputs} are needed")
        keep = max(cfg.induction_inputs, cfg.min_induction_inputs) if task_type == "induction" else 1
        return _Proposal(program, checked, canonical_inputs[:keep], message)

    def check_program(self, program: str) -> str | Rejection:
        """The program's canonical form (for de-duplication), or why it is unacceptable."""
        try:
            tree = ast.parse(program)
        except SyntaxError as exc:
            return Rejection("syntax", f"line {exc.lineno}: {exc.msg}")
        except (ValueError, RecursionError, MemoryError) as exc:
            return Rejection("syntax", f"the program does not parse: {exc}")
        f = next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "f"), None)
        if f is None:
            return Rejection("schema", "the program must define a function named f at the top level")
        if not (f.args.args or f.args.posonlyargs or f.args.vararg):
            return Rejection("schema", "f must take at least one argument")
        banned = find_banned_imports(tree)
        if banned:
            return Rejection("unsafe", f"banned import, {banned[0]}")
        return ast.unparse(tree)

    def _job(self, program: str, call: str, worker: int | None = None) -> Job:
        """A run with this environment's limits (also in a sandbox shared with others)."""
        return Job(program, call=call, timeout=self.config.timeout, memory_mb=self.config.memory_mb, worker=worker)

    def _execution_plan(self, task_type: str, p: _Proposal, key: str) -> _Plan:
        # Every input runs twice, pinned to two different workers: two interpreters, two hash seeds.
        jobs = []
        for text in p.inputs:
            self._pin += 2
            jobs += [self._job(p.program, f"f({text})", self._pin), self._job(p.program, f"f({text})", self._pin + 1)]

        def outputs(results: list[RunResult]) -> Any:
            kept_inputs, values = [], []
            for n, text in enumerate(p.inputs):
                first, second = results[2 * n], results[2 * n + 1]
                rejection = self._run_rejection(first, second, text)
                if rejection is None:
                    kept_inputs.append(text)
                    values.append(first.value)
                elif task_type != "induction" or rejection.reason not in ("error", "timeout", "memory"):
                    return rejection
            # Induction keeps the inputs that ran; it still needs enough of them.
            if len(kept_inputs) < (self.config.min_induction_inputs if task_type == "induction" else 1):
                return Rejection("error", f"only {len(kept_inputs)} of the inputs ran without an error; "
                                          f"at least {self.config.min_induction_inputs} must")
            return self._representation_plan(task_type, p, key, kept_inputs, values)

        return _Plan(jobs, outputs)

    def _run_rejection(self, first: RunResult, second: RunResult, text: str) -> Rejection | None:
        for r in (first, second):
            if not r.ok:
                if r.output_too_large:
                    return Rejection("too-large", f"f({text}): {r.error}")
                return Rejection(_RUN_REASON[r.status], f"f({text}) failed: {r.error}")
        if first.value != second.value:
            return Rejection("nondeterministic", f"f({text}) returned {first.value[:80]} in one run and "
                                                 f"{second.value[:80]} in another; avoid randomness, hashes "
                                                 f"of strings, set order, ids and the environment")
        if len(first.value) > self.config.max_output_chars:
            return _too_large(f"the output of f({text[:40]})", len(first.value), self.config.max_output_chars)
        return None

    def _representation_plan(self, task_type: str, p: _Proposal, key: str, inputs: list[str],
                             values: list[str]) -> Task | _Plan:
        """Literal values are settled. Any other value must be a plain value a solver can write
        (literals in constructors such as frozenset(...), see `_plain_value`) whose repr,
        evaluated beside the program, gives the same repr again: frozenset({1}) does;
        <object at 0x...>, nan and instances of the program's classes do not. Such tasks are
        compared by repr ("exec")."""
        pending = [n for n, v in enumerate(values) if not literal(v)[0]]
        if not pending:
            return self._make_task(task_type, p, key, inputs, values, ["literal"] * len(values))
        for n in pending:
            if not _plain_value(values[n]):
                return _unrepresentable(inputs[n], values[n])
        jobs = [self._job(p.program, f"repr(({values[n]}))") for n in pending]

        def compared(results: list[RunResult]) -> Task | Rejection:
            for n, r in zip(pending, results):
                if not (r.ok and literal(r.value)[1] == values[n]):
                    return _unrepresentable(inputs[n], values[n])
            modes = ["exec" if n in pending else "literal" for n in range(len(values))]
            return self._make_task(task_type, p, key, inputs, values, modes)

        return _Plan(jobs, compared)

    def _make_task(self, task_type: str, p: _Proposal, key: str, inputs: list[str], values: list[str],
                   modes: list[str]) -> Task:
        if task_type == "deduction":
            return Task(self.name, task_type, {"program": p.program, "input": inputs[0]}, values[0], key,
                        {"compare": modes[0]})
        if task_type == "abduction":
            return Task(self.name, task_type, {"program": p.program, "output": values[0]}, inputs[0], key,
                        {"compare": modes[0]})
        shown = (len(inputs) + 1) // 2
        return Task(self.name, task_type,
                    {"message": p.message, "inputs": inputs[:shown], "outputs": values[:shown]},
                    {"program": p.program, "inputs": inputs[shown:], "outputs": values[shown:]}, key,
                    {"compare": modes[shown:]})

    # ---- verification --------------------------------------------------------------------
    def verify(self, task: Task, answer_text: str) -> Verdict:
        return self.verify_many([task], [answer_text])[0]

    def verify_many(self, tasks: Sequence[Task], answers: Sequence[str]) -> list[Verdict]:
        """Grade many answers, running all the programs they need together."""
        plans = []
        for task, answer in zip(tasks, answers, strict=True):
            check = {"deduction": self._verify_deduction, "abduction": self._verify_abduction,
                     "induction": self._verify_induction}.get(task.task_type)
            if check is None:
                raise ValueError(f"{task.task_type!r} is not a code task type")
            plans.append(check(task, answer or ""))
        return _settle(self.sandbox, plans)

    def _verify_deduction(self, task: Task, answer: str) -> Verdict | _Plan:
        text = answer_text(answer, "output")
        if text is None:
            return Verdict(False, None, "no answer found: write the output in an ```output block", formatted=False)
        if task.meta.get("compare") == "exec":
            return self._compare_by_execution(task.payload["program"], text, task.answer)
        ok, value = literal(text)
        if not ok:
            return Verdict(False, None, f"{text[:80]!r} is not a Python literal", formatted=False)
        correct = same_value(value, literal(task.answer)[1])
        return Verdict(correct, value, "matches the program's output" if correct
                       else f"the program returns {task.answer[:200]}")

    def _verify_abduction(self, task: Task, answer: str) -> Verdict | _Plan:
        text = answer_text(answer, "input")
        parsed = parse_arguments(text) if text else "no answer found: write the arguments in an ```input block"
        if isinstance(parsed, str):
            return Verdict(False, None, parsed, formatted=False)
        program, output, call = task.payload["program"], task.payload["output"], f"f({parsed[0]})"

        def graded(results: list[RunResult]) -> Verdict:
            r = results[0]
            if not r.ok:
                return Verdict(False, parsed[0], f"{call} {r.status}: {r.error}")
            correct = same_output(r.value, output, task.meta.get("compare", "literal"))
            return Verdict(correct, parsed[0], f"{call} returns {r.value[:200]}" + ("" if correct else f", not {output[:200]}"))

        return _Plan([self._job(program, call)], graded)

    def _verify_induction(self, task: Task, answer: str) -> Verdict | _Plan:
        program = program_text(answer)
        if not program:
            return Verdict(False, None, "no program found: write f in a ```python block", formatted=False)
        checked = self.check_program(program)
        if isinstance(checked, Rejection):
            return Verdict(False, program, f"{checked.reason}: {checked.detail}", formatted=checked.reason != "syntax")
        hidden = task.answer
        modes = task.meta.get("compare") or ["literal"] * len(hidden["inputs"])
        jobs = [self._job(program, f"f({inp})") for inp in hidden["inputs"]]

        def graded(results: list[RunResult]) -> Verdict:
            for inp, out, mode, r in zip(hidden["inputs"], hidden["outputs"], modes, results):
                if not r.ok:
                    return Verdict(False, program, f"f({inp}) {r.status}: {r.error}")
                if not same_output(r.value, out, mode):
                    return Verdict(False, program, f"f({inp}) returns {r.value[:200]}, expected {out[:200]}")
            return Verdict(True, program, f"all {len(results)} held-back pairs match")

        return _Plan(jobs, graded)

    def _compare_by_execution(self, program: str, text: str, expected: str) -> Verdict | _Plan:
        """For outputs that are not literals: the answer must be a plain value (literals and
        constructors such as frozenset(...) or deque(...), nothing else; otherwise it counts
        as unformatted), evaluated beside the program; correct when its repr is the output's."""
        if not _plain_value(text):
            return Verdict(False, None, "the answer must be a value (literals and constructors such as "
                                        "frozenset(...)), not a computation", formatted=False)

        def graded(results: list[RunResult]) -> Verdict:
            correct = results[0].ok and literal(results[0].value)[1] == expected
            return Verdict(correct, text, "matches the program's output" if correct
                           else f"the program returns {expected[:200]}")

        return _Plan([self._job(program, f"repr(({text}))")], graded)
