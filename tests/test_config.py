"""One config mechanism for train, finetune and eval (azmed.config): the same key rules, flags
before overrides, errors that name where a value came from, `--help-config` on all three
commands, and one `ConfigError` class in the whole package."""

from __future__ import annotations

import ast
import json

import pytest
import yaml

from azmed.config import ConfigError, describe, load_config, set_key
from azmed.eval.config import EvalConfig
from azmed.finetune.config import FinetuneConfig
from azmed.selfplay.config import TrainConfig
from tests.conftest import ROOT, run_cli


def test_the_same_key_rules_for_every_command():
    # `-` and `_` are the same in a key; text settings keep the text as typed
    cfg = load_config(EvalConfig, overrides=["sim-heldout.n=12", "real-cases.jsonl=007", "model.threads=2"])
    assert (cfg.sim_heldout.n, cfg.real_cases.jsonl, cfg.model.threads) == (12, "007", 2)
    # a mapping given to a block is merged into it (the YAML's other keys stay)
    cfg = load_config(FinetuneConfig, ROOT / "configs" / "finetune.yaml", ["trainer={lr: 1.0e-5, epochs: 1}"])
    assert (cfg.trainer.lr, cfg.trainer.epochs, cfg.trainer.batch_size) == (1e-5, 1.0, 4)
    cfg = load_config(TrainConfig, None, ["envs.code={enabled: true}", "envs.code.options.timeout=3"])
    assert cfg.enabled_envs() == ["clinical", "code"] and cfg.envs["code"].options == {"timeout": 3}
    for model, key in ((TrainConfig, "trainer"), (FinetuneConfig, "trainer"), (EvalConfig, "medcalc")):
        with pytest.raises(ConfigError, match=f"{key} is a block of settings"):
            load_config(model, None, [f"{key}=3"])


def test_flags_are_typed_and_overrides_win():
    cfg = load_config(FinetuneConfig, None, ["data.eval_fraction=0.4"], flags={"data.eval_fraction": 0.3})
    assert cfg.data.eval_fraction == 0.4
    cfg = load_config(EvalConfig, flags={"model.name": "123", "limit": 5, "adapter": None})
    assert cfg.model.name == "123" and cfg.limit == 5 and cfg.adapter is None  # None = flag not given
    with pytest.raises(ConfigError, match=r"^flag limit=0: bad value for 'limit'"):
        load_config(EvalConfig, flags={"limit": 0})
    with pytest.raises(ConfigError, match=r"^override trainer.lr=-1: bad value for 'trainer.lr'"):
        load_config(TrainConfig, None, ["trainer.lr=-1"])


def test_environment_options_are_typed_and_checked_when_the_config_loads(tmp_path):
    with pytest.raises(ConfigError, match=r"envs.code.options: bad value for 'timeout'"):
        load_config(TrainConfig, None, ["envs.code.options.timeout=0"])
    with pytest.raises(ConfigError, match=r"envs.clinical.options: choicez: unknown setting"):
        load_config(TrainConfig, None, ["envs.clinical.options.choicez=3"])
    with pytest.raises(ConfigError, match="unknown environment 'lab'"):
        load_config(TrainConfig, None, ["envs.lab.enabled=true"])
    f = tmp_path / "run.yaml"
    f.write_text(yaml.safe_dump({"envs": {"clinical": {"options": {"choices": 0, "packs": ["cardiology"]}}}}))
    cfg = load_config(TrainConfig, f)
    assert cfg.envs["clinical"].options == {"choices": 0, "packs": ["cardiology"]} and cfg.envs["clinical"].enabled


def test_set_key_checks_every_part_of_the_key():
    data: dict = {}
    set_key(data, TrainConfig, "envs.clinical.task_types.diagnosis.solve", None, text="3")
    assert data == {"envs": {"clinical": {"task_types": {"diagnosis": {"solve": 3}}}}}
    with pytest.raises(ConfigError, match="unknown setting 'envs.clinical.task_types.diagnosis.slove'"):
        set_key(data, TrainConfig, "envs.clinical.task_types.diagnosis.slove", 3)
    with pytest.raises(ConfigError, match="trainer.lr is a single value"):
        set_key(data, TrainConfig, "trainer.lr.x", 3)


def test_the_eval_config_embeds_the_model_spec_with_its_system_prompt():
    cfg = load_config(EvalConfig, overrides=["model.system_prompt=Answer tersely."])
    assert cfg.model.system_prompt == "Answer tersely." and "system_prompt" in describe(EvalConfig)[4]


def test_an_adapter_in_a_run_folder_brings_its_model_and_system_prompt(tmp_path):
    from azmed.cli import build_parser
    from azmed.commands.eval import flag_values

    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"r": 8}))
    (run / "config.yaml").write_text(yaml.safe_dump({"model": {"name": "embedded", "system_prompt": "Be terse."}}))

    def config(*argv):
        args = build_parser().parse_args(["eval", "--suite", "medcalc", *argv])
        return load_config(EvalConfig, overrides=args.overrides, flags=flag_values(args))

    assert config("--adapter", str(run / "adapter")).model.system_prompt == "Be terse."
    assert config("--adapter", str(run / "adapter"), "model.system_prompt=Other.").model.system_prompt == "Other."
    assert config().model.system_prompt == EvalConfig().model.system_prompt


@pytest.mark.parametrize("command, keys", [
    ("train", ["trainer.lr (float) = 0.0001: ", "envs.<env>.task_types.<task_type>.solve (int) = 8: ",
               "envs.clinical.options.choices (int) = 0: ", "envs.code.options.timeout (float) = 2.0: "]),
    ("finetune", ["data.eval_fraction (float) = 0.2: ", "heldout.max_new_tokens (int) = 32: "]),
    ("eval", ["model.system_prompt (str) = ", "real_cases.jsonl (str | None) = None: ", "batch_size (int) = 16: "]),
])
def test_help_config_lists_every_setting(command, keys):
    r = run_cli(command, "--help-config")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert all(k in r.stdout for k in keys), r.stdout
    described = [line for line in r.stdout.splitlines() if line.startswith("  ")]
    assert all(not line.rstrip().endswith(":") for line in described)  # every key has a description


def test_one_config_error_class_in_the_package():
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "azmed").rglob("*.py")
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.ClassDef) and node.name == "ConfigError"]
    assert found == ["azmed/config.py"]
