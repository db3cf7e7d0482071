"""The run config of `azmed train`: every shipped config loads, overrides are typed, and a bad
key or value fails with one line naming the key (azmed.selfplay.config, azmed train)."""

from pathlib import Path

import pytest

from azmed.config import apply_override, describe
from azmed.selfplay.config import ConfigError, TrainConfig, load_config
from tests.conftest import ROOT, run_cli

TRAIN_CONFIGS = ("clinical-smoke.yaml", "clinical.yaml", "code.yaml", "both.yaml", "gpu-example.yaml")
CONFIGS = [ROOT / "configs" / name for name in TRAIN_CONFIGS]


def test_the_shipped_configs_exist():
    assert all(p.is_file() for p in CONFIGS)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    cfg = load_config(path)
    assert cfg.enabled_envs()


def test_envs_of_the_shipped_configs():
    assert load_config(ROOT / "configs" / "code.yaml").enabled_envs() == ["code"]
    assert load_config(ROOT / "configs" / "both.yaml").enabled_envs() == ["clinical", "code"]
    gpu = load_config(ROOT / "configs" / "gpu-example.yaml")
    assert (gpu.model.device, gpu.model.dtype, gpu.rollout.backend) == ("cuda", "bfloat16", "auto")


def test_main_config_ends_with_a_check_outside_the_simulator_in_both_settings():
    cfg = load_config(ROOT / "configs" / "clinical.yaml")
    assert cfg.eval.at_end and "medcalc" in cfg.eval.suites and cfg.eval.setting == "both"
    assert cfg.trainer.time_budget_min and cfg.eval.reserve_min < cfg.trainer.time_budget_min


def test_dotted_overrides_are_parsed_as_yaml_scalars():
    cfg = load_config(None, ["trainer.lr=1e-5", "run.progress=false", "eval.task_types=[diagnosis]",
                             "envs.clinical.task_types.calculation.solve=3", "run.out_dir=runs/x"])
    assert cfg.trainer.lr == 1e-5
    assert cfg.run.progress is False
    assert cfg.eval.task_types == ["diagnosis"]
    assert cfg.envs["clinical"].task_types["calculation"].solve == 3
    assert cfg.run.out_dir == "runs/x"


def test_unknown_key_names_the_key_and_the_allowed_ones():
    with pytest.raises(ConfigError) as exc:
        load_config(None, ["trainer.lrr=1e-5"])
    msg = str(exc.value)
    assert "trainer.lrr" in msg and "lr" in msg and "grad_clip" in msg


def test_unknown_key_in_a_file_names_the_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("selfplay:\n  mc_rollout: 4\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f)
    msg = str(exc.value)
    assert "selfplay.mc_rollout" in msg and "mc_rollouts" in msg and str(f) in msg


@pytest.mark.parametrize("override, key", [
    ("trainer.lr=-1", "trainer.lr"),
    ("trainer.steps=many", "trainer.steps"),
    ("model.device=tpu", "model.device"),
    ("selfplay.invalid_penalty=0.5", "selfplay.invalid_penalty"),
    ("envs.clinical.task_types.diagnosis.keep=some", "envs.clinical.task_types.diagnosis.keep"),
])
def test_bad_value_names_the_key(override, key):
    with pytest.raises(ConfigError) as exc:
        load_config(None, [override])
    assert repr(key) in str(exc.value)


def test_override_without_equals_sign():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_override({}, "trainer.lr", TrainConfig)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_every_setting_has_a_description():
    lines = describe(TrainConfig)
    assert len(lines) > 40
    assert all(not line.endswith(": ") for line in lines), [line for line in lines if line.endswith(": ")]


def test_unknown_task_type_fails_before_the_model_loads(tmp_path):
    from azmed.selfplay.trainer import SelfPlayTrainer

    with pytest.raises(ConfigError) as exc:  # when the config loads
        load_config(None, ["envs.clinical.task_types.diagnosys.solve=2", f"run.out_dir={tmp_path / 'run'}"])
    assert "envs.clinical.task_types.diagnosys" in str(exc.value) and "diagnosis" in str(exc.value)
    # a known type that the environment's options switch off: when the environment is built
    cfg = load_config(None, ["envs.clinical.options.task_types=[diagnosis]", "envs.clinical.task_types.abduction.solve=2",
                             f"run.out_dir={tmp_path / 'run'}"])
    with pytest.raises(ConfigError, match="envs.clinical.task_types.abduction"):
        SelfPlayTrainer(cfg)


def test_cli_bad_key_exits_2_with_one_line(tmp_path):
    r = run_cli("train", "--config", ROOT / "configs" / "clinical-smoke.yaml", "trainer.bogus=1",
                f"run.out_dir={tmp_path / 'run'}")
    assert r.returncode == 2
    assert "trainer.bogus" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_cli_resume_of_a_folder_that_is_no_run(tmp_path):
    r = run_cli("train", "--resume", tmp_path)
    assert r.returncode == 2 and "no config.yaml" in r.stderr and "Traceback" not in r.stderr
