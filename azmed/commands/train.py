"""`azmed train`: LoRA self-play training (propose + solve) on the registered environments
(azmed.selfplay).

    azmed train --config configs/clinical.yaml                  # the README's main command
    azmed train --env both --config configs/both.yaml trainer.lr=5e-5 run.out_dir=runs/both
    azmed train --resume runs/20250101-120000-clinical          # continue from the last checkpoint
    azmed train --help-config                                   # every setting, with its default
    accelerate launch --multi_gpu --num_processes 2 -m azmed.cli train --config configs/clinical-smoke.yaml
                                                                # data parallel (azmed.selfplay.distributed)

Prints one line per step (and a progress bar), the run folder, and at the end the held-out
comparison of the base model and the adapter. Exit 0 done, 2 for bad input (config key or
value, missing file, model that does not load) with a one-line reason, 130 when interrupted
(the last checkpoint stays, and --resume continues from it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from azmed.commands.common import fail

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "clinical.yaml"
ENV_ALIASES = {"both": ("clinical", "code")}


def run(args: argparse.Namespace) -> int:
    from azmed.config import ConfigError, describe, help_text
    from azmed.selfplay.config import TrainConfig, environment_options_help, load_config

    if args.help_config:
        print(help_text("Settings of `azmed train` (YAML keys, or dotted overrides such as trainer.lr=1e-5):",
                        [("Run config", describe(TrainConfig)), *environment_options_help()]), end="")
        return 0
    overrides = list(args.overrides)
    try:
        if args.resume:
            if args.config or args.env or args.init_adapter:
                return fail("--resume continues a run with its saved config: leave out --config, --env and "
                            "--init-adapter (key=value overrides, e.g. trainer.steps=400, are allowed)")
        else:
            flags = env_flags(args.env) if args.env else {}
            if args.init_adapter:
                flags["init_adapter"] = args.init_adapter
            config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
            cfg = load_config(config, overrides, flags=flags)
    except ConfigError as exc:
        return fail(str(exc))

    from azmed.model import ModelError
    from azmed.selfplay.trainer import SelfPlayTrainer

    try:
        trainer = SelfPlayTrainer.resume(args.resume, overrides) if args.resume else SelfPlayTrainer(cfg)
        result = trainer.train()
    except (ConfigError, ModelError) as exc:
        return fail(str(exc))
    print(f"[train] done: run folder {result['run_dir']}, adapter {result['adapter']}")
    return 0


def env_flags(value: str) -> dict[str, bool]:
    """`--env clinical`, `--env both`, `--env clinical,code` as `envs.<name>.enabled` flags for
    every registered environment."""
    from azmed.config import ConfigError
    from azmed.envs import ENVIRONMENTS

    chosen = [n for part in value.split(",") if part.strip() for n in ENV_ALIASES.get(part.strip(), [part.strip()])]
    unknown = [n for n in chosen if n not in ENVIRONMENTS]
    if unknown or not chosen:
        raise ConfigError(f"--env {value}: choose {', '.join(ENVIRONMENTS)}, both, or names joined by commas")
    return {f"envs.{name}.enabled": name in chosen for name in ENVIRONMENTS}
