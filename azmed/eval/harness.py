"""The evaluation harness: the suite registry, the batched generation loop, per-item records
(JSONL) and the per-suite summary.

    from azmed.eval.config import EvalConfig
    from azmed.eval.harness import SUITES, evaluate, make_suite
    summary = evaluate(["medcalc", "agentclinic"], EvalConfig(limit=10), out="base.json")
    run = run_suite(make_suite("medcalc"), policy, limit=5, batch_size=8, max_batch_tokens=24_000)
    run.summary, run.records                            # one suite, without writing anything
    summary["medcalc"]["accuracy"]                      # headline: {"n": ..., "accuracy": ...}
    summary["suites"]["medcalc"]["groups"]["calculator"]  # everything: metrics, groups, timings

A suite (subclass of `Suite`) says which items it has, the prompt for an item, how to score a
model's answer to it (pure functions, testable without a model) and how to summarise its
records; the harness does the rest for every suite the same way:
- prompts are chat-formatted, sorted by token length and cut into batches of `batch_size`
  (fewer when the longest prompt times the batch exceeds `max_batch_tokens`), so padding is
  small and a long patient note never exhausts memory;
- generation is greedy (`azmed.generation.generate`, temperature 0): pass@1 for code,
  reproducible for everything else; a progress bar counts items;
- every item becomes one JSON line beside the summary (`<out stem>.<suite>.jsonl`): the
  prompt, the raw answer, what was parsed from it, the truth, correct or not and why, so a
  person can see why an item failed.

Registry: `SUITES` maps a suite name to "module:Class"; the module is imported only when the
suite runs, so `azmed eval --compare` never imports torch. A suite's options are the block of
`EvalConfig` named like it (`sim-heldout` -> `sim_heldout`). An environment names its held-out
suite (`Environment.heldout_suite`), which the end of a training run scores.

Limits: one process, one model; suites run one after another.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

from azmed.envs.base import Environment, Verdict
from azmed.eval.config import EvalConfig
from azmed.runs import progress_bar, write_json_atomic, write_jsonl

SUITES: dict[str, str] = {
    "sim-heldout": "azmed.eval.sim_heldout:SimHeldoutSuite",
    "medcalc": "azmed.eval.medcalc:MedCalcSuite",
    "agentclinic": "azmed.eval.agentclinic:AgentClinicSuite",
    "code-heldout": "azmed.eval.code_heldout:CodeHeldoutSuite",
    "humaneval": "azmed.eval.humaneval:HumanEvalSuite",
    "real-cases": "azmed.eval.real_cases:RealCaseSuite",
}


class SuiteDataError(ValueError):
    """A suite cannot build its items: a data file is missing or malformed, or a suite setting
    cannot be used; the message names the file, line or setting, and the fix."""


@dataclass(frozen=True)
class Item:
    """One thing to ask the model. `groups` are the keys its accuracy is broken down by
    (e.g. {"calculator": "Anion Gap", "category": "lab"})."""

    id: str
    data: Any
    truth: Any
    groups: dict[str, str] = field(default_factory=dict)


def scored(verdict: Verdict, **extra: Any) -> dict[str, Any]:
    """A suite's score for one answer, as record fields: parsed, correct, formatted, reason."""
    return {"parsed": verdict.parsed, "correct": bool(verdict.correct), "formatted": bool(verdict.formatted),
            "reason": verdict.why, **extra}


