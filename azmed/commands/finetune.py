"""`azmed finetune`: supervised fine-tuning of a LoRA adapter on real cases (azmed.finetune).

    azmed finetune --data cases.jsonl [--from-adapter DIR] [--config configs/finetune.yaml]
                   [--eval-fraction 0.2] [--strict] [key=value ...]
    azmed finetune --resume runs/20250101-120000-finetune-cases
    azmed finetune --help-config                                 # every setting, with its default

Prints one line per logged step and the run folder; exit 0 when the adapter is saved, 2 for
bad input (file, config, adapter) with a one-line reason, 130 when interrupted (the last
checkpoint stays, and --resume continues from it).
"""

from __future__ import annotations

import argparse

from azmed.commands.common import fail


def run(args: argparse.Namespace) -> int:
    from azmed.config import ConfigError, describe, help_text
    from azmed.finetune.config import FinetuneConfig, load_config
    from azmed.real_cases import RealCaseError

    if args.help_config:
        print(help_text("Settings of `azmed finetune` (YAML keys, or dotted overrides such as trainer.lr=1e-4):",
                        [("Fine-tuning config", describe(FinetuneConfig))]), end="")
        return 0
    try:
        if args.resume:
            if args.config or args.overrides or args.eval_fraction is not None or args.from_adapter:
                return fail("--resume continues a run with its saved config, data and starting adapter: leave out "
                            "--config, --eval-fraction, --from-adapter and key=value overrides")
            cfg = None
        else:
            cfg = load_config(args.config, args.overrides, flags={"data.eval_fraction": args.eval_fraction})
    except ConfigError as exc:
        return fail(str(exc))

    from azmed.finetune.trainer import FinetuneError, finetune
    from azmed.model import ModelError

    try:
        result = finetune(cfg, args.data, from_adapter=args.from_adapter, strict=args.strict, resume=args.resume)
    except (RealCaseError, ConfigError, FinetuneError, ModelError) as exc:
        return fail(str(exc))
    report = result.report
    print(f"[finetune] done: adapter {report['adapter']}; report {result.run_dir / 'report.md'}")
    if report["data"]["rows_skipped"]:
        print(f"[finetune] {report['data']['rows_skipped']} bad rows were skipped (listed in the report; "
              "--strict stops at the first)")
    return 0
