"""The clinical environment (see `azmed.envs.clinical.env`): the case simulator behind the
environment protocol. Modules: `config` (options, seed ranges), `tasks` (tasks from cases,
vignettes and specifications), `prompts` (what the solver and the proposer are asked), `edits`
(proposals that edit a reference case), `env` (the environment)."""

from azmed.envs.clinical.config import (HELDOUT_SEED_BASE, SETTINGS, TASK_TYPES, TRAIN_SEED_RANGE,
                                        ClinicalEnvConfig)
from azmed.envs.clinical.env import ClinicalEnv
from azmed.envs.clinical.prompts import tool_prompt

__all__ = ["HELDOUT_SEED_BASE", "SETTINGS", "TASK_TYPES", "TRAIN_SEED_RANGE", "ClinicalEnv", "ClinicalEnvConfig",
           "tool_prompt"]
