"""A warm sandbox worker: reads jobs, runs each in a freshly forked, locked-down child.

The pool (`azmed.sandbox.pool`) starts this file as a script with `python -I -S -B`, so
the worker holds only the standard library (no site-packages, no environment, a random hash
seed of its own) and forks in well under a millisecond. It imports `protocol`, `guard` and
`child` from its own folder (inside bubblewrap, the only project files mounted). It never
runs a program itself: every job runs in a child (see `child.py`), and the worker decides the
job's status from what it sees itself:
- the child's exit: killed by the system-call filter (SIGSYS) is a "violation", by the
  CPU limit a "timeout", by the worker at the wall-clock deadline a "timeout";
- the result pipe: a refusal record from the guard makes the run a "violation" whatever
  follows; otherwise the child's own result record gives status, value and error;
- the output pipe: the worker counts what the program prints and kills a run that prints
  more than the limit ("violation", output too large); a value's repr is checked here too.
None of these can be reset from inside the run.

At start, before answering the pool, the worker makes itself non-dumpable (its /proc entries
closed to other processes), loads its seccomp filter, installs the guard (disarmed),
preloads common modules, hides banned ones, opens read-only handles on the
standard-library folders (the unprivileged runs import through /proc/self/fd/N, since the
folders may sit under a home only root may enter), and, when root, empties its capability
bounding and inheritable sets. Then one probe run reports, from /proc/self/status, the
identity, capabilities and filters a run really has, and checks that a socket kills it.

Protocol (one JSON object per line): the first line on stdin configures the worker and is
answered with {"ready": true, "probe": {...}}; then every {"id", "code", "call", "timeout",
"memory_mb", "max_output"} line is answered with {"id", "status", "value", "stdout",
"error", "duration"}. The worker exits at end of input, so it dies with its pool.

Limits: Linux only. A program can forge its own value (never a status a violation, signal
or limit decided); the sandbox contains programs, it does not attest their answers.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import child  # noqa: E402  (this folder, see above)
import guard  # noqa: E402
from protocol import OUTPUT_TOO_LARGE, RESULT_FD, RecordReader  # noqa: E402

# Preloaded so that runs do not pay for these common imports every time (and, for
# `statistics`, so that the banned `random` it imports is loaded before runs start).
import bisect  # noqa: F401,E402
import collections  # noqa: F401,E402
import copy  # noqa: F401,E402
import functools  # noqa: F401,E402
import heapq  # noqa: F401,E402
import itertools  # noqa: F401,E402
import math  # noqa: F401,E402
import operator  # noqa: F401,E402
import re  # noqa: F401,E402
import statistics  # noqa: F401,E402
import string  # noqa: F401,E402
import typing  # noqa: F401,E402

_PAGE = os.sysconf("SC_PAGE_SIZE")
_SIGNAL_STATUS = {
    signal.SIGXCPU: ("timeout", "killed: over the CPU time limit"),
    signal.SIGXFSZ: ("violation", "killed: tried to write a file"),
    signal.SIGSYS: ("violation", "killed by the system-call filter (a forbidden system call)"),
}
_REPORT_PIPE_GONE = 86  # the exit code the guard uses when it cannot report


class Worker:
    """The worker's state: its set-up for runs and a cache of compiled programs."""

    def __init__(self, init: dict, pending: bytearray) -> None:
        self.banned = list(init.get("banned", ()))
        self.compiled: dict[str, object] = {}  # program source -> code object
        self.jobs = 0
        self.pending = pending  # bytes read from the pool, not yet a whole line
        workdir = init.get("workdir") or "/"
        os.makedirs(workdir, mode=0o755, exist_ok=True)
        os.chmod(workdir, 0o755)  # runs may list it (empty), not write to it
        keep_fds = _open_library_folders()  # first: they take the fds right after RESULT_FD
        worker_bpf, child_bpf = (bytes.fromhex(init.get(k) or "") for k in ("bpf_worker", "bpf_child"))
        identity = init.get("identity")
        self.setup = child.Setup(
            devnull=os.open(os.devnull, os.O_RDWR), workdir=workdir, keep_fds=keep_fds,
            identity=tuple(identity) if identity else None,
            child_filter=child.SeccompLoader(child_bpf) if child_bpf else None,
            audit=bool(init.get("audit", True)), recursion_limit=int(init.get("recursion_limit", 1000)),
            worker_pid=os.getpid())
        self.worker_filter = child.SeccompLoader(worker_bpf) if worker_bpf else None
        self.problems: dict[str, str] = {}
        self.exiting: list[int] = []  # runs that delivered their result and were ended, not yet reaped
        # Runs print through this object onto their output pipe (the worker itself writes to
        # the pool with os.write, so its buffer stays empty): any text can be printed.
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
        # Non-dumpable: the kernel closes this worker's /proc entries (its pipes, its memory)
        # to every process without CAP_SYS_PTRACE, runs of the same user included.
        child.prctl(child.PR_SET_DUMPABLE, 0)
        if identity and os.geteuid() == 0:
            try:
                child.drop_capability_sets()
            except OSError as exc:
                self.problems["capabilities"] = f"could not empty the capability sets: {exc}"
        guard.install(self.banned, RESULT_FD)
        guard.hide_banned_modules(self.banned, keep=("__main__",))
        # What a run must not find of the worker: queued jobs, other programs, `time`.
        self.setup.forget += [self.pending.clear, self.compiled.clear,
                              lambda: globals().update(time=sys.modules.get("time"))]

    def load_filter(self) -> str:
        """Load the worker filter; '' when loaded, else why not."""
        if self.worker_filter is None or self.setup.child_filter is None:
            return "no filter given"
        try:
            self.worker_filter.load()
        except OSError as exc:
            self.setup.child_filter = None
            return f"the kernel refused the filter: {exc}"
        return ""

    def reap(self) -> None:
        """Collect ended runs without waiting for them."""
        for pid in list(self.exiting):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.exiting.remove(pid)

    def mapped_bytes(self) -> int:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * _PAGE