class Suite:
    """Base class of an evaluation suite. Subclasses set `name`, `group_keys` and implement
    `items`, `prompt` and `score`; `score_many`, `summarise` and `close` have defaults."""

    name: ClassVar[str] = ""
    group_keys: ClassVar[tuple[str, ...]] = ()
    # Text after which an answer is complete (generation of that answer stops there).
    stop_strings: ClassVar[tuple[str, ...]] = ()
    # How the suite can ask: "direct" (answer the value) and, for some, "tools" (one calculator call).
    settings: ClassVar[tuple[str, ...]] = ("direct",)

    def __init__(self, options, setting: str = "direct") -> None:
        if setting not in self.settings:
            raise SuiteDataError(f"the {self.name} suite has no {setting!r} setting; it offers {', '.join(self.settings)}")
        self.options = options
        self.setting = setting

    @classmethod
    def from_config(cls, cfg: EvalConfig, setting: str = "direct") -> "Suite":
        return cls(cfg.suite_options(cls.name), setting)

    @property
    def label(self) -> str:
        """The suite's name in results: 'medcalc', or 'medcalc-tools' for its tools setting."""
        return self.name if self.setting == "direct" else f"{self.name}-{self.setting}"

    @property
    def max_new_tokens(self) -> int:
        if self.setting == "tools":
            return self.options.tools_max_new_tokens
        return self.options.max_new_tokens

    def items(self, limit: int | None = None) -> list[Item]:
        raise NotImplementedError

    def prompt(self, item: Item) -> str:
        """The user message for `item` (the harness adds the chat template)."""
        raise NotImplementedError

    def guide(self, item: Item):
        """A guide that keeps the answer to `item` inside a grammar (see `azmed.generation`), or None."""
        return None

    def score(self, item: Item, answer: str) -> dict[str, Any]:
        """Record fields for one answer, normally `scored(verdict, ...)`."""
        raise NotImplementedError

    def score_many(self, items: Sequence[Item], answers: Sequence[str]) -> list[dict[str, Any]]:
        return [self.score(i, a) for i, a in zip(items, answers)]

    def summarise(self, records: Sequence[dict]) -> dict[str, Any]:
        """Accuracy and formatted rate overall and per group key."""
        return {"metrics": {"accuracy": mean(r["correct"] for r in records),
                            "formatted": mean(r["formatted"] for r in records)},
                "groups": group_rates(records, self.group_keys, "correct")}

    def close(self) -> None:
        """Release what the suite started (a sandbox pool)."""


class EnvSuite(Suite):
    """A suite over an environment's own held-out tasks: the environment (`make_env`) is built
    on first use, the prompt is its solver prompt and `close` releases it (and its sandbox)."""

    def __init__(self, options, setting: str = "direct") -> None:
        super().__init__(options, setting)
        self._env: Environment | None = None

    def make_env(self) -> Environment:
        raise NotImplementedError

    @property
    def env(self) -> Environment:
        if self._env is None:
            self._env = self.make_env()
        return self._env

    def prompt(self, item: Item) -> str:
        return self.env.solve_prompt(item.data)

    def guide(self, item: Item):
        return self.env.solve_guide(item.data)

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
        self._env = None


@functools.lru_cache(maxsize=1)
def shared_simulator():
    """The simulator over the installed packs, loaded once per process for every suite that
    matches answers through its synonym tables."""
    from simulator.core import Simulator

    return Simulator.load()


def mean(values) -> float:
    values = list(values)
    return round(sum(bool(v) for v in values) / len(values), 4) if values else 0.0


def group_rates(records: Sequence[dict], keys: Sequence[str], flag: str) -> dict[str, dict[str, dict]]:
    """{key: {group value: {"n", "accuracy"}}} of the boolean field `flag`, groups sorted by name."""
    out: dict[str, dict[str, dict]] = {}
    for key in keys:
        by: dict[str, list[bool]] = defaultdict(list)
        for r in records:
            by[str(r["groups"].get(key, "?"))].append(bool(r[flag]))
        out[key] = {g: {"n": len(v), "accuracy": mean(v)} for g, v in sorted(by.items())}
    return out


def suite_class(name: str) -> type[Suite]:
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; choose from {', '.join(SUITES)}")
    module, _, cls = SUITES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_suite(name: str, cfg: EvalConfig | None = None, setting: str = "direct") -> Suite:
    """The suite `name` built from its options in `cfg` (defaults when None), asking in `setting`."""
    return suite_class(name).from_config(cfg or EvalConfig(), setting)


def suites_in_settings(names: Sequence[str], cfg: EvalConfig) -> list[Suite]:
    """The suites to run for `cfg.setting`: each suite in "direct", and suites that offer tools
    in "tools" too ("both") or instead ("tools"; suites without tools then run direct)."""
    wanted = {"direct": ("direct",), "tools": ("tools",), "both": ("direct", "tools")}[cfg.setting]
    out = []
    for name in names:
        offered = [s for s in wanted if s in suite_class(name).settings] or ["direct"]
        out += [make_suite(name, cfg, s) for s in offered]
    return out


# ---- the generation loop -----------------------------------------------------------------------

