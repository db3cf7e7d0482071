"""Sending jobs to the sandbox's worker processes and collecting every answer, whatever the
workers do: the part of the pool that must never hang and never lose a good job.

    from azmed.sandbox.dispatch import Dispatch, WorkerProcess
    results = Dispatch(workers, spawn, depth=2, grace=3.0).run(payloads, pins)   # one RunResult per payload

- All pipe I/O is non-blocking: lines to a worker wait in its outbox until the pipe takes
  them; answers are read whenever they arrive. One `select` over every worker drives it.
- Every job in flight has a deadline (its timeout plus a grace). A worker that misses it,
  dies, sends a line that is not an answer, or answers out of order is *failed*: killed
  with its process group, replaced by a fresh worker, and every job it held goes back to
  the queue. The job it was running is charged one failure; at its second it gets a final
  status ("timeout" when the worker stopped answering, else "error"), so a good job that
  met a bad moment runs again, and a job that breaks workers cannot loop forever.
- Answers carry a sequence number unique to the pool, so nothing from an earlier call can
  be taken for an answer now; when a call ends early (an exception), workers still holding
  its jobs are reset, so no stale entry survives into the next call.
- A worker that cannot be started at all is the one error raised (`SandboxError`): the
  sandbox cannot work here.

Limits: one call at a time (the pool serialises them).
"""

from __future__ import annotations

import collections
import errno
import fcntl
import json
import os
import select
import signal
import subprocess
import tempfile
import time
from typing import Callable, Sequence

from azmed.sandbox.jobs import RunResult

_START_TIMEOUT = 30.0  # seconds for a worker to answer its configuration


class SandboxError(RuntimeError):
    """The sandbox itself cannot work here (not a program's failure)."""


class WorkerFailed(Exception):
    """A worker broke the protocol or stopped: it is replaced and its jobs re-run."""


