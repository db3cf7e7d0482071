"""The sandbox: one adversarial test per attack, the layers on their own, the pool's
behaviour (order, parallel runs, restarts, limits) and the static import check.

    .venv/bin/python -m pytest tests/test_sandbox.py -q

Every attack test checks the reported status, that the attack had no effect outside the
run (no file, no connection, parent alive), and that the pool still serves afterwards.
Tests that need seccomp or bwrap skip, saying why, where those are unavailable.
"""

from __future__ import annotations

import os
import shutil
import socket
import textwrap

import pytest

from azmed.sandbox import BANNED_IMPORTS, Job, Sandbox, SandboxError, find_banned_imports

IDENTITY = "def f(a):\n    return a\n"


def started(sandbox: Sandbox) -> Sandbox:
    """`sandbox`, started; the test skips when it needs bwrap and bwrap cannot run here."""
    try:
        return sandbox.start()
    except SandboxError as exc:
        if sandbox.config.bwrap != "on":
            raise
        pytest.skip(f"bubblewrap cannot run here: {exc}")


@pytest.fixture(scope="module", params=["off", "on"], ids=lambda mode: f"bwrap-{mode}")
def box(request):
    """Every layer; the attacks run without bwrap and, where it works, inside it."""
    with started(Sandbox(workers=2, timeout=5.0, memory_mb=128, bwrap=request.param)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def bare():
    """Only rlimits and seccomp: no import check, no audit hook, no bwrap."""
    with Sandbox(workers=2, timeout=5.0, memory_mb=128, banned_imports=[], audit_hook=False, bwrap="off") as sandbox:
        if "seccomp" not in sandbox.layers:
            pytest.skip(f"seccomp is not available here: {sandbox.notes}")
        yield sandbox


def still_serves(sandbox: Sandbox) -> None:
    results = sandbox.run_many([Job(IDENTITY, call=f"f({i})") for i in range(6)])
    assert [r.value for r in results] == [repr(i) for i in range(6)], results


def run(sandbox: Sandbox, code: str, call: str | None = None, **job) -> object:
    return sandbox.run(Job(textwrap.dedent(code), call=call, **job))


@pytest.fixture()
def listener():
    """A TCP server on localhost; yields (port, function telling whether anyone connected)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)

    def connected() -> bool:
        try:
            server.accept()[0].close()
            return True
        except BlockingIOError:
            return False

    yield server.getsockname()[1], connected
    server.close()


# ---- attacks, with every layer --------------------------------------------------------------

def test_fork_bomb(box):
    r = run(box, """
        import os
        while True:
            os.fork()
        """)
    assert r.status == "violation", r
    still_serves(box)


def test_subprocess(box, tmp_path):
    marker = tmp_path / "ran"
    r = run(box, f"import subprocess\nsubprocess.run(['touch', {str(marker)!r}])")
    assert r.status == "violation" and "subprocess" in r.error, r
    r = run(box, f"sp = __import__('sub' + 'process')\nsp.run(['touch', {str(marker)!r}])")
    assert r.status == "violation", r
    assert not marker.exists()
    still_serves(box)


def test_os_system(box, tmp_path):
    marker = tmp_path / "ran"
    r = run(box, f"import os\nos.system('touch {marker}')")
    assert r.status == "violation" and "os.system" in r.error, r
    assert not marker.exists()
    still_serves(box)


def test_socket_connect(box, listener):
    port, connected = listener
    r = run(box, f"""
        import socket
        s = socket.socket()
        s.connect(('127.0.0.1', {port}))
        """)
    assert r.status == "violation", r
    assert not connected()
    still_serves(box)


def test_file_write_outside_working_folder(box, tmp_path):
    target = tmp_path / "outside.txt"
    r = run(box, f"open({str(target)!r}, 'w').write('x')")
    assert r.status == "violation", r
    assert not target.exists()
    still_serves(box)


def test_file_write_inside_working_folder(box):
    r = run(box, "with open('inside.txt', 'w') as f:\n    f.write('x')")
    assert r.status == "violation", r
    assert run(box, "import os", call="os.listdir('.')").value == "[]"
    if box.workdir:  # outside bwrap the working folder is visible from here too
        assert os.listdir(box.workdir) == []
    still_serves(box)


def test_shutil_rmtree(box, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    r = run(box, f"import shutil\nshutil.rmtree({str(victim)!r})")
    assert r.status == "violation", r
    assert (victim / "keep.txt").read_text() == "precious"
    still_serves(box)


def test_kill_parent(box):
    before = box.worker_pids
    r = run(box, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    assert r.status == "violation", r
    r = run(box, "import os, signal\nos.killpg(0, signal.SIGKILL)")
    assert r.status == "violation", r
    assert box.worker_pids == before  # nobody died, nothing was restarted
    still_serves(box)


def test_memory_bomb(box):
    assert run(box, "x = bytearray(10 ** 10)").status == "out-of-memory"
    r = run(box, "chunks = []\nwhile True:\n    chunks.append('x' * 10 ** 6)")
    assert r.status == "out-of-memory", r
    # Within the limit is fine; a job can lower its own limit.
    assert run(box, "x = bytearray(64 * 2 ** 20)", call="len(x)").value == str(64 * 2 ** 20)
    assert run(box, "x = bytearray(64 * 2 ** 20)", memory_mb=32).status == "out-of-memory"
    still_serves(box)


def test_infinite_loop(box):
    r = run(box, "while True:\n    pass", timeout=0.5)
    assert r.status == "timeout" and "0.5 s" in r.error, r
    still_serves(box)


def test_deep_recursion(box):
    r = run(box, "def f(n):\n    return f(n + 1)", call="f(0)")
    assert r.status == "error" and "RecursionError" in r.error, r
    # Recursion inside C (repr of a deeply nested list) must not crash the child.
    r = run(box, "x = []\nfor _ in range(10 ** 5):\n    x = [x]", call="x")
    assert r.status == "error" and "RecursionError" in r.error, r
    still_serves(box)


def test_huge_output(box):
    r = run(box, "while True:\n    print('spam' * 1000)")
    assert r.status == "violation" and r.output_too_large and r.stdout == "", r
    r = run(box, "def f():\n    return 'x' * 10 ** 7", call="f()")
    assert r.status == "violation" and r.output_too_large and r.value is None, r
    still_serves(box)


def test_output_limit_is_exact_and_never_truncates():
    with Sandbox(workers=1, max_output_chars=1000, bwrap="off") as small:
        assert run(small, "print('x' * 999)").stdout == "x" * 999 + "\n"
        over = run(small, "print('x' * 1000)")
        assert over.output_too_large and over.stdout == ""
        assert run(small, "", call="'y' * 998").value == "'" + "y" * 998 + "'"
        assert run(small, "", call="'y' * 999").output_too_large


@pytest.mark.parametrize("code", [
    "import random",
    "from random import randint",
    "import time as clock",
    "import logging.handlers",
])
def test_banned_import_direct(box, code):
    r = run(box, code)
    assert r.status == "violation" and r.error.startswith("banned import"), r
    assert r.duration == 0.0  # refused before any process was forked


@pytest.mark.parametrize("code", [
    "m = __import__('random')",
    "m = __import__('ran' + 'dom')",
    "import builtins\nm = builtins.__import__(''.join(['date', 'time']))",
])
def test_banned_import_via_dunder_import(box, code):
    assert run(box, code).status == "violation"


@pytest.mark.parametrize("code", [
    "import importlib\nm = importlib.import_module('threading')",
    "from importlib import import_module as im\nm = im('hash' + 'lib')",
    "import importlib\nm = importlib.__import__('sub' + 'process')",
])
def test_banned_import_via_importlib(box, code):
    assert run(box, code).status == "violation"


@pytest.mark.parametrize("code", [
    "import os.path",
    "from os import path",
    "from os import environ",
    "import os\nx = os.environ['HOME']",
    "import sys\nsys.exit(0)",
    "from sys import exit",
    "import os as o\np = o.path.join('a', 'b')",
    "m = __import__('os', fromlist=['pa' + 'th'])",
])
def test_banned_import_via_dotted_name(box, code):
    assert run(box, code).status == "violation"


def test_allowed_neighbours_of_banned_names(box):
    # Dotted boundaries: `os.path` does not ban `os`; `statistics` (which uses `random`) works.
    r = run(box, "import os, collections, statistics, fractions, dataclasses, decimal",
            call="statistics.mean([1, 2, 3])")
    assert r.status == "ok" and r.value == "2", r
    # An allowed module that needs a banned one the worker does not preload is refused.
    assert run(box, "import timeit").status == "violation"


# ---- the seccomp layer on its own ---------------------------------------------------------

KILLED_BY_FILTER = "killed by the system-call filter"


@pytest.mark.parametrize("code", [
    "import os\nos.fork()",
    "import subprocess\nsubprocess.run(['true'])",
    "import socket\nsocket.socket()",
    "open('inside.txt', 'w')",
    "import os\nos.open('/tmp/azmed-sandbox-probe', os.O_WRONLY | os.O_CREAT)",
    "import os\nos.mkdir('d')",
    "import os\nos.kill(os.getppid(), 0)",
])
def test_seccomp_alone_refuses(bare, code):
    # A denied call kills the run: the program cannot catch it and carry on.
    r = run(bare, f"try:\n{textwrap.indent(code, '    ')}\nexcept BaseException:\n    pass")
    assert r.status == "violation" and KILLED_BY_FILTER in r.error, r
    assert not os.path.exists("/tmp/azmed-sandbox-probe")


def test_seccomp_alone_keeps_files(bare, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    assert run(bare, f"import shutil\nshutil.rmtree({str(victim)!r})").status == "violation"
    assert run(bare, f"import os\nos.remove({str(victim / 'keep.txt')!r})").status == "violation"
    assert run(bare, f"import os\nos.rename({str(victim)!r}, {str(tmp_path / 'moved')!r})").status == "violation"
    assert (victim / "keep.txt").read_text() == "precious"
    # os.system cannot start a shell: the fork kills the run and nothing happens.
    r = run(bare, f"import os\nstatus = os.system('touch {tmp_path / 'ran'}')", call="status")
    assert r.status == "violation" and KILLED_BY_FILTER in r.error and not (tmp_path / "ran").exists()
    still_serves(bare)


# ---- bwrap --------------------------------------------------------------------------------

def test_bwrap_layer_alone(tmp_path, listener):
    port, connected = listener
    with started(Sandbox(workers=1, bwrap="on", seccomp=False, audit_hook=False, banned_imports=[])) as wrapped:
        assert wrapped.layers == ["rlimits", "unprivileged", "bwrap"]
        r = run(wrapped, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)")
        assert r.status == "error" and not connected(), r
        r = run(wrapped, "open('/home-or-root-file', 'w')")
        assert r.status in ("error", "violation") and not os.path.exists("/home-or-root-file"), r
        still_serves(wrapped)


def test_layers_are_reported():
    with Sandbox(workers=1, bwrap="off") as plain:
        layers = plain.layers
        assert layers[0] == "rlimits" and "ast-import-check" in layers and "audit-hook" in layers
        assert "bwrap" not in layers
        assert "seccomp" in layers and "unprivileged" in layers and plain.missing == []
    with Sandbox(workers=1, bwrap="off", banned_imports=[], audit_hook=False, seccomp=False) as fewer:
        assert fewer.layers == ["rlimits", "unprivileged"]
        assert "seccomp inactive: turned off (seccomp=False)" in fewer.notes
        assert run(fewer, "import random", call="random.__name__").value == "'random'"


# ---- the pool -----------------------------------------------------------------------------

def test_values_stdout_and_errors(box):
    r = run(box, "print('hello')\ndef f(xs):\n    return sorted(xs)", call="f([3, 1, 2])")
    assert (r.status, r.value, r.stdout) == ("ok", "[1, 2, 3]", "hello\n")
    r = run(box, "def f(a):\n    return 1 / a", call="f(0)")
    assert r.status == "error" and "ZeroDivisionError" in r.error and "line 2" in r.error, r
    r = run(box, "def f(:\n    pass")
    assert r.status == "error" and "SyntaxError" in r.error and "line 1" in r.error, r
    r = run(box, "raise SystemExit(3)")
    assert r.status == "error" and "exit" in r.error, r
    assert run(box, "", call="'é\\u2603'").value == repr("é\u2603")


def test_run_many_keeps_order_and_mixes_statuses(box):
    jobs = [Job(IDENTITY, call=f"f({i})") for i in range(40)]
    jobs[7] = Job("while True:\n    pass", timeout=0.3)
    jobs[13] = Job("import random")
    jobs[21] = Job("def f(a):\n    return a[5]", call="f([])")
    results = box.run_many(jobs)
    assert [r.status for r in results].count("ok") == 37
    assert (results[7].status, results[13].status, results[21].status) == ("timeout", "violation", "error")
    assert all(results[i].value == repr(i) for i in range(40) if i not in (7, 13, 21))


def test_pinned_runs_use_interpreters_with_different_hash_seeds(box):
    a, b = box.run_many([Job("", call="hash('abc')", worker=0), Job("", call="hash('abc')", worker=1)])
    assert a.ok and b.ok and a.value != b.value
    same = box.run_many([Job("", call="hash('abc')", worker=0) for _ in range(3)])
    assert len({r.value for r in same}) == 1


def test_dead_worker_is_restarted_transparently():
    with Sandbox(workers=2, bwrap="off") as pool:
        still_serves(pool)
        victim = pool.worker_pids[0]
        os.kill(victim, 9)
        still_serves(pool)
        assert victim not in pool.worker_pids and len(pool.worker_pids) == 2


def test_close_stops_workers_and_pool_restarts_on_use():
    pool = Sandbox(workers=2, bwrap="off")
    pids = pool.worker_pids
    pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    still_serves(pool)  # starts again lazily
    pool.close()


def test_program_too_large_is_refused():
    with Sandbox(workers=1, max_code_chars=1000, bwrap="off") as small:
        r = small.run(Job("x = 1\n" * 500))
        assert r.status == "violation" and "too large" in r.error


def test_bwrap_on_without_bwrap_says_how_to_fix(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxError, match="apt-get install bubblewrap"):
        Sandbox(workers=1, bwrap="on").start()


# ---- the static import check --------------------------------------------------------------

@pytest.mark.parametrize("code, entries", [
    ("import random", ["random"]),
    ("import os", []),
    ("import timeit", []),
    ("import os.path", ["os.path"]),
    ("from os import path, sep", ["os.path"]),
    ("from os import sep", []),
    ("from os import *", ["os.environ"]),
    ("from os.path import join", ["os.path"]),
    ("import os\nos.environ.get('X')", ["os.environ"]),
    ("import os\nos.getcwd()", []),
    ("import sys\nsys.exit()", ["sys.exit"]),
    ("import sys\nsys.getrecursionlimit()", []),
    ("import os\nos.sys.exit()", ["os.sys"]),
    ("x = __import__('datetime').date", ["datetime"]),
    ("import importlib as il\nil.import_module('calendar')", ["calendar"]),
    ("import os\ngetattr(os, 'path')", ["os.path"]),
    ("def f(time):\n    return time.sleep", []),  # a parameter, not the module
    ("import mytime, timeseries", []),
])
def test_find_banned_imports(code, entries):
    assert [use.entry for use in find_banned_imports(code, BANNED_IMPORTS)] == entries


def test_banned_use_names_line():
    (use,) = find_banned_imports("x = 1\n\nimport hashlib\n")
    assert use.line == 3 and "hashlib" in str(use) and "line 3" in str(use)


def test_bwrap_auto_falls_back_when_bwrap_cannot_start(monkeypatch):
    # A machine where `bwrap` exists but cannot create namespaces: stand in a command that fails.
    import azmed.sandbox.pool as pool

    monkeypatch.setattr(pool.shutil, "which", lambda name: "/bin/false")
    monkeypatch.setattr(pool, "bwrap_command", lambda *args, **kwargs: ["/bin/false", "--"])
    with Sandbox(workers=1, bwrap="auto") as fallback:
        assert "bwrap" not in fallback.layers
        assert any(note.startswith("bwrap inactive") for note in fallback.notes)
        still_serves(fallback)
