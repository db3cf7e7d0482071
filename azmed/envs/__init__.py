"""Environments: each adapts a source of truth (the clinical simulator, a Python executor) to
the protocol in `azmed.envs.base`, which is all the self-play trainer and the evaluation see.

Adding an environment is one module (a subclass of `Environment` with its `Config`) plus one
line in `ENVIRONMENTS`; `azmed train` then accepts `envs.<name>.*` settings for it, and
`azmed train --help-config` lists its options. Modules are imported only when used.
"""

from __future__ import annotations

import importlib

from azmed.envs.base import EnvConfig, Environment, Rejection, Task, Verdict

__all__ = ["ENVIRONMENTS", "EnvConfig", "Environment", "Rejection", "Task", "Verdict", "env_class", "make_env"]

ENVIRONMENTS: dict[str, str] = {
    "clinical": "azmed.envs.clinical:ClinicalEnv",
    "code": "azmed.envs.code:CodeEnv",
}


def env_class(name: str) -> type[Environment]:
    """The environment class registered as `name`."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r}: choose one of {', '.join(ENVIRONMENTS)}")
    module, _, cls = ENVIRONMENTS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_env(name: str, **options) -> Environment:
    """Build the environment registered as `name` with its options (checked by its `Config`)."""
    return env_class(name)(**options)
