"""Whether a run is running, finished or stopped: the trainer says so in `status.json`, and a
reader (the playground, a script) works it out from the run folder.

    with tracked(run_dir, steps=60):          # the trainer: "running" now, then "finished" or "stopped"
        ...train...
        update_status(run_dir, phase="held-out check")
    state = run_state(run_dir)                # RunState(state="finished", detail="60 of 60 steps; ...")

`status.json` is written atomically (a temporary file renamed into place), so a reader never
sees half of it:

    {"state": "running", "phase": "training", "steps": 60, "pid": 4242, "host": "lab-01",
     "started": "2026-11-21T09:25:40+00:00", "updated": "2026-11-21T09:25:40+00:00"}

`state` is "finished" once the adapter (and the held-out check) are written, and "stopped" with a
`reason` when the run raised or was interrupted. A run killed outright (SIGKILL, out of memory,
power) cannot write anything: its file still says "running", and `run_state` reads it as stopped
when the process is gone (same host) or when the run folder has not changed for
`ACTIVE_SECONDS` (another host).

Folders without `status.json` (runs written before it existed, fine-tuning runs, published
results such as docs/results/clinical, which keep config.yaml, metrics.jsonl and heldout.json)
are judged by what a finished run leaves: `heldout.json` (self-play's end-of-run check),
`report.json` (fine-tuning's report), an `adapter/` saved after the last step, or as many steps
logged as the config asks for.

Nothing here imports torch or Streamlit; only PyYAML to read the run's config.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

STATUS = "status.json"
ACTIVE_SECONDS = 900  # a run whose files changed this recently, and whose process we cannot see, is running
END_FILES = ("heldout.json", "report.json")  # written last by self-play and by fine-tuning


@dataclass(frozen=True)
class RunState:
    """`state` is "running", "finished" or "stopped"; `detail` says why, for a person."""

    state: str
    detail: str


# ---- writing (the trainer) ----------------------------------------------------------------------

def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_status(run_dir: Path, state: str, **facts: Any) -> dict[str, Any]:
    """Write status.json atomically: `state` plus `facts`, stamped with the time; returns it."""
    if state not in ("running", "finished", "stopped"):
        raise ValueError(f"state {state!r} must be running, finished or stopped")
    record = {"state": state, **facts, "updated": _now()}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{STATUS}.", dir=run_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, run_dir / STATUS)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return record


def update_status(run_dir: Path, state: str | None = None, **changes: Any) -> dict[str, Any]:
    """Rewrite status.json with `changes` (and a new `state` when given), keeping its other facts."""
    record = read_status(run_dir) or {}
    record.pop("updated", None)
    previous = record.pop("state", "running")
    return write_status(run_dir, state or previous, **{**record, **changes})


@contextlib.contextmanager
def tracked(run_dir: Path, **facts: Any) -> Iterator[None]:
    """Mark the run "running" (with this process's pid and host) for the duration of the block,
    then "finished", or "stopped" with the reason when the block raises (the error propagates)."""
    started = _now()
    write_status(run_dir, "running", phase="training", **facts, pid=os.getpid(), host=socket.gethostname(),
                 started=started)
    try:
        yield
    except KeyboardInterrupt:
        update_status(run_dir, "stopped", reason="interrupted (Ctrl+C); `azmed train --resume` continues it")
        raise
    except BaseException as exc:
        update_status(run_dir, "stopped", reason=f"{type(exc).__name__}: {exc}"[:500])
        raise
    update_status(run_dir, "finished", phase="done", ended=_now())


# ---- reading ------------------------------------------------------------------------------------

def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The run's status.json as a dict, or None when it is absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, run by another user
        return True
    except (OSError, OverflowError):
        return False
    return True


def _last_change(run: Path) -> float | None:
    times = []
    for name in ("metrics.jsonl", STATUS, "samples.jsonl"):
        try:
            times.append((run / name).stat().st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def _steps(run: Path) -> tuple[int | None, int | None]:
    """(last step logged, steps the config asks for); None where unknown."""
    last = None
    try:
        lines = (run / "metrics.jsonl").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            last = record["step"]
            break
    try:
        config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
        total = config["trainer"]["steps"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        total = None
    return last, total if isinstance(total, int) else None


def _progress(run: Path) -> str:
    last, total = _steps(run)
    if last is None:
        return "no step logged yet"
    return f"{last} of {total} steps" if total else f"{last} steps"


def _ago(seconds: float) -> str:
    minutes = seconds / 60
    return f"{seconds:.0f} s" if minutes < 1 else f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def run_state(run_dir: Path, now: float | None = None) -> RunState:
    """Running, finished or stopped, from the run folder alone (see the module docstring)."""
    run = Path(run_dir)
    now = time.time() if now is None else now
    progress = _progress(run)
    status = read_status(run)
    changed = _last_change(run)
    quiet = None if changed is None else now - changed
    if status is not None:
        state = status.get("state")
        if state == "finished":
            return RunState("finished", f"{progress}; ended {status.get('ended') or status.get('updated', '')}".strip())
        if state == "stopped":
            return RunState("stopped", f"{progress}; {status.get('reason') or 'stopped before the end'}")
        if state == "running":
            pid, host = status.get("pid"), status.get("host")
            phase = status.get("phase") or "training"
            if isinstance(pid, int) and host == socket.gethostname():
                if _process_alive(pid):
                    return RunState("running", f"{progress}; {phase} (process {pid})")
                return RunState("stopped", f"{progress}; the training process {pid} is gone (killed, or out of "
                                "memory); `azmed train --resume` continues from the last checkpoint")
            if quiet is not None and quiet < ACTIVE_SECONDS:
                return RunState("running", f"{progress}; {phase} on {host or 'another machine'}")
            return RunState("stopped", f"{progress}; nothing written for {_ago(quiet or 0)} (on "
                            f"{host or 'another machine'})")
    end = next((name for name in END_FILES if (run / name).is_file()), None)
    if end is not None:
        return RunState("finished", f"{progress}; {end} written at the end of the run")
    adapter = run / "adapter" / "adapter_config.json"
    try:
        if adapter.stat().st_mtime >= (run / "metrics.jsonl").stat().st_mtime:
            return RunState("finished", f"{progress}; adapter saved after the last step")
    except OSError:
        pass
    last, total = _steps(run)
    if total is not None and last is not None and last >= total:
        return RunState("finished", f"{progress}: every step the config asks for is logged")
    if quiet is not None and quiet < ACTIVE_SECONDS:
        return RunState("running", f"{progress}; last written {_ago(quiet)} ago")
    return RunState("stopped", f"{progress}; nothing written for {_ago(quiet or 0)}")