def _open_library_folders() -> int:
    """Hold the standard-library folders open at fds 4, 5, ... and import through
    /proc/self/fd/N: a run under another uid reaches them even below a folder it may not
    enter (a home folder), and nothing else there. Returns how many fds are held."""
    folders = []
    for entry in sys.path[1:]:  # [0] is this folder
        if os.path.isdir(entry) and entry not in folders:
            folders.append(entry)
    paths = []
    for i, folder in enumerate(folders):
        fd, target = os.open(folder, os.O_PATH | os.O_DIRECTORY), RESULT_FD + 1 + i
        if fd != target:
            os.dup2(fd, target, inheritable=False)
            os.close(fd)
        paths.append(f"/proc/self/fd/{target}")
    sys.path[:] = paths
    sys.path_importer_cache.clear()
    return len(paths)


# ---------------------------------------------------------------------------------------
# One job.

def _compile(job: dict, cache: dict) -> tuple:
    """(program, call) code objects, compiled here once: in a fresh child every allocation
    faults in a copied page and compiling costs ~50 times more. A program's code object is
    reused for its other inputs (code objects are immutable; every run gets a fresh
    namespace). `dont_inherit` keeps this module's `from __future__` imports out of programs."""
    program = cache.get(job["code"])
    if program is None:
        program = compile(job["code"], "<program>", "exec", dont_inherit=True)
        if len(job["code"]) <= 8192:  # a small cache: the worker's size is the cost of every fork
            if len(cache) >= 64:
                cache.clear()
            cache[job["code"]] = program
    call = compile(job["call"], "<call>", "eval", dont_inherit=True) if job.get("call") else None
    return program, call


