"""End of a self-play run: score the base model and the trained adapter on the held-out suite of
every enabled environment (`Environment.heldout_suite`: sim-heldout for the clinical simulator,
code-heldout for the code executor) and on the suites `eval.suites` adds (the main config adds
MedCalc-Bench's dev rows, one per calculator), in the settings `eval.setting` asks for (direct,
tools or both), and print them side by side.

    from azmed.selfplay.heldout import compare_on_heldout
    compare_on_heldout(policy, cfg, run_dir, ["sim-heldout"])
    # writes heldout-base.json, heldout-adapter.json (and their per-item records) and heldout.json

The scoring is `azmed eval`'s own (`azmed.eval.harness.evaluate`, greedy decoding), so the
numbers equal those of
    azmed eval --suite sim-heldout --out base.json sim_heldout.n=N
    azmed eval --suite sim-heldout --adapter RUN/adapter --out adapter.json sim_heldout.n=N
with the run's model block. The run's `eval` settings (`n`, `task_types`, `max_new_tokens`,
`medcalc_per_calculator`) go to every suite whose options have that setting.

`heldout.json` holds {suite: {"n", "base", "adapter", "delta", "per_task_type", "per_pack",
"per_category"}} with accuracies in [0, 1] (the per-group tables hold the groups a suite
reports); a suite's tools setting is the entry `<suite>-tools`.

Limits: the base model is scored without any adapter, even when the run started from
`init_adapter`; a suite without an `accuracy` metric cannot be compared here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from azmed.config import load_config
from azmed.runs import RunFolder, write_json_atomic

GROUP_TABLES = (("task_type", "per_task_type"), ("pack", "per_pack"), ("category", "per_category"))


def heldout_eval_config(cfg, adapter: str | None, suites: Sequence[str]):
    """The `azmed eval` config of the end-of-run check: the run's model and eval settings."""
    from azmed.eval.config import EvalConfig

    e = cfg.eval
    wanted = {"n": e.n, "task_types": list(e.task_types), "max_new_tokens": e.max_new_tokens,
              "per_calculator": e.medcalc_per_calculator, "guided_calls": e.guided_calls,
              "guided_values": e.guided_values}
    data: dict[str, Any] = {"model": cfg.model.model_dump(), "adapter": adapter, "batch_size": e.batch_size,
                            "max_batch_tokens": e.max_batch_tokens, "progress": cfg.run.progress, "setting": e.setting}
    for suite in suites:
        block = EvalConfig.block_name(suite)
        fields = EvalConfig.model_fields[block].annotation.model_fields
        data[block] = {k: v for k, v in wanted.items() if k in fields}
    return load_config(EvalConfig, data=data)


def comparison(base: dict[str, Any], adapter: dict[str, Any]) -> dict[str, Any]:
    """Side-by-side accuracies (overall, per task type, per pack) of two results of one suite.

    >>> r = lambda a, t: {"n": 4, "metrics": {"accuracy": a}, "groups": {"task_type": {"diagnosis": {"n": 4, "accuracy": t}}}}
    >>> comparison(r(0.25, 0.25), r(0.5, 0.5))["delta"]
    0.25
    """
    out: dict[str, Any] = {"n": adapter["n"], "base": base["metrics"]["accuracy"],
                           "adapter": adapter["metrics"]["accuracy"]}
    out["delta"] = round(out["adapter"] - out["base"], 4)
    for key, name in GROUP_TABLES:
        rows = {}
        for g, a in adapter.get("groups", {}).get(key, {}).items():
            b = base.get("groups", {}).get(key, {}).get(g, {"accuracy": 0.0})
            rows[g] = {"n": a["n"], "base": b["accuracy"], "adapter": a["accuracy"],
                       "delta": round(a["accuracy"] - b["accuracy"], 4)}
        out[name] = rows
    return out


def comparison_table(c: dict[str, Any], suite: str = "sim-heldout") -> str:
    """The comparison as a plain-text table (accuracies in %)."""
    title = f"{suite} (n={c['n']})"
    lines = [f"{title:29s}base   adapter   delta",
             f"  {'all':28s} {100 * c['base']:5.1f}   {100 * c['adapter']:7.1f}   {100 * c['delta']:+5.1f}"]
    for _, name in GROUP_TABLES:
        for g, r in c.get(name, {}).items():
            label = f"{g} (n={r['n']})"
            lines.append(f"  {label:28s} {100 * r['base']:5.1f}   {100 * r['adapter']:7.1f}   "
                         f"{100 * r['delta']:+5.1f}")
    return "\n".join(lines)


def score_base(cfg, run_dir: Path, suites: Sequence[str], policy=None) -> dict[str, Any]:
    """Score the base model on `suites` (heldout-base.json) and return its suites. `policy` is
    used when it computes the base model itself (a fresh LoRA adapter, whose B matrices are 0,
    before the first update); otherwise the model is loaded afresh without an adapter."""
    from azmed.eval.harness import evaluate
    from azmed.memory import release_memory
    from azmed.model import load_policy

    log = lambda line: print(line, flush=True)  # noqa: E731
    log(f"[heldout] scoring the base model on {', '.join(suites)}")
    base_policy = policy if policy is not None else load_policy(cfg.model)
    out = evaluate(suites, heldout_eval_config(cfg, None, suites), RunFolder(run_dir).root / "heldout-base.json",
                   policy=base_policy, log=log)["suites"]
    del base_policy
    release_memory()
    return out


def compare_on_heldout(policy, cfg, run_dir: Path, suites: Sequence[str]) -> dict[str, Any]:
    """Score base (a fresh load of the model; or the run's heldout-base.json, written before
    training by `score_base`) and the trained `policy` on `suites`; write and print."""
    from azmed.eval.harness import evaluate

    folder = RunFolder(run_dir)
    log = lambda line: print(line, flush=True)  # noqa: E731
    log(f"[heldout] scoring the trained adapter (and the base model, unless scored already) on {', '.join(suites)}")
    scored = folder.root / "heldout-base.json"
    base = json.loads(scored.read_text(encoding="utf-8"))["suites"] if scored.is_file() else {}
    if any(label not in base for label in suites):
        base = score_base(cfg, run_dir, suites)
    trained = evaluate(suites, heldout_eval_config(cfg, str(folder.adapter), suites),
                       folder.root / "heldout-adapter.json", policy=policy, log=log)["suites"]
    result = {label: comparison(base[label], trained[label]) for label in trained if label in base}
    write_json_atomic(folder.heldout, result)
    for label in result:
        print(comparison_table(result[label], label), flush=True)
    return result
