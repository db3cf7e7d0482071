"""What the sandbox takes and gives: `Job`, `RunResult` and the pool's `SandboxConfig`.

    from azmed.sandbox import Job, Sandbox
    with Sandbox() as box:
        result = box.run(Job("def f(a):\\n    return a * 2", call="f(21)"))
    result.status, result.value     # ('ok', '42')

A job is a program (`code`, executed as a fresh module) and an optional `call`, a Python
expression evaluated in the program's namespace whose `repr` becomes the result's value.
Statuses: "ok"; "error" (the program raised, or crashed); "timeout" (over the wall-clock
or CPU limit); "out-of-memory" (over the memory limit); "violation" (a banned import, a
blocked system call or audit event, or output over the size limit -- its error then
starts with "output too large"; output is never silently truncated).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from azmed.sandbox.imports import BANNED_IMPORTS
from azmed.sandbox.protocol import OUTPUT_TOO_LARGE, STATUSES

Status = Literal["ok", "error", "timeout", "out-of-memory", "violation"]
assert set(STATUSES) == set(Status.__args__)  # one list of statuses, shared with the worker


@dataclass(frozen=True)
class Job:
    """One program run. `timeout` (wall-clock seconds) and `memory_mb` default to the
    sandbox's; `worker` pins the job to worker number `worker % workers` (two runs pinned to
    different workers run in interpreters with different hash seeds)."""

    code: str
    call: str | None = None
    timeout: float | None = None
    memory_mb: int | None = None
    worker: int | None = None


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: `value` is the `repr` of the call's result (None unless
    status is "ok" and there was a call), `stdout` what the program printed, `duration`
    the wall-clock seconds of the run, `error` what went wrong, for a person."""

    status: Status
    value: str | None
    stdout: str
    duration: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def output_too_large(self) -> bool:
        return self.status == "violation" and self.error.startswith(OUTPUT_TOO_LARGE)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        lines = [f"status: {self.status}"]
        if self.value is not None:
            lines.append(f"value: {self.value}")
        if self.stdout:
            lines.append("stdout:\n" + self.stdout.rstrip("\n"))
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(f"duration: {self.duration * 1000:.1f} ms")
        return "\n".join(lines)


def _default_workers() -> int:
    # One per core, and at least two: the determinism check needs two interpreters.
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class SandboxConfig(BaseModel):
    """Settings of a sandbox pool. Every limit applies to each run separately."""

    model_config = ConfigDict(extra="forbid")

    workers: int = Field(default_factory=_default_workers, ge=1,
                         description="warm worker processes (default: one per core, at least 2)")
    timeout: float = Field(2.0, gt=0, le=600, description="default wall-clock seconds per run")
    memory_mb: int = Field(256, ge=16, description="default memory (MB) a program may allocate")
    max_output_chars: int = Field(100_000, ge=100,
                                  description="most characters of stdout, and of the value's repr")
    max_code_chars: int = Field(200_000, ge=100, description="longest program (and call) accepted")
    recursion_limit: int = Field(3000, ge=100, le=50_000,
                                 description="Python recursion limit inside runs")
    banned_imports: list[str] = Field(default_factory=lambda: list(BANNED_IMPORTS),
                                      description="modules (dotted names) programs may not use; "
                                                  "an empty list turns the import check off")
    seccomp: bool = Field(True, description="load the seccomp filters in every run (the sandbox refuses to "
                                            "start without them unless allow_unconfined)")
    audit_hook: bool = Field(True, description="install the audit hook and import guard in every run")
    bwrap: Literal["auto", "on", "off"] = Field(
        "auto", description="run workers inside bubblewrap: 'auto' when `bwrap` works here, "
                            "'on' requires it, 'off' never")
    drop_privileges: bool = Field(True, description="when this process is root, runs take run_as_uid/run_as_gid, "
                                                    "no supplementary groups and no capabilities")
    run_as_uid: int = Field(65534, ge=1, description="uid of runs when this process is root (default: nobody)")
    run_as_gid: int = Field(65534, ge=1, description="gid of runs when this process is root (default: nogroup)")
    allow_unconfined: bool = Field(False, description="start even when a layer asked for above is missing "
                                                      "(listed in Sandbox.notes); never the default")
    pipeline_depth: int = Field(2, ge=1, le=8, description="jobs queued per worker at a time")
