"""`azmed exec`: run a program in the sandbox, or validate a proposed code triplet.

    azmed exec run prog.py --input "3, 'a'"      # prints layers, status, value, stdout, time
    azmed exec check triplet.json                # valid task (exit 0) or rejection (exit 1)

Both print the sandbox's active protection layers first and refuse to run (exit 2) when a
layer the sandbox asks for is missing here (e.g. seccomp), naming it and the fix;
`--allow-unconfined` runs anyway and says what is missing. A program's output is shown with
its control characters (terminal escape codes) written out as \\xNN, never acted on.

`run` calls the file's `f` on `--input` (the call's arguments as Python literals; `f()` when
empty); a file without `f` is just executed. Exit 0 when the run is "ok", 1 otherwise, 2 when
the file or the input cannot be read.

`check` takes one JSON object (or '-' for stdin), either fields or a raw proposal:
    {"task_type": "deduction", "program": "def f(a):\\n    return a", "input": "'x'", "output": "'x'"}
    {"task_type": "induction", "program": "...", "message": "...", "inputs": ["1", "2", "3", "4"]}
    {"task_type": "abduction", "proposal": "```python\\n...\\n```\\n```input\\n...\\n```"}
It validates the triplet like a proposal in self-play (so the output is computed by running
the program) and, when the file claims an "output", checks the claim. Exit 0 valid, 1
rejected or wrong claimed output, 2 unreadable.
"""

from __future__ import annotations

import ast
import json
import sys

from azmed.commands.common import fail, read_json_input, visible


def run(args) -> int:
    if args.exec_command == "run":
        return run_program(args)
    return check_triplet(args)


def _name(path: str) -> str:
    return "standard input" if path == "-" else path


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def run_program(args) -> int:
    try:
        code = _read(args.file)
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}")
    if args.timeout is not None and not 0 < args.timeout <= 600:
        return fail(f"--timeout must be between 0 and 600 seconds, not {args.timeout}")
    try:
        tree = ast.parse(code, args.file)
    except SyntaxError as exc:
        return fail(f"{args.file} line {exc.lineno}: {exc.msg}")
    except ValueError as exc:  # e.g. a null byte in the file
        return fail(f"{args.file} is not Python source: {exc}")
    defines_f = any(isinstance(node, ast.FunctionDef) and node.name == "f" for node in tree.body)
    call = None
    if defines_f:
        call = f"f({args.input})"
        try:
            ast.parse(call, mode="eval")
        except SyntaxError:
            return fail(f"--input {args.input!r} is not a list of call arguments; write them as in "
                        f"f(...), e.g. --input \"3, 'a'\"")
    elif args.input:
        return fail(f"{args.file} defines no function f to call with --input; define `def f(...)` "
                    f"or leave --input out to just run the file")

    from azmed.sandbox import Job, Sandbox, SandboxError

    options = {"timeout": args.timeout} if args.timeout else {}
    try:
        with Sandbox(workers=1, allow_unconfined=args.allow_unconfined, **options) as box:
            print_layers(box)
            result = box.run(Job(code, call=call))
    except SandboxError as exc:
        return fail(f"the sandbox cannot start here: {exc}")
    if call:
        print(f"call: {visible(call)}")
    print(visible(str(result)))
    return 0 if result.ok else 1


def print_layers(box) -> None:
    """The sandbox's active layers, and what is missing and why."""
    print(f"layers: {', '.join(box.layers)}")
    if box.missing:
        print(f"missing: {', '.join(box.missing)} (allowed by --allow-unconfined)")
    for note in box.notes:
        print(f"note: {note}")


def check_triplet(args) -> int:
    data, code = read_json_input(args.file, "a triplet")
    if code is not None:
        return code
    if not isinstance(data, dict):
        return fail(f"{_name(args.file)} holds a JSON {type(data).__name__}; a triplet is one JSON object")

    from azmed.envs.code import TASK_TYPES, CodeEnv

    task_type = args.task_type or data.get("task_type") or data.get("type")
    if task_type not in TASK_TYPES:
        return fail(f"task type {task_type!r} in {_name(args.file)}: give \"task_type\" (or --task-type) as one of "
                    f"{', '.join(TASK_TYPES)}")
    proposal = _proposal(data, task_type)
    if proposal.startswith("error:"):
        return fail(f"{_name(args.file)}: {proposal[len('error:'):].strip()}")

    from azmed.envs.base import Rejection, Task
    from azmed.sandbox import SandboxError

    from azmed.envs.code import CodeEnvConfig
    from azmed.sandbox import Sandbox

    cfg = CodeEnvConfig()
    env = CodeEnv(sandbox=Sandbox(workers=2, timeout=cfg.timeout, memory_mb=cfg.memory_mb, bwrap=cfg.bwrap,
                                  allow_unconfined=args.allow_unconfined))
    try:
        print_layers(env.sandbox)
        task = env.validate(task_type, proposal)
        if isinstance(task, Rejection):
            print(f"rejected ({task.reason}): {visible(task.detail)}")
            return 1
        print(f"valid {task_type} task (key {task.key})")
        print(json.dumps({"payload": task.payload, "answer": task.answer, "meta": task.meta}, indent=2))
        claimed = data.get("output")
        if claimed is not None and task_type != "induction":
            program, inp, out = task.payload["program"], *(
                (task.payload["input"], task.answer) if task_type == "deduction" else (task.answer, task.payload["output"]))
            as_deduction = Task(env.name, "deduction", {"program": program, "input": inp}, out, task.key, task.meta)
            verdict = env.verify(as_deduction, f"```output\n{claimed}\n```")
            print(f"claimed output {claimed!r}: {'correct' if verdict.correct else 'wrong'} ({visible(verdict.why)})")
            return 0 if verdict.correct else 1
        return 0
    except SandboxError as exc:
        return fail(f"the sandbox cannot start here: {exc}")
    finally:
        env.sandbox.close()


def _proposal(data: dict, task_type: str) -> str:
    """The proposal text from the JSON fields, or 'error: what is missing'."""
    from azmed.envs.code import CodeEnv

    if isinstance(data.get("proposal"), str):
        return data["proposal"]
    program = data.get("program")
    if not isinstance(program, str):
        return "error: missing \"program\" (a string with `def f(...)`), or give the raw \"proposal\" text"
    if task_type == "induction":
        inputs, message = data.get("inputs"), data.get("message", "")
        if not isinstance(inputs, list) or not inputs:
            return "error: an induction triplet needs \"inputs\": a list of argument strings, e.g. [\"1\", \"'a'\"]"
        return CodeEnv.proposal_text(program, [str(i) for i in inputs], str(message))
    inp = data.get("input")
    if inp is None:
        return "error: missing \"input\": the arguments of f as a string, e.g. \"3, 'a'\""
    return CodeEnv.proposal_text(program, [inp if isinstance(inp, str) else repr(inp)])
