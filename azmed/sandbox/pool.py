"""`Sandbox`: a warm pool of worker processes that run untrusted Python programs.

    from azmed.sandbox import Job, Sandbox
    box = Sandbox(timeout=1.0)                   # or Sandbox(SandboxConfig(...))
    box.run(Job("def f(a):\\n    return a", call="f(3)")).value        # '3'
    box.run_many([Job(code, call=f"f({x})") for x in inputs])          # all workers at once
    box.layers                                   # e.g. ['rlimits', 'seccomp', 'unprivileged', ...]
    box.close()                                  # also at exit, or use `with Sandbox() as box:`

The pool starts on first use: one worker per core (at least two), each a `python -I -S`
interpreter running `azmed/sandbox/worker.py` (so programs see the standard library only),
inside bubblewrap when it is installed (`bwrap.py`). Every job runs in a child forked from a
warm worker (`child.py`). Before a job leaves this process it is parsed and checked against
the ban list (`imports.py`), so a syntax error or a banned import costs no fork.

**Fail closed.** The layers the configuration asks for (seccomp, the unprivileged identity
when this process is root, bubblewrap when `bwrap="on"`) are checked when the pool starts,
from what the first run of each worker reports about itself (its uid, groups, capabilities
and filters, read from /proc/self/status, and a socket that must kill it). When one is
missing, `start` raises `SandboxError` naming it and how to fix it, unless the
configuration says `allow_unconfined=True`; then it runs and `notes` says what is missing.

`run_many` keeps every worker busy and returns one result per job, in job order, never
None: see `dispatch.py` for how failing workers are replaced and their jobs re-run.

Limits: Linux only (fork, rlimits, seccomp, /proc). Use one pool per process: a pool made
before a fork is restarted, not shared, in the forked process. Calls from several threads
are serialised.
"""

from __future__ import annotations

import ast
import atexit
import functools
import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

from azmed.sandbox.bwrap import SANDBOX_DIR, bwrap_command, interpreter
from azmed.sandbox.dispatch import Dispatch, SandboxError, WorkerProcess
from azmed.sandbox.imports import find_banned_imports, runtime_ban_list
from azmed.sandbox.jobs import Job, RunResult, SandboxConfig
from azmed.sandbox.syscall_filter import Filters, compile_filters

WORKER_FILES = [Path(__file__).with_name(name) for name in ("worker.py", "child.py", "guard.py", "protocol.py")]
_GRACE = 3.0  # seconds a worker may take beyond a job's timeout before it is presumed stuck
_FIXES = {
    "seccomp": "install pyseccomp and the libseccomp2 system package (`pip install pyseccomp`, "
               "`apt-get install libseccomp2`)",
    "unprivileged": "run where this process may change uid and gid (CAP_SETUID, CAP_SETGID), "
                    "or set drop_privileges=False",
    "bwrap": "install bubblewrap (Debian: apt-get install bubblewrap) where it may create namespaces, "
             "or use bwrap='auto'",
}


def _check_source(source: str, mode: str, banned: tuple[str, ...]) -> RunResult | None:
    """A syntax error or banned import in a program ("exec") or call ("eval"), as a result.
    Cached for short texts: the same program is often run on many inputs."""
    if len(source) <= 8192:
        return _check_source_cached(source, mode, banned)
    return _check_source_uncached(source, mode, banned)


def _check_source_uncached(source: str, mode: str, banned: tuple[str, ...]) -> RunResult | None:
    where = "<program>" if mode == "exec" else "<call>"
    try:
        tree = ast.parse(source, where, mode=mode)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        line = f" ({where} line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        return RunResult("error", None, "", 0.0, f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}{line}")
    except (RecursionError, MemoryError):
        return RunResult("error", None, "", 0.0, f"{where} is nested too deeply to parse")
    found = find_banned_imports(tree, banned) if banned else []
    return RunResult("violation", None, "", 0.0, f"banned import: {found[0]}") if found else None


_check_source_cached = functools.lru_cache(maxsize=4096)(_check_source_uncached)


def _unprivileged_problem(status: dict, identity: tuple[int, int] | None) -> str:
    """'' when the probe run held no root identity and no capability, else what it held."""
    if not status:
        return "the probe run reported no identity"
    uids, gids = status.get("Uid", []), status.get("Gid", [])
    if identity is not None:
        if uids != [str(identity[0])] * 4 or gids != [str(identity[1])] * 4:
            return f"runs have uid {uids} and gid {gids}, not {identity[0]}/{identity[1]}"
        if status.get("Groups"):
            return f"runs keep supplementary groups {status['Groups']}"
    elif "0" in uids:
        return "runs have uid 0 (set drop_privileges=True)"
    for field in ("CapPrm", "CapEff", "CapAmb") + (("CapBnd", "CapInh") if identity else ()):
        value = status.get(field, ["?"])[0]
        if value.strip("0"):
            return f"runs hold capabilities ({field} {value})"
    return ""


