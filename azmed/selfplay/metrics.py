"""What a self-play step records: per-group figures for `metrics.jsonl` and the console line
(the files themselves are written by `azmed.runs.RunLog`).

    groups = summarise_groups(outcomes)            # {"clinical/diagnosis/solve": {...}, ...}
    print(console_line(record, total_steps))        # step 00010/00200 (5.00%) | solve acc: ...

A step's record (see `summarise_groups`) holds, per (environment, task type, role) group:
reward, accuracy (solver), formatted rate, valid-proposal and duplicate rates with rejection
reasons counted (proposer), the learnability histogram (solve rates of valid proposals), mean
response length, why unusable answers were unusable (solver); the curriculum (`curriculum`:
where the solver's tasks came from, what the proposer made); per buffer its size and the novelty
of this step's valid proposals; and the step's time split (generate / validate / verify /
update), tokens generated and tokens/s, and the process's memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from azmed.runs import step_line


@dataclass
class Outcome:
    """One role's result on one task or proposal, as the metrics see it."""

    group: tuple[str, str, str]  # (env, task_type, role)
    reward: float
    response_tokens: int
    correct: bool | None = None      # solver
    formatted: bool | None = None    # solver
    valid: bool | None = None        # proposer
    reason: str | None = None        # proposer: rejection reason; solver: why an answer was unusable
    solve_rate: float | None = None  # proposer: MC solve rate of a valid task
    source: str | None = None        # solver: where the task came from (proposed, seed, simulator)
    target: str | None = None        # proposer: the diagnosis or calculator of a valid task
    extra: dict[str, Any] = field(default_factory=dict)


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def summarise_groups(outcomes: Iterable[Outcome]) -> dict[str, dict[str, Any]]:
    """Per-group figures of a step, keyed "env/task_type/role".

    >>> s = summarise_groups([Outcome(("c", "dx", "solve"), 1.0, 3, correct=True, formatted=True),
    ...                       Outcome(("c", "dx", "solve"), -0.5, 9, correct=False, formatted=False)])
    >>> s["c/dx/solve"]["accuracy"], s["c/dx/solve"]["formatted"], s["c/dx/solve"]["reward"]
    (0.5, 0.5, 0.25)
    """
    by: dict[tuple, list[Outcome]] = {}
    for o in outcomes:
        by.setdefault(o.group, []).append(o)
    out: dict[str, dict[str, Any]] = {}
    for g, items in by.items():
        rec: dict[str, Any] = {"n": len(items), "reward": _mean([o.reward for o in items]),
                               "response_len": _mean([o.response_tokens for o in items])}
        if g[2] == "solve":
            rec["accuracy"] = _mean([float(bool(o.correct)) for o in items])
            rec["formatted"] = _mean([float(bool(o.formatted)) for o in items])
            reasons = Counter(o.reason for o in items if not o.formatted and o.reason)
            if reasons:
                rec["format_failures"] = dict(reasons)
            wrong_inputs = sum(o.reason == "wrong-input" for o in items)
            if wrong_inputs:  # a result within tolerance from misread inputs (envs.clinical.grade_inputs)
                rec["wrong_inputs"] = wrong_inputs
        else:
            rec["valid"] = _mean([float(bool(o.valid)) for o in items])
            rec["duplicate"] = _mean([float(o.reason == "duplicate") for o in items])
            rec["rejections"] = dict(Counter(o.reason for o in items if not o.valid and o.reason))
            rates = [o.solve_rate for o in items if o.valid and o.solve_rate is not None]
            rec["learnability_hist"] = {f"{p:g}": c for p, c in sorted(Counter(round(r, 3) for r in rates).items())}
            rec["learnable"] = _mean([float(0 < r < 1) for r in rates])
        out["/".join(g)] = rec
    return out


SOURCES = ("proposed", "seed", "simulator")