def _watch(pid: int, out_fd: int, result_fd: int, job: dict) -> tuple[bytes, RecordReader, str]:
    """Read the run's output and records until its result record arrives or it exits;
    (output, records, why it was killed: '' / 'timeout' / 'output'). The verdict is fixed
    at the first result record: what the run does after it cannot change it."""
    out_cap = 4 * int(job["max_output"]) + 64  # UTF-8: at most 4 bytes a character
    records = RecordReader(cap=16 * int(job["max_output"]) + 65536)
    output = bytearray()
    deadline = time.monotonic() + float(job["timeout"])
    poller = select.poll()
    poller.register(out_fd, select.POLLIN)
    poller.register(result_fd, select.POLLIN)
    open_fds, killed = {out_fd, result_fd}, ""

    def take_output(chunk: bytes) -> None:
        nonlocal killed, output
        if len(output) + len(chunk) > out_cap and not killed:
            killed = "output"
            os.kill(pid, signal.SIGKILL)
        output += chunk[:max(0, out_cap + 1 - len(output))]

    while open_fds and records.result is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 and not killed:
            killed = "timeout"
            os.kill(pid, signal.SIGKILL)
        for fd, _ in poller.poll(max(remaining, 0) * 1000 if not killed else 1000):
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
            elif fd == out_fd:
                take_output(chunk)
            else:
                records.feed(chunk)
    if records.result is not None and out_fd in open_fds:
        # The run flushed its output before writing its result: what it printed is in the pipe.
        os.set_blocking(out_fd, False)
        while True:
            try:
                chunk = os.read(out_fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            take_output(chunk)
    return bytes(output), records, killed


def _verdict(exit_status: int | None, records: RecordReader, killed: str, output: str, job: dict) -> dict:
    """Status, value and error of a run, from what the worker itself saw (`exit_status` is
    None when the run delivered its result record and was then ended by the worker)."""
    limit = int(job["max_output"])
    if killed == "output" or len(output) > limit:
        return {"status": "violation", "error": f"{OUTPUT_TOO_LARGE}: printed more than {limit} characters"}
    outcome = records.outcome()
    if records.violation:
        return outcome
    if exit_status is not None:
        if os.WIFSIGNALED(exit_status) and os.WTERMSIG(exit_status) == signal.SIGSYS:
            return {"status": "violation", "error": _SIGNAL_STATUS[signal.SIGSYS][1]}
        if killed == "timeout":
            return {"status": "timeout", "error": f"killed: over the {job['timeout']} s wall-clock limit"}
        if os.WIFSIGNALED(exit_status):
            sig = os.WTERMSIG(exit_status)
            verdict, text = _SIGNAL_STATUS.get(sig, ("error", f"crashed with {signal.Signals(sig).name}"))
            if sig in (signal.SIGSEGV, signal.SIGBUS):
                text += " (a stack overflow from deep recursion, or memory exhausted inside C code)"
            return {"status": verdict, "error": text}
        code = os.WEXITSTATUS(exit_status)
        if code == _REPORT_PIPE_GONE:
            return {"status": "violation", "error": "the run closed the sandbox's report pipe"}
        if outcome is None:
            return {"status": "error", "error": f"the program exited (code {code}) before returning a result"}
    if outcome["status"] == "ok" and outcome["value"] is not None and len(outcome["value"]) > limit:
        return {"status": "violation", "error": f"{OUTPUT_TOO_LARGE}: the value's repr has "
                                                f"{len(outcome['value'])} characters, the limit is {limit}"}
    return outcome


def run_job(job: dict, worker: Worker) -> dict:
    """Run one job in a forked child; the answer line for the pool."""
    start = time.monotonic()
    try:
        program, call = _compile(job, worker.compiled)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return {"id": job.get("id"), "status": "error", "value": None, "stdout": "",
                "error": child.error_text(exc), "duration": time.monotonic() - start}
    worker.jobs += 1
    if worker.jobs % 64 == 1:  # the worker's size barely moves: measure it now and then
        worker.setup.mapped = worker.mapped_bytes()
    out_r, out_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(result_r)
        child.run(job, program, call, worker.setup, out_w, result_w)
    os.close(out_w)
    os.close(result_w)
    try:
        output, records, killed = _watch(pid, out_r, result_r, job)
    finally:
        os.close(out_r)
        os.close(result_r)
    if records.result is not None:  # delivered: end it now and reap it later, not waiting for its exit
        os.kill(pid, signal.SIGKILL)
        worker.exiting.append(pid)
        exit_status = None
    else:
        _, exit_status = os.waitpid(pid, 0)
    worker.reap()
    stdout = output.decode("utf-8", "backslashreplace")
    verdict = _verdict(exit_status, records, killed, stdout, job)
    too_large = verdict["status"] == "violation" and verdict.get("error", "").startswith(OUTPUT_TOO_LARGE)
    return {"id": job.get("id"), "status": verdict["status"], "value": verdict.get("value"),
            "stdout": "" if too_large else stdout, "error": verdict.get("error", ""),
            "duration": time.monotonic() - start}


# ---------------------------------------------------------------------------------------
# Start-up probe and the main loop.

_PROBE = """
import socket, sys
for line in open('/proc/self/status'):
    print(line, end='')
sys.stdout.flush()
if expect_filter:
    socket.socket()
"""


def probe(worker: Worker, filter_problem: str) -> dict:
    """Run one job without the guard and report what the kernel says about runs."""
    audit, worker.setup.audit = worker.setup.audit, False  # test the kernel's layers alone
    try:
        answer = run_job({"code": f"expect_filter = {not filter_problem}\n" + _PROBE, "call": None, "timeout": 5,
                          "memory_mb": 64, "max_output": 20000}, worker)
    finally:
        worker.setup.audit = audit
    status = dict(line.split(":", 1) for line in answer["stdout"].splitlines() if ":" in line)
    status = {k.strip(): v.split() for k, v in status.items()}
    seccomp = filter_problem
    if not seccomp and "system-call filter" not in answer["error"]:
        seccomp = f"a socket did not end the probe run ({answer['status']}: {answer['error']})"
        worker.setup.child_filter = None
    return {"seccomp": not seccomp, "seccomp_problem": seccomp, "status": status, "problems": worker.problems}


class _Lines:
    """Lines from the pool, read straight from fd 0 into the worker's own buffer."""

    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer

    def __iter__(self):
        while True:
            while b"\n" not in self.buffer:
                chunk = os.read(0, 1 << 16)
                if not chunk:
                    return
                self.buffer += chunk
            line, _, rest = bytes(self.buffer).partition(b"\n")
            self.buffer[:] = rest
            yield line


def _send(obj: dict) -> None:
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def main() -> int:
    pending = bytearray()
    lines = iter(_Lines(pending))
    first = next(lines, None)
    if first is None:
        return 0
    worker = Worker(json.loads(first), pending)
    filter_problem = worker.load_filter()
    report = probe(worker, filter_problem)
    gc.collect()
    gc.freeze()  # children then leave the worker's objects alone: fewer copied pages
    _send({"ready": True, "pid": os.getpid(), **report})
    for line in lines:
        job = None
        try:
            job = json.loads(line)
            answer = run_job(job, worker)
        except Exception as exc:  # keep serving: report the job as failed
            answer = {"id": job.get("id") if isinstance(job, dict) else None, "status": "error", "value": None,
                      "stdout": "", "error": f"sandbox worker failed: {exc!r}", "duration": 0.0}
        _send(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