class Sandbox:
    """A pool of warm sandbox workers; see the module docstring."""

    def __init__(self, config: SandboxConfig | None = None, **overrides) -> None:
        base = config.model_dump() if config is not None else {}
        self.config = SandboxConfig(**{**base, **overrides})
        self._banned = tuple(self.config.banned_imports)
        self._workers: list[WorkerProcess] = []
        self._lock = threading.RLock()
        self._owner = 0  # pid of the process that started the workers
        self._bwrap = False
        self._active: list[str] = []
        self._notes: list[str] = []
        self._missing: list[str] = []
        self._tmp: str | None = None
        self._init: dict = {}
        self._command: list[str] = []
        self._sequence = itertools.count(1)  # answer ids, unique over the pool's life

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Sandbox":
        """Start the workers now (otherwise the first run does); SandboxError when a layer the
        configuration asks for is missing (see `allow_unconfined`)."""
        with self._lock:
            if self._workers and self._owner == os.getpid():
                return self
            self._workers, self._notes, self._missing = [], [], []  # a forked copy must not share its parent's pipes
            self._owner = os.getpid()
            filters = compile_filters() if self.config.seccomp else Filters(b"", b"", "turned off (seccomp=False)")
            identity = ((self.config.run_as_uid, self.config.run_as_gid)
                        if self.config.drop_privileges and os.geteuid() == 0 else None)
            self._bwrap = self._want_bwrap()
            self._tmp = tempfile.mkdtemp(prefix="azmed-sandbox-")
            os.chmod(self._tmp, 0o755)  # runs may enter it (an unprivileged uid); nobody may write
            self._init = {"bpf_worker": filters.worker.hex(), "bpf_child": filters.child.hex(),
                          "banned": runtime_ban_list(self.config.banned_imports), "identity": identity,
                          "audit": self.config.audit_hook, "recursion_limit": self.config.recursion_limit,
                          "workdir": "/tmp/azmed-work" if self._bwrap else self._tmp}
            try:
                try:
                    self._workers = self._spawn(self.config.workers)
                except SandboxError as exc:
                    if not self._bwrap or self.config.bwrap == "on":
                        raise
                    self._notes.append(f"bwrap inactive: workers did not start inside it ({exc})")
                    self._bwrap = False
                    self._init["workdir"] = self._tmp
                    self._workers = self._spawn(self.config.workers)
                self._check_layers(filters, identity)
            except SandboxError:
                self.close()
                raise
            atexit.register(self.close)
        return self

    def _check_layers(self, filters: Filters, identity: tuple[int, int] | None) -> None:
        """Work out the active layers from the workers' probes; refuse to run without one asked for."""
        infos = [w.info for w in self._workers]
        active = ["rlimits"]
        seccomp_problem = filters.problem or next((i.get("seccomp_problem") or "inactive" for i in infos
                                                   if not i.get("seccomp")), "")
        if seccomp_problem:
            self._notes.append(f"seccomp inactive: {seccomp_problem}")
        else:
            active.append("seccomp")
        privileges = ("turned off (drop_privileges=False)" if not self.config.drop_privileges
                      else next((p for p in (_unprivileged_problem(i.get("status", {}), identity) for i in infos) if p),
                                ""))
        for info in infos:
            for what, problem in (info.get("problems") or {}).items():
                privileges = privileges or problem
        if privileges:
            self._notes.append(f"unprivileged inactive: {privileges}")
        else:
            active.append("unprivileged")
        if self.config.banned_imports:
            active.append("ast-import-check")
        if self.config.audit_hook:
            active.append("audit-hook")
        if self._bwrap:
            active.append("bwrap")
        asked = ["seccomp"] * self.config.seccomp + ["unprivileged"] * self.config.drop_privileges \
            + ["bwrap"] * (self.config.bwrap == "on")
        self._active = active
        self._missing = [layer for layer in asked if layer not in active]
        if self._missing and not self.config.allow_unconfined:
            reasons = "; ".join(note for note in self._notes if note.split(" ")[0] in self._missing)
            fixes = "; ".join(f"for {layer}: {_FIXES[layer]}" for layer in self._missing)
            raise SandboxError(f"the sandbox refuses to start: missing layer(s) {', '.join(self._missing)} "
                               f"({reasons}). Fix {fixes}; or pass allow_unconfined=True to run without them")

    def close(self) -> None:
        """Stop the workers and remove the working folder; the pool restarts if used again."""
        with self._lock:
            workers, self._workers = self._workers, []
            if self._owner == os.getpid():
                for w in workers:
                    w.stop()
                if self._tmp:
                    shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            atexit.unregister(self.close)

    def _want_bwrap(self) -> bool:
        mode = self.config.bwrap
        if mode == "off":
            return False
        if shutil.which("bwrap"):
            return True
        if mode == "on":
            raise SandboxError("bwrap='on' but bubblewrap is not installed: install it "
                               "(Debian: apt-get install bubblewrap) or use bwrap='auto'")
        self._notes.append("bwrap inactive: `bwrap` is not installed (Debian: apt-get install bubblewrap)")
        return False

    def _spawn(self, n: int) -> list[WorkerProcess]:
        python = interpreter()
        if self._bwrap:
            self._command = bwrap_command(python, WORKER_FILES, as_root=os.geteuid() == 0) + [
                python, "-I", "-S", "-B", f"{SANDBOX_DIR}/worker.py"]
        else:
            self._command = [python, "-I", "-S", "-B", str(WORKER_FILES[0])]
        workers: list[WorkerProcess] = []
        try:
            for _ in range(n):
                workers.append(WorkerProcess(self._command, self._init, self._tmp, env={}))
            deadline = time.monotonic() + 30.0
            for w in workers:
                w.handshake(deadline)
        except (OSError, SandboxError) as exc:
            for w in workers:
                w.kill()
            raise exc if isinstance(exc, SandboxError) else SandboxError(f"cannot start a sandbox worker: {exc}")
        return workers

    def _spawn_one(self) -> WorkerProcess:
        """A replacement worker, held to the layers the pool started with (fail closed)."""
        worker = self._spawn(1)[0]
        identity = self._init.get("identity")
        problem = ("seccomp" in self._active and not worker.info.get("seccomp")) or (
            "unprivileged" in self._active
            and _unprivileged_problem(worker.info.get("status", {}), tuple(identity) if identity else None))
        if problem:
            worker.kill()
            raise SandboxError("a replacement sandbox worker came up without the layers the pool started with "
                               f"({worker.info.get('seccomp_problem') or problem}); the pool stops here")
        return worker

    # ---- what is active ------------------------------------------------------------------
    @property
    def layers(self) -> list[str]:
        """The protection layers in force (starts the pool to find out)."""
        self.start()
        return list(self._active)

    @property
    def missing(self) -> list[str]:
        """Layers the configuration asked for that are not in force (only with allow_unconfined)."""
        self.start()
        return list(self._missing)

    @property
    def notes(self) -> list[str]:
        """Why a layer is not active, one line each."""
        self.start()
        return list(self._notes)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers (of bwrap, when workers run inside it)."""
        self.start()
        return [w.pid for w in self._workers]

    @property
    def workdir(self) -> str | None:
        """The folder runs start in, as this process sees it (None inside bwrap's /tmp)."""
        self.start()
        return None if self._bwrap else self._tmp

    # ---- running -------------------------------------------------------------------------
    def run(self, job: Job) -> RunResult:
        """Run one job."""
        return self.run_many([job])[0]

    def run_many(self, jobs: Iterable[Job]) -> list[RunResult]:
        """Run jobs on all workers in parallel; one result per job, in the order of `jobs`."""
        jobs = list(jobs)
        results: list[RunResult | None] = [self._precheck(job) for job in jobs]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo:
            with self._lock:
                self.start()
                dispatch = Dispatch(self._workers, self._spawn_one, self.config.pipeline_depth, _GRACE,
                                    lambda: next(self._sequence))
                for i, result in zip(todo, dispatch.run([self._payload(jobs[i]) for i in todo],
                                                        [jobs[i].worker for i in todo])):
                    results[i] = result
        return results  # type: ignore[return-value]

    def _precheck(self, job: Job) -> RunResult | None:
        """A result without running, for what this process can already tell is wrong."""
        size = len(job.code) + len(job.call or "")
        if size > self.config.max_code_chars:
            return RunResult("violation", None, "", 0.0,
                             f"program too large: {size} characters, the limit is {self.config.max_code_chars}")
        return _check_source(job.code, "exec", self._banned) or (
            _check_source(job.call, "eval", self._banned) if job.call else None)

    def _payload(self, job: Job) -> dict:
        return {"code": job.code, "call": job.call, "timeout": job.timeout or self.config.timeout,
                "memory_mb": job.memory_mb or self.config.memory_mb, "max_output": self.config.max_output_chars}
