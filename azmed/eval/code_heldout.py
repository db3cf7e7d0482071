"""The `code-heldout` suite: fixed-seed deduction and abduction triplets in the code
environment's own format, graded in the sandbox.

    azmed eval --suite code-heldout --model embedded --limit 20 --out base.json

Programs are drawn from a small seeded grammar (`program_for(rng)`): a pipeline of two to four
steps over a list of integers, a string or an integer (map, filter, sort, slice, rotate,
running sums, pairwise differences, character shifts, replacements, digit and bit loops...)
ending in a reduction (sum, max, length, count, the value itself). Item *i* uses
`random.Random(SEED + i)`, so the set never changes and self-play (whose tasks the model
proposes itself, starting from the identity program) never trains on it. Each triplet goes
through `CodeEnv.validate_many` -- the output is computed by running the program in the
sandbox, twice, and non-deterministic or failing programs are dropped -- and answers are
graded by `CodeEnv.verify_many`: deduction by exact value equality, abduction by running the
program on the proposed input. The solver's prompt is `CodeEnv.solve_prompt`, the same one
self-play trains.

Items alternate deduction and abduction (`--limit` keeps the balance); accuracy is reported
per task type and per program family (list, string, integer).

Limits: the grammar is small and programs are short; it measures whether tracing simple code
transfers, not general program understanding (HumanEval covers writing code).
"""

from __future__ import annotations

import itertools
import random
from typing import Any, Sequence

from azmed.envs.base import Task
from azmed.eval.harness import EnvSuite, Item, SuiteDataError, scored

SEED = 7_000_000
_BATCH = 64  # drafts validated together (one sandbox round)
TASK_TYPES = ("deduction", "abduction")
_WORDS = ("apple", "river", "stone", "clinic", "pulse", "garden", "signal", "orbit", "candle", "violet",
          "market", "planet", "silver", "forest", "number", "letter", "bridge", "window")


def _list_step(rng: random.Random) -> str:
    k, c, m = rng.randint(2, 5), rng.randint(-3, 6), rng.randint(2, 4)
    return rng.choice([
        f"b = [x * {k} + {c} for x in b]",
        f"b = [x for x in b if x % {m} == {rng.randrange(m)}]",
        "b = b[::-1]",
        "b = sorted(b)",
        "b = sorted(b, reverse=True)",
        f"b = b[{rng.randint(1, 2)}:]",
        f"b = b[{rng.randint(1, 3)}:] + b[:{rng.randint(1, 3)}]",
        "b = [y - x for x, y in zip(b, b[1:])]",
        f"b = [x % {m + 3} for x in b]",
        f"b = [x for x in b if x > {c}]",
        "t = 0\nout = []\nfor x in b:\n    t += x\n    out.append(t)\nb = out",
        f"b = [x if x % 2 == 0 else -x for x in b]",
    ])


def _list_end(rng: random.Random) -> str:
    d = rng.randint(-1, 3)
    return rng.choice(["return sum(b)", f"return max(b) if b else {d}", "return len(b)", "return b",
                       f"return b[0] if b else {d}", "return sum(x * x for x in b)",
                       f"return [x for x in b if x > {d}]"])


def _str_step(rng: random.Random) -> str:
    a, b = rng.sample("aeionrst", 2)
    k = rng.randint(1, 4)
    return rng.choice([
        "s = s[::-1]",
        "s = s.upper()",
        f"s = s.replace('{a}', '{b}')",
        f"s = s[{k}:] + s[:{k}]",
        f"s = ''.join(ch for ch in s if ch not in '{a}{b}')",
        f"s = s[::{rng.randint(2, 3)}]",
        f"s = ''.join(chr((ord(ch) - 97 + {k}) % 26 + 97) if ch.islower() else ch for ch in s)",
        "s = s.swapcase()",
        f"s = s + s[:{k}]",
        "s = ''.join(sorted(s))",
    ])


def _str_end(rng: random.Random) -> str:
    a = rng.choice("aeiorst")
    return rng.choice(["return s", "return len(s)", f"return s.count('{a}')", "return sorted(set(s))",
                       "return s[:3]", "return [ch for ch in s if ch in 'aeiou']"])


