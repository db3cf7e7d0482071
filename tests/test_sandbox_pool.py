"""The sandbox pool under stress: it never loses a good job, never returns None and keeps no
stale state, whatever hostile jobs or outside events do to its workers.

    .venv/bin/python -m pytest tests/test_sandbox_pool.py -q

The storm mixes 300 good jobs with 30 hostile ones (jobs that try to kill their worker or
the pool, pipe thieves, endless loops, memory bombs) while a worker is killed and another
stopped from outside; every good job must come back with its correct value.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from azmed.sandbox import Job, Sandbox, SandboxError
from azmed.sandbox.dispatch import Dispatch

GOOD = "def f(xs, k):\n    return sorted(x * k for x in xs)[::-1]\n"
POOL = os.getpid()


def good_job(i: int) -> tuple[Job, str]:
    xs = [(i * 7 + j * 13) % 29 for j in range(i % 9 + 1)]
    return Job(GOOD, call=f"f({xs!r}, {i % 5 + 1})"), repr(sorted((x * (i % 5 + 1) for x in xs), reverse=True))


HOSTILE = [
    # worker and pool killers
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    f"import os, signal\nos.kill({POOL}, signal.SIGKILL)",
    "import fcntl, os, signal\nfcntl.fcntl(1, fcntl.F_SETOWN, os.getppid())\nfcntl.fcntl(1, 10, signal.SIGKILL)\n"
    "fcntl.fcntl(1, fcntl.F_SETFL, os.O_ASYNC)\nos.write(1, b'x' * 70000)",
    f"import fcntl, os, signal\nfcntl.fcntl(3, fcntl.F_SETOWN, {POOL})\nfcntl.fcntl(3, 10, signal.SIGKILL)\n"
    "fcntl.fcntl(3, fcntl.F_SETFL, os.O_ASYNC)\nos.write(3, b'x')",
    # pipe thieves
    "import os\ndata = open(f'/proc/{os.getppid()}/fd/0', 'rb').read(4096)",
    "import os\nos.write(os.open(f'/proc/{os.getppid()}/fd/1', os.O_WRONLY), b'{\"id\": 1}\\n')",
    f"import os\n[open(f'/proc/{POOL}/fd/' + n, 'rb').read(10) for n in os.listdir('/proc/{POOL}/fd')]",
    "import os\nos.write(3, b'R' * 100000)",
    # timeouts
    "while True:\n    pass",
    "import select\nselect.select([], [], [], 60)",
    # memory bombs
    "x = bytearray(10 ** 10)",
    "chunks = []\nwhile True:\n    chunks.append('x' * 10 ** 6)",
]


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (bwrap's worker sits two levels down)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return found


def signal_all(pid: int, sig: int) -> None:
    for p in descendants(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module", params=["off", "on"], ids=lambda mode: f"bwrap-{mode}")
def pool(request):
    sandbox = Sandbox(workers=2, timeout=1.0, memory_mb=128, bwrap=request.param)
    try:
        sandbox.start()
    except SandboxError as exc:
        if request.param != "on":
            raise
        pytest.skip(f"bubblewrap cannot run here: {exc}")
    yield sandbox
    sandbox.close()


def check_good(results, expected: dict[int, str]) -> None:
    assert all(r is not None for r in results)
    wrong = {i: results[i] for i, value in expected.items() if results[i].value != value}
    assert not wrong, wrong


def test_storm_every_good_job_comes_back_correct(pool):
    rng = random.Random(12)
    jobs = [good_job(i)[0] for i in range(300)]
    for k in range(30):
        jobs.insert(rng.randrange(len(jobs) + 1), Job(HOSTILE[k % len(HOSTILE)]))
    expected = {i: good_job_value(job) for i, job in enumerate(jobs) if job.code == GOOD}
    victims = pool.worker_pids

    def outside_trouble():  # a worker killed and another stopped, as an OOM killer or an operator might
        time.sleep(0.5)
        signal_all(victims[0], signal.SIGKILL)
        time.sleep(0.5)
        signal_all(victims[1], signal.SIGSTOP)

    trouble = threading.Thread(target=outside_trouble)
    trouble.start()
    results = pool.run_many(jobs)
    trouble.join()
    signal_all(victims[1], signal.SIGCONT)
    check_good(results, expected)
    assert all(not results[i].ok for i, job in enumerate(jobs) if job.code != GOOD), \
        [results[i] for i, job in enumerate(jobs) if job.code != GOOD and results[i].ok]
    # Afterwards the pool serves as before, with fresh workers in place of the two broken ones.
    assert not set(victims) & set(pool.worker_pids)
    more = [good_job(i) for i in range(50)]
    check_good(pool.run_many([j for j, _ in more]), {i: v for i, (_, v) in enumerate(more)})


def good_job_value(job: Job) -> str:
    xs, k = eval(job.call[2:-1])
    return repr(sorted((x * k for x in xs), reverse=True))


def test_stopped_worker_does_not_lose_its_job(pool):
    jobs = [good_job(i) for i in range(20)]
    victim = pool.worker_pids[0]
    signal_all(victim, signal.SIGSTOP)  # before the batch: its first job is certain to stall
    try:
        results = pool.run_many([j for j, _ in jobs])
    finally:
        signal_all(victim, signal.SIGCONT)
    check_good(results, {i: v for i, (_, v) in enumerate(jobs)})
    assert victim not in pool.worker_pids


def test_worker_that_keeps_dying_is_replaced(pool):
    for _ in range(3):
        victim = pool.worker_pids[0]
        signal_all(victim, signal.SIGKILL)  # between calls
        jobs = [good_job(i) for i in range(30)]
        check_good(pool.run_many([j for j, _ in jobs]), {i: v for i, (_, v) in enumerate(jobs)})
        assert victim not in pool.worker_pids


def test_batch_with_worker_killers_returns_every_good_result(pool):
    jobs, expected = [], {}
    for i in range(60):
        if i % 6 == 3:
            jobs.append(Job(HOSTILE[i % 4]))
        else:
            job, value = good_job(i)
            expected[len(jobs)] = value
            jobs.append(job)
    before = pool.worker_pids
    results = pool.run_many(jobs)
    check_good(results, expected)
    assert pool.worker_pids == before  # no worker was killed
    assert all(results[i].status == "violation" for i in range(len(jobs)) if i not in expected)


def test_an_interrupted_call_leaves_no_stale_state(pool, monkeypatch):
    original = Dispatch._collect
    calls = {"n": 0}

    def interrupted(self, k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, k)

    monkeypatch.setattr(Dispatch, "_collect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pool.run_many([good_job(i)[0] for i in range(40)])
    monkeypatch.setattr(Dispatch, "_collect", original)
    for _ in range(2):  # the next calls get their own answers, all of them, none stale
        jobs = [good_job(i + 100) for i in range(40)]
        check_good(pool.run_many([j for j, _ in jobs]), {i: v for i, (_, v) in enumerate(jobs)})
