"""`azmed eval`: score a model or a LoRA adapter on held-out and external suites, or compare two
runs.

    azmed eval --suite medcalc --suite agentclinic --model embedded --limit 20 --out base.json
    azmed eval --suite sim-heldout --adapter runs/clinical/adapter --out adapter.json batch_size=32
    azmed eval --suite real-cases real_cases.jsonl=cases.jsonl --out cases.json
    azmed eval --compare base.json adapter.json
    azmed eval --help-config                  # every setting, with its type and default

Writes the summary JSON to --out (default `runs/eval/eval-<time>.json`), one JSONL of per-item
records per suite beside it (`<stem>.<suite>.jsonl`) and the Markdown table (`<stem>.md`),
which it also prints. Settings: the flags (`--model`, `--adapter`, `--limit`, `--setting`, `--batch-size`,
`--medcalc-csv`, `--agentclinic-jsonl`), then dotted overrides of
`azmed.eval.config.EvalConfig` (`model.device=cuda`, `medcalc.max_new_tokens=96`,
`humaneval.timeout=10`).

An adapter saved in a run folder is evaluated with that run's base model and system prompt
(`model.name`, `model.system_prompt` of its config.yaml), as it was trained; `--model` and
dotted overrides still win.

Exit codes: 0 done, 2 bad input (unknown suite, missing file, bad setting, model that does not
load), each with a one-line message saying what to fix.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from azmed.commands.common import fail


def run(args) -> int:
    from azmed.config import ConfigError, describe, help_text, load_config
    from azmed.eval.compare import SummaryError, compare_markdown, load_summary, summary_markdown
    from azmed.eval.config import EvalConfig

    if args.help_config:
        print(help_text("Settings of `azmed eval` (dotted overrides such as batch_size=32 or model.device=cuda):",
                        [("Evaluation config", describe(EvalConfig))]), end="")
        return 0
    if args.compare:
        if args.suite:
            return fail("--compare reads two finished runs; leave out --suite (or run the suites first)")
        try:
            print(compare_markdown(load_summary(args.compare[0]), load_summary(args.compare[1])), end="")
        except SummaryError as exc:
            return fail(str(exc))
        return 0

    from azmed.eval.harness import SUITES, SuiteDataError, evaluate
    from azmed.runs import default_run_dir

    names = list(dict.fromkeys(args.suite))
    if not names:
        return fail(f"name at least one suite with --suite (repeatable): {', '.join(SUITES)}")
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        return fail(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    try:
        cfg = load_config(EvalConfig, overrides=args.overrides, flags=flag_values(args))
    except ConfigError as exc:
        return fail(str(exc))
    out = Path(args.out) if args.out else default_run_dir("eval", "runs/eval").with_suffix(".json")
    if out.suffix != ".json":
        return fail(f"--out {out} must name a .json file (the records go beside it)")
    if cfg.adapter and not (Path(cfg.adapter).expanduser() / "adapter_config.json").is_file():
        return fail(f"--adapter {cfg.adapter} is not a LoRA adapter folder (no adapter_config.json): pass the "
                    "adapter/ folder of a training run")

    from azmed.model import ModelError
    from azmed.sandbox import SandboxError

    try:
        summary = evaluate(names, cfg, out, log=lambda line: print(line, file=sys.stderr, flush=True))
    except (SuiteDataError, ModelError, SandboxError, ConfigError) as exc:
        return fail(str(exc))
    summary["_path"] = str(out)
    table = summary_markdown(summary)
    out.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table, end="")
    print(f"wrote {out}, {out.with_suffix('.md')} and the per-item records beside them", file=sys.stderr)
    return 0


def flag_values(args) -> dict[str, Any]:
    """The command's flags as dotted config keys (None = not given); dotted overrides are
    applied after them. An adapter inside a run folder brings that run's model name and system
    prompt, which `--model` and overrides can still change."""
    values: dict[str, Any] = {}
    if getattr(args, "adapter", None):
        values.update(run_model_flags(args.adapter))
    values.update({"model.name": args.model, "adapter": args.adapter, "limit": args.limit,
                   "setting": getattr(args, "setting", None),
                   "batch_size": getattr(args, "batch_size", None),
                   "medcalc.csv": getattr(args, "medcalc_csv", None),
                   "agentclinic.jsonl": getattr(args, "agentclinic_jsonl", None)})
    return values


def run_model_flags(adapter: str) -> dict[str, Any]:
    """`model.name` and `model.system_prompt` of the run folder holding `adapter`, if any."""
    from azmed.runs import enclosing_run, run_config

    run = enclosing_run(adapter)
    model = run_config(run.root).get("model") if run is not None else None
    if not isinstance(model, dict):
        return {}
    return {f"model.{k}": model[k] for k in ("name", "system_prompt") if isinstance(model.get(k), str)}