def _nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class WorkerProcess:
    """One worker process: its pipes, outbox, inbox and the jobs in flight on it."""

    def __init__(self, command: list[str], init: dict, cwd: str, env: dict[str, str]) -> None:
        # stderr goes to a file, not a pipe nobody drains: it only matters when a worker
        # fails to start, and a full pipe would block a worker forever.
        self.log = tempfile.TemporaryFile(dir=cwd)
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=cwd, env=env, start_new_session=True)
        self.pid = self.proc.pid
        self.out_fd, self.in_fd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        _nonblocking(self.out_fd)
        _nonblocking(self.in_fd)
        self.outbox, self.inbox = bytearray(), bytearray()
        self.inflight: collections.deque[tuple[int, int, float]] = collections.deque()  # (job, sequence, timeout)
        self.head_since = 0.0
        self.info: dict = {}
        self.outbox += (json.dumps(init) + "\n").encode()
        try:
            self.flush()
        except WorkerFailed:  # it exited at once: `handshake` says why
            pass

    # ---- I/O -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what the pipe takes now; WorkerFailed when the worker is gone."""
        while self.outbox:
            try:
                n = os.write(self.in_fd, self.outbox)
            except BlockingIOError:
                return
            except OSError as exc:  # EPIPE: the worker exited
                raise WorkerFailed(f"the sandbox worker stopped reading ({os.strerror(exc.errno)})") from None
            del self.outbox[:n]

    def receive(self) -> list[dict]:
        """Complete answer lines readable now; WorkerFailed at end of output or on garbage."""
        try:
            chunk = os.read(self.out_fd, 1 << 20)
        except BlockingIOError:
            return []
        except OSError as exc:
            raise WorkerFailed(f"cannot read the sandbox worker ({os.strerror(exc.errno)})") from None
        if not chunk:
            raise WorkerFailed("the sandbox worker died")
        self.inbox += chunk
        *lines, rest = bytes(self.inbox).split(b"\n")
        self.inbox[:] = rest
        answers = []
        for line in lines:
            try:
                answer = json.loads(line)
            except ValueError:
                raise WorkerFailed("the sandbox worker sent a line that is not JSON") from None
            if not isinstance(answer, dict):
                raise WorkerFailed("the sandbox worker sent a line that is not an answer")
            answers.append(answer)
        return answers

    def handshake(self, deadline: float) -> None:
        """Wait for the worker's ready line (blocking, up to `deadline`)."""
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.out_fd], [self.in_fd] if self.outbox else [], [],
                                            max(0.0, deadline - time.monotonic()))
                self.flush()
                if ready:
                    answers = self.receive()
                    if answers:
                        self.info = answers[0]
                        return
            why = f"no answer within {_START_TIMEOUT:.0f} s"
        except WorkerFailed as exc:
            why = str(exc)
        self.kill(keep_log=True)
        self.log.seek(0)
        err = self.log.read().decode(errors="replace").strip()
        self.log.close()
        raise SandboxError(f"a sandbox worker did not start ({' '.join(self.proc.args[:2])} ...): "
                           f"{err.splitlines()[-1] if err else why}")

    # ---- jobs in flight ------------------------------------------------------------------
    def deadline(self, grace: float) -> float:
        return self.head_since + self.inflight[0][2] + grace if self.inflight else float("inf")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, keep_log: bool = False) -> None:
        """Kill the worker and everything it started; close its pipes (and its log)."""
        for sig_target in (lambda: os.killpg(self.pid, signal.SIGKILL), self.proc.kill):
            try:
                sig_target()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout) + (() if keep_log else (self.log,)):
            try:
                stream.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Ask the worker to exit (end of input), then make sure it did."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Dispatch:
    """Runs one batch of payloads over the pool's workers; see the module docstring."""

    def __init__(self, workers: list[WorkerProcess], spawn: Callable[[], WorkerProcess], depth: int,
                 grace: float, sequence: Callable[[], int]) -> None:
        self.workers, self.spawn, self.depth, self.grace, self.sequence = workers, spawn, depth, grace, sequence

    def run(self, payloads: Sequence[dict], pins: Sequence[int | None]) -> list[RunResult]:
        n = len(self.workers)
        self.results: list[RunResult | None] = [None] * len(payloads)
        self.failures = collections.Counter()  # job -> worker failures while it ran
        self.shared: collections.deque[int] = collections.deque()
        self.pinned = [collections.deque() for _ in range(n)]
        self.pins = pins
        for i, pin in enumerate(pins):
            (self.shared if pin is None else self.pinned[pin % n]).append(i)
        self.remaining = len(payloads)
        try:
            while self.remaining:
                self._fill(payloads)
                if not any(w.inflight for w in self.workers):  # nothing left to wait for (cannot happen)
                    break
                self._wait()
        finally:
            for w in self.workers:  # an early exit leaves no job in flight: the next call restarts these
                if w.inflight:
                    w.inflight.clear()
                    w.kill()
        return [r if r is not None else RunResult("error", None, "", 0.0, "the sandbox lost this job")
                for r in self.results]

    def _fill(self, payloads: Sequence[dict]) -> None:
        for k, w in enumerate(self.workers):
            if not w.inflight and not w.alive():  # died between runs
                w.kill()
                w = self.workers[k] = self.spawn()
            while len(w.inflight) < self.depth and (self.pinned[k] or self.shared):
                i = self.pinned[k].popleft() if self.pinned[k] else self.shared.popleft()
                seq = self.sequence()
                if not w.inflight:
                    w.head_since = time.monotonic()
                w.inflight.append((i, seq, payloads[i]["timeout"]))
                w.outbox += (json.dumps({**payloads[i], "id": seq}) + "\n").encode()
            try:
                w.flush()
            except WorkerFailed as exc:
                self._fail(k, str(exc), "error")

    def _wait(self) -> None:
        busy = [k for k, w in enumerate(self.workers) if w.inflight]
        readers = {self.workers[k].out_fd: k for k in busy}
        writers = {self.workers[k].in_fd: k for k in busy if self.workers[k].outbox}
        wait = max(0.0, min(self.workers[k].deadline(self.grace) for k in busy) - time.monotonic())
        try:
            readable, writable, _ = select.select(list(readers), list(writers), [], wait)
        except InterruptedError:
            return
        except OSError as exc:
            if exc.errno != errno.EBADF:
                raise
            readable, writable = list(readers), []  # a closed fd: its read says so below
        for fd in writable:
            k = writers[fd]
            try:
                self.workers[k].flush()
            except WorkerFailed as exc:
                self._fail(k, str(exc), "error")
        for fd in readable:
            k = readers[fd]
            if self.workers[k].out_fd != fd:  # replaced above
                continue
            try:
                self._collect(k)
            except WorkerFailed as exc:
                self._fail(k, str(exc), "error")
        now = time.monotonic()
        for k, w in enumerate(self.workers):
            if w.inflight and now > w.deadline(self.grace):
                self._fail(k, "the sandbox worker stopped answering and was replaced", "timeout")

    def _collect(self, k: int) -> None:
        w = self.workers[k]
        for answer in w.receive():
            if not w.inflight:
                raise WorkerFailed("the sandbox worker answered a job it was not given")
            i, seq, _ = w.inflight[0]
            if answer.get("id") != seq or answer.get("status") not in ("ok", "error", "timeout", "out-of-memory",
                                                                        "violation"):
                raise WorkerFailed(f"the sandbox worker answered out of step (job {seq}, answer {answer.get('id')!r})")
            w.inflight.popleft()
            w.head_since = time.monotonic()
            value = answer.get("value")
            self.results[i] = RunResult(answer["status"], value if isinstance(value, str) else None,
                                        str(answer.get("stdout") or ""), float(answer.get("duration") or 0.0),
                                        str(answer.get("error") or ""))
            self.remaining -= 1

    def _fail(self, k: int, why: str, status: str) -> None:
        """Replace worker k; its running job is charged, every job it held runs again."""
        w = self.workers[k]
        held = [i for i, _, _ in w.inflight]
        since = w.head_since
        w.inflight.clear()
        w.kill()
        if held:
            head, queued = held[0], held[1:]
            self.failures[head] += 1
            if self.failures[head] >= 2:
                self.results[head] = RunResult(status, None, "", time.monotonic() - since,
                                               f"{why} (twice while running this job)")
                self.remaining -= 1
                held = queued
            for i in reversed(held):  # back to the front of their queue, in order
                (self.shared if self.pins[i] is None else self.pinned[k]).appendleft(i)
        self.workers[k] = self.spawn()
