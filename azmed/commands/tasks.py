"""`azmed tasks export`: an environment's tasks as rows of prompt, answer and metadata, so that
AZ-Med's tasks can train a model in another framework (TRL, verifiers, your own loop).

    azmed tasks export --type calculation --n 500 --seed 1 --out calc.jsonl
    azmed tasks export --type diagnosis --n 200 --format lines --out dx.jsonl
    azmed tasks export --type calculation --setting direct --n 100 --out calc-direct.jsonl

Each row: `prompt` (the solver's prompt, exactly as self-play asks it; it never holds the
answer), `answer` (the hidden truth the environment computed), `demonstration` (a correct
answer written as the solver should write it, e.g. the calculator call), `env`, `task_type`,
`key`, `setting` and `meta` (pack, diagnosis or calculator, note style, the task's source).
Tasks come from the environment's own generator with training seeds (`sample_tasks`): the same
`--seed` gives the same rows, and none of them is a held-out task of `azmed eval`.

Limits: the clinical environment's tasks only change with `--format` and `--setting`; other
options take the environment's defaults (edit a training config's `envs.clinical.options` and
use the trainer for more).
"""

from __future__ import annotations

import json
import random
import sys

from azmed.commands.common import cannot_write, fail, open_out

HIDDEN_META = ("demo", "answer_text")  # the answer again: kept out of `meta`, given as `demonstration`


def run(args) -> int:
    from azmed.envs import ENVIRONMENTS, make_env

    if args.n < 1:
        return fail("--n must be at least 1")
    if args.env not in ENVIRONMENTS:
        return fail(f"unknown environment {args.env!r}; choose one of {', '.join(ENVIRONMENTS)}")
    options = {"case_format": args.format} if args.env == "clinical" and args.format else {}
    try:
        env = make_env(args.env, **options)
    except ValueError as exc:
        return fail(str(exc).splitlines()[0])
    try:
        if args.type not in env.task_types:
            return fail(f"the {args.env} environment has no task type {args.type!r}; it offers "
                        f"{', '.join(env.task_types)}")
        tasks = env.sample_tasks(args.type, args.n, random.Random(args.seed))
        if not tasks:
            return fail(f"the {args.env} environment makes no {args.type} tasks of its own to export")
        try:
            with open_out(args.out) as out:
                for task in tasks:
                    task = env.in_setting(task, args.setting) if args.setting else task
                    out.write(json.dumps(row(env, task, args.setting), ensure_ascii=False) + "\n")
        except OSError as exc:
            if args.out in ("-", ""):
                raise
            return cannot_write(args.out, exc)
    finally:
        env.close()
    if args.out != "-":
        print(f"wrote {len(tasks)} {args.type} tasks to {args.out}", file=sys.stderr)
    return 0


def row(env, task, setting: str | None) -> dict:
    """One exported task: what a trainer in any framework needs, and nothing of the answer in
    the prompt."""
    tools = bool(task.payload.get("tools"))
    return {"env": task.env, "task_type": task.task_type, "key": task.key,
            "setting": setting or ("tools" if tools else "direct"),
            "prompt": env.solve_prompt(task), "answer": task.answer, "demonstration": env.demonstration(task),
            "meta": {k: v for k, v in task.meta.items() if k not in HIDDEN_META}}