def curriculum(outcomes: Iterable[Outcome]) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, Any]]]:
    """(`solve_sources`, `proposals`) of a step, keyed "env/task_type": where the solver's trained
    answers came from (counts; they add up to the solver batch), and what the proposer made: the
    valid rate, the share of valid proposals in the learnability band (0 < p < 1), how many
    distinct diagnoses or calculators they name (`targets` counts each), duplicates, and the
    histogram of solve rates.

    >>> src, props = curriculum([Outcome(("c", "dx", "solve"), 1, 3, True, True, source="proposed"),
    ...                          Outcome(("c", "dx", "propose"), 0.5, 9, valid=True, solve_rate=0.5, target="E11.10"),
    ...                          Outcome(("c", "dx", "propose"), -0.5, 9, valid=False, reason="duplicate")])
    >>> src["c/dx"], props["c/dx"]["valid"], props["c/dx"]["in_band"], props["c/dx"]["duplicates"]
    ({'proposed': 1, 'seed': 0, 'simulator': 0}, 0.5, 1.0, 1)
    """
    sources: dict[str, dict[str, int]] = {}
    props: dict[str, list[Outcome]] = {}
    for o in outcomes:
        key = "/".join(o.group[:2])
        if o.group[2] == "solve":
            row = sources.setdefault(key, dict.fromkeys(SOURCES, 0))
            row[o.source or "proposed"] = row.get(o.source or "proposed", 0) + 1
        elif o.group[2] == "propose":
            props.setdefault(key, []).append(o)
    proposals: dict[str, dict[str, Any]] = {}
    for key, items in props.items():
        valid = [o for o in items if o.valid]
        rates = [o.solve_rate for o in valid if o.solve_rate is not None]
        targets = Counter(o.target for o in valid if o.target)
        proposals[key] = {
            "n": len(items), "valid": _mean([float(bool(o.valid)) for o in items]),
            "in_band": _mean([float(0 < r < 1) for r in rates]), "distinct": len(targets),
            "duplicates": sum(o.reason == "duplicate" for o in items),
            "learnability_hist": {f"{p:g}": c for p, c in sorted(Counter(round(r, 3) for r in rates).items())},
            "targets": dict(targets)}
    return sources, proposals


def overall(groups: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Step-level figures weighted by group size: solver accuracy, valid and duplicate rates.

    >>> overall({"c/dx/solve": {"n": 2, "accuracy": 1.0}, "c/calc/solve": {"n": 6, "accuracy": 0.0}})["solve_acc"]
    0.25
    """
    def weighted(role: str, key: str) -> float | None:
        rows = [(g["n"], g[key]) for name, g in groups.items() if name.endswith("/" + role) and g.get(key) is not None]
        total = sum(n for n, _ in rows)
        return round(sum(n * v for n, v in rows) / total, 4) if total else None

    return {"solve_acc": weighted("solve", "accuracy"), "valid": weighted("propose", "valid"),
            "dup": weighted("propose", "duplicate")}


def console_line(record: dict[str, Any], total_steps: int) -> str:
    """One greppable line per step (`azmed.runs.step_line`)."""
    o, t = record["overall"], record["time"]

    def f(v, spec=".2f"):
        return "-" if v is None else format(v, spec)

    fields = {"solve acc": f(o["solve_acc"]), "valid": f(o["valid"]), "dup": f(o["dup"]),
              "loss": f(record["update"].get("loss"), ".4f"), "dt": f"{t['total']:.1f}s",
              "tok/s": f"{record['tokens']['per_s']:.0f}"}
    if record.get("phase") == "warmup":
        fields = {"warm-up on demonstrations": str(sum(g["n"] for g in record["groups"].values())),
                  "nll": f(record["update"].get("nll"), ".4f"), "dt": fields["dt"]}
    if record.get("memory", {}).get("peak_rss_mb"):
        fields["peak rss"] = f"{record['memory']['peak_rss_mb']} MB"
    return step_line(record["step"], total_steps, fields)