def plan_batches(lengths: Sequence[int], batch_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches of at most `batch_size` whose longest prompt
    times their size stays within `max_batch_tokens` (a single over-long prompt still runs).

    >>> plan_batches([5, 1, 3, 9], batch_size=2, max_batch_tokens=100)
    [[1, 2], [0, 3]]
    >>> plan_batches([50, 60, 70], batch_size=8, max_batch_tokens=130)
    [[0, 1], [2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        last = batches[-1] if batches else None
        if last is not None and len(last) < batch_size and lengths[i] * (len(last) + 1) <= max_batch_tokens:
            last.append(i)
        else:
            batches.append([i])
    return batches


def records_path(out: Path, suite: str) -> Path:
    """Where a suite's per-item records go: beside the summary, `<stem>.<suite>.jsonl`."""
    return out.with_name(f"{out.stem}.{suite}.jsonl")


@dataclass
class SuiteRun:
    """A suite's answers: its summary (what the summary JSON holds) and one record per item."""

    summary: dict[str, Any]
    records: list[dict[str, Any]]


def run_suite(suite: Suite, policy, *, limit: int | None, batch_size: int, max_batch_tokens: int,
              progress: bool = True, records_file: Path | None = None,
              items: Sequence[Item] | None = None) -> SuiteRun:
    """Generate and score every item of `suite` (or the given `items`); write its records to
    `records_file` when given; return its summary and records."""
    from azmed.generation import generate

    items = list(suite.items(limit) if items is None else items)
    prompts = [suite.prompt(it) for it in items]
    chats = [policy.chat(p) for p in prompts]
    guides = [suite.guide(it) for it in items]
    lengths = [len(policy.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in chats]
    records: list[dict | None] = [None] * len(items)
    bar = progress_bar(len(items), suite.label, "item", progress)
    t0 = time.perf_counter()
    gen_s = 0.0
    for idx in plan_batches(lengths, batch_size, max_batch_tokens):
        g0 = time.perf_counter()
        outs = generate(policy, [chats[i] for i in idx], max_new_tokens=suite.max_new_tokens,
                        temperature=0.0, batch_size=len(idx), stop_strings=suite.stop_strings or None,
                        guides=[guides[i] for i in idx])
        gen_s += time.perf_counter() - g0
        scores = suite.score_many([items[i] for i in idx], [o.text for o in outs])
        for i, out, score in zip(idx, outs, scores):
            it = items[i]
            records[i] = {"suite": suite.label, "index": i, "id": it.id, "groups": it.groups, "truth": it.truth,
                          "prompt": prompts[i], "raw_answer": out.text, "stopped": out.finished,
                          "completion_tokens": len(out.completion_ids), **score}
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    done: list[dict] = [r for r in records if r is not None]
    if records_file is not None:
        write_jsonl(records_file, done)
    summary = {"n": len(done), **suite.summarise(done)}
    summary.update({
        "records": str(records_file) if records_file is not None else None,
        "max_new_tokens": suite.max_new_tokens,
        "guided": sum(g is not None for g in guides),
        "hit_max_new_tokens": sum(1 for r in done if not r["stopped"]),
        "prompt_tokens_mean": round(sum(lengths) / len(lengths), 1) if lengths else 0.0,
        "seconds": round(seconds, 2), "generate_seconds": round(gen_s, 2),
        "items_per_second": round(len(done) / seconds, 3) if seconds > 0 else 0.0,
    })
    return SuiteRun(summary, done)


def evaluate(suite_names: Sequence[str], cfg: EvalConfig, out: str | Path, policy=None,
             log=print) -> dict[str, Any]:
    """Run `suite_names` on the model of `cfg` (or a loaded `policy`); write the summary JSON
    to `out` (rewritten after every suite, so a stopped run keeps what finished), the records
    beside it, and return the summary."""
    out = Path(out)
    suites = suites_in_settings(suite_names, cfg)
    summary: dict[str, Any] = {
        "model": cfg.model.name, "adapter": cfg.adapter,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": cfg.model_dump(), "suites": {}}
    try:
        # Every suite's data is read before the model loads, so a bad file fails in seconds.
        items = {s.label: s.items(cfg.limit) for s in suites}
        if policy is None:
            from azmed.model import load_policy

            policy = load_policy(cfg.model, adapter=cfg.adapter)
        for suite in suites:
            result = run_suite(suite, policy, limit=cfg.limit, batch_size=cfg.batch_size,
                               max_batch_tokens=cfg.max_batch_tokens, progress=cfg.progress,
                               records_file=records_path(out, suite.label), items=items[suite.label]).summary
            suite.close()
            summary["suites"][suite.label] = result
            # the headline figures at the top level too: {"sim-heldout": {"n": 300, "accuracy": ...}}
            summary[suite.label] = {"n": result["n"], **result["metrics"], "records": result.get("records")}
            write_json_atomic(out, summary)
            shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in result["metrics"].items())
            log(f"[eval] {suite.label}: n={result['n']} {shown} ({result['seconds']:.0f}s, "
                f"{result['items_per_second']:.2f} items/s)")
    finally:
        for s in suites:  # closing twice is harmless
            s.close()
    return summary