def _int_body(rng: random.Random) -> str:
    k, r, c = rng.randint(2, 5), rng.randint(0, 1), rng.randint(1, 4)
    return rng.choice([
        f"t = 0\nfor i in range(n):\n    if i % {k} == {r}:\n        t += i * {c}\nreturn t",
        "steps = 0\nwhile n > 1 and steps < 50:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    steps += 1\nreturn steps",
        f"return sum(int(d) for d in str(abs(n * {k} + {c})))",
        f"return bin(n * {k}).count('1')",
        f"a, b = {r}, {c}\nfor _ in range(n % 12):\n    a, b = b, a + b\nreturn a",
        f"return [i for i in range(1, n + 1) if n % i == 0][:{k + 1}]",
        f"return int(str(abs(n) + {c})[::-1])",
    ])


def program_for(rng: random.Random) -> tuple[str, str, str]:
    """(family, program text, input text) of one seeded program."""
    family = rng.choice(["list", "list", "string", "integer"])
    if family == "list":
        steps = [_list_step(rng) for _ in range(rng.randint(2, 3))]
        body = ["b = list(a)", *steps, _list_end(rng)]
        arg = "a"
        value = repr([rng.randint(-5, 20) for _ in range(rng.randint(4, 7))])
    elif family == "string":
        steps = [_str_step(rng) for _ in range(rng.randint(1, 3))]
        body = [*steps, _str_end(rng)]
        arg = "s"
        value = repr(rng.choice(_WORDS) + (rng.choice(_WORDS) if rng.random() < 0.3 else ""))
    else:
        body = [_int_body(rng)]
        arg = "n"
        value = repr(rng.randint(3, 40))
    lines = "\n".join("    " + ln for step in body for ln in step.split("\n"))
    return family, f"def f({arg}):\n{lines}", value


def heldout_triplets(env, n: int) -> list[tuple[str, Task]]:
    """`n` (family, Task) pairs alternating deduction and abduction. Seed SEED + j drafts a
    program for task type j % 2; drafts are validated by the code environment in batches and
    the first valid, distinct ones in seed order are kept, so a smaller `n` gives a prefix."""
    want = {"deduction": (n + 1) // 2, "abduction": n // 2}
    found: dict[str, list[tuple[str, Task]]] = {tt: [] for tt in TASK_TYPES}
    keys: set[str] = set()
    j = 0
    while any(len(found[tt]) < want[tt] for tt in TASK_TYPES):
        if j > 50 * n + 1000:
            raise SuiteDataError("the code environment rejects almost every held-out program: is the sandbox "
                                 "working here? (`azmed exec run` on a small program shows why)")
        batch = range(j, j + _BATCH)
        j += _BATCH
        for tt in TASK_TYPES:
            if len(found[tt]) >= want[tt]:
                continue
            drafts = [program_for(random.Random(SEED + k)) for k in batch if TASK_TYPES[k % 2] == tt]
            tasks = env.validate_many(tt, [env.proposal_text(prog, [arg]) for _, prog, arg in drafts])
            for (family, _, _), task in zip(drafts, tasks):
                if isinstance(task, Task) and task.key not in keys and len(found[tt]) < want[tt]:
                    keys.add(task.key)
                    found[tt].append((family, task))
    pairs = itertools.zip_longest(found["deduction"], found["abduction"])
    return [p for pair in pairs for p in pair if p is not None]


class CodeHeldoutSuite(EnvSuite):
    name = "code-heldout"
    # The closing fence of the answer block followed by a blank line: what comes after is prose.
    stop_strings = ("```\n\n",)
    group_keys = ("task_type", "family")

    def make_env(self):
        from azmed.envs.code import CodeEnv

        return CodeEnv(task_types=list(TASK_TYPES), timeout=self.options.timeout)

    def items(self, limit: int | None = None) -> list[Item]:
        n = min(limit, self.options.n) if limit else self.options.n
        return [Item(id=t.key, data=t, truth=t.answer, groups={"task_type": t.task_type, "family": fam})
                for fam, t in heldout_triplets(self.env, n)]

    def score_many(self, items: Sequence[Item], answers: Sequence[str]) -> list[dict[str, Any]]:
        verdicts = self.env.verify_many([it.data for it in items], list(answers))
        return [scored(v) for v in verdicts]

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        return self.score_many([item], [answer])[0]
