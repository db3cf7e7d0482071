"""A run folder's state, running / finished / stopped: what the trainer writes to status.json and
what a reader concludes, including for folders written without it (the shipped results, older
runs) and for runs killed before they could say anything."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

from azmed.run_status import ACTIVE_SECONDS, STATUS, read_status, run_state, tracked, update_status, write_status
from tests.conftest import ROOT

SHIPPED = ROOT / "docs" / "results" / "clinical"


def _metrics(run, steps):
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text("trainer:\n  steps: 4\n")
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, steps + 1)))


def test_tracked_run_says_running_then_finished(tmp_path):
    run = tmp_path / "run"
    _metrics(run, 2)
    with tracked(run, steps=4):
        status = read_status(run)
        assert status["state"] == "running" and status["pid"] == os.getpid()
        assert status["host"] == socket.gethostname() and status["steps"] == 4
        assert run_state(run) == run_state(run) and run_state(run).state == "running"
        assert "2 of 4 steps" in run_state(run).detail
        update_status(run, phase="held-out check")
        assert read_status(run)["phase"] == "held-out check" and read_status(run)["pid"] == os.getpid()
    assert read_status(run)["state"] == "finished" and "ended" in read_status(run)
    assert run_state(run).state == "finished"
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.parametrize("error,reason", [(KeyboardInterrupt(), "interrupted"), (RuntimeError("disk full"),
                                                                                  "RuntimeError: disk full")])
def test_a_run_that_raises_is_stopped_with_the_reason(tmp_path, error, reason):
    with pytest.raises(type(error)):
        with tracked(tmp_path, steps=4):
            raise error
    state = run_state(tmp_path)
    assert state.state == "stopped" and reason in state.detail and read_status(tmp_path)["reason"].startswith(reason)


def test_a_killed_run_is_stopped_once_its_process_is_gone(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    _metrics(tmp_path, 3)
    write_status(tmp_path, "running", pid=child.pid, host=socket.gethostname(), steps=4)
    state = run_state(tmp_path)
    assert state.state == "stopped" and f"process {child.pid} is gone" in state.detail


def test_a_run_on_another_machine_is_running_while_it_writes(tmp_path):
    _metrics(tmp_path, 3)
    write_status(tmp_path, "running", pid=1, host="elsewhere.example", steps=4)
    assert run_state(tmp_path).state == "running"
    later = time.time() + ACTIVE_SECONDS + 60
    assert run_state(tmp_path, now=later).state == "stopped"


def test_the_shipped_run_is_finished():
    """docs/results/clinical keeps the run's status.json (finished), and its state never ages."""
    assert (SHIPPED / STATUS).is_file() and (SHIPPED / "heldout.json").is_file()
    state = run_state(SHIPPED)
    assert state == run_state(SHIPPED, now=time.time() + 10 * ACTIVE_SECONDS)
    steps = len((SHIPPED / "metrics.jsonl").read_text().splitlines())
    total = yaml.safe_load((SHIPPED / "config.yaml").read_text())["trainer"]["steps"]
    assert state.state == "finished" and state.detail.startswith(f"{steps} of {total} steps")


def test_a_run_folder_without_status_is_judged_by_its_files(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(SHIPPED, run)
    for name in (STATUS, "heldout.json"):  # a folder as older versions wrote it: no status, no result
        (run / name).unlink()
    shutil.rmtree(run / "adapter")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["trainer"]["steps"] = len((run / "metrics.jsonl").read_text().splitlines())
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert run_state(run).state == "finished"  # every step the config asks for is logged
    _metrics(run, 2)
    assert run_state(run).state == "running"   # changed just now
    assert run_state(run, now=time.time() + ACTIVE_SECONDS + 1).state == "stopped"
    (run / "adapter").mkdir()
    (run / "adapter" / "adapter_config.json").write_text("{}")
    assert run_state(run, now=time.time() + ACTIVE_SECONDS + 1).state == "finished"


def test_status_state_must_be_known(tmp_path):
    with pytest.raises(ValueError, match="running, finished or stopped"):
        write_status(tmp_path, "paused")
