"""The sandbox against the attacks of an outside security review: one test per attack class,
each program written here, each run without bwrap and (where it can run) inside it.

    .venv/bin/python -m pytest tests/test_sandbox_attacks.py -q

Every attack must be stopped with the right status, disclose nothing (a secret planted in
this process's environment and a file only root may read never show up in a result), kill
nothing (this process, which owns the pool as a trainer would, a sibling process of the
same user, and the workers all survive, unrestarted), and leave the pool serving correct
results to the next 50 good jobs. Attacks that the guard would stop first also run against
a pool without the guard (`bare`), so the kernel's layers are shown to hold on their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from azmed.sandbox import Job, Sandbox, SandboxError
from azmed.sandbox.syscall_filter import Filters

SECRET = "azmed-attack-secret-7f3a9c"
IDENTITY = "def f(a):\n    return a\n"
POOL = os.getpid()  # this process: the pool's owner, like a trainer
README = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "README.md"))
ROOT = os.geteuid() == 0


def _start(**options) -> Sandbox:
    sandbox = Sandbox(workers=2, timeout=5.0, memory_mb=128, **options)
    try:
        return sandbox.start()
    except SandboxError as exc:
        if options.get("bwrap") != "on":
            raise
        pytest.skip(f"bubblewrap cannot run here: {exc}")


@pytest.fixture(scope="module", autouse=True)
def planted_secret():
    """A secret in this process's environment, as a trainer's API key would be."""
    os.environ["AZMED_TEST_SECRET"] = SECRET
    yield
    os.environ.pop("AZMED_TEST_SECRET", None)


@pytest.fixture(scope="module", params=["off", "on"], ids=lambda mode: f"bwrap-{mode}")
def pools(request, planted_secret):
    """Two pools with bwrap off, or on: every layer (`guarded`), and only the kernel's
    layers (`bare`: seccomp, user, rlimits, bwrap; no import check, no audit hook)."""
    with _start(bwrap=request.param) as guarded, \
            _start(bwrap=request.param, banned_imports=[], audit_hook=False) as bare:
        yield guarded, bare


@pytest.fixture()
def box(pools):
    return pools[0]


@pytest.fixture()
def bare(pools):
    return pools[1]


@pytest.fixture()
def sibling():
    """Another process of this user, as another job or service would be."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def sysv_segments() -> list[str]:
    with open("/proc/sysvipc/shm") as fh:
        return fh.read().splitlines()[1:]


def attack(sandbox: Sandbox, code: str, *statuses: str, call: str | None = None):
    """Run an attack; check its status, that it disclosed nothing, that no worker was
    restarted, and that the next 50 good jobs come back correct."""
    before = sandbox.worker_pids
    result = sandbox.run(Job(textwrap.dedent(code), call=call))
    assert result.status in statuses, result
    assert SECRET not in f"{result.value} {result.stdout} {result.error}", result
    assert sandbox.worker_pids == before, "a worker died"
    good = sandbox.run_many([Job(IDENTITY, call=f"f({i})") for i in range(50)])
    assert [r.value for r in good] == [repr(i) for i in range(50)], good
    return result


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# ---- 1. signals by way of a file: fcntl F_SETOWN/F_SETSIG + O_ASYNC, ioctl FIOSETOWN -------

SIGNAL_OWNER = {
    "fcntl-setown": "fcntl.fcntl(fd, fcntl.F_SETOWN, target)",
    "fcntl-setsig": "fcntl.fcntl(fd, 10, signal.SIGKILL)",  # F_SETSIG
    "fcntl-setown-ex": "fcntl.fcntl(fd, 15, struct.pack('ii', 1, target))",  # F_SETOWN_EX, F_OWNER_PID
    "ioctl-fiosetown": "fcntl.ioctl(fd, 0x8901, struct.pack('i', target))",  # FIOSETOWN
}


@pytest.mark.parametrize("how", SIGNAL_OWNER)
@pytest.mark.parametrize("whom", ["pool", "worker", "sibling"])
def test_signal_through_a_pipe_kills_nobody(box, bare, sibling, how, whom):
    target = {"pool": POOL, "worker": "os.getppid()", "sibling": sibling}[whom]
    code = f"""
        import fcntl, os, signal, struct
        fd, target = 1, {target}
        {SIGNAL_OWNER[how]}
        fcntl.fcntl(fd, 10, signal.SIGKILL)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
        os.write(fd, b'x' * 70000)
    """
    attack(box, code, "violation")
    attack(bare, code, "violation")  # the filter kills it
    assert alive(sibling) and alive(POOL)


# ---- 2. the pool through /proc: fd, mem, environ ------------------------------------------

PROC = {
    "pool-environ": f"open('/proc/{POOL}/environ', 'rb').read()",
    "pool-environ-via-self": f"open('/proc/self/../{POOL}/environ', 'rb').read()",
    "pool-mem": f"open('/proc/{POOL}/mem', 'rb').read(64)",
    "pool-fds": f"[open(f'/proc/{POOL}/fd/' + n, 'rb') for n in os.listdir('/proc/{POOL}/fd')]",
    "worker-stdin": "open(f'/proc/{os.getppid()}/fd/0', 'rb').read(100)",
    "worker-stdout": "open(f'/proc/{os.getppid()}/fd/1', 'rb').read(100)",
    "worker-mem": "open(f'/proc/{os.getppid()}/mem', 'rb').read(64)",
    "worker-environ": "open(f'/proc/{os.getppid()}/environ', 'rb').read()",
}


@pytest.mark.parametrize("what", PROC)
def test_proc_entries_of_other_processes(box, bare, what):
    code = f"import os\nvalue = {PROC[what]}"
    attack(box, code, "violation", call="value")  # the guard refuses other pids' /proc
    if not ROOT and bare.workdir is not None and what.startswith("pool"):
        return  # same user, no PID namespace: the kernel lets it through (README: not covered)
    # Without the guard the kernel refuses (another uid, non-dumpable) or, inside bwrap's
    # PID namespace, the process does not exist; either way nothing is read.
    attack(bare, code, "violation", "error", call="value")


def test_environment_is_empty(bare):
    r = attack(bare, "import os\nenv = dict(os.environ)", "ok", call="env")
    assert "AZMED" not in r.value and "PATH" not in r.value, r


# ---- 3. host files --------------------------------------------------------------------------

def test_files_only_root_may_read(box):
    if not ROOT:
        pytest.skip("runs keep this process's user when it is not root")
    # Outside bwrap: permission denied (a violation); inside: the file is not there at all.
    status = "violation" if box.workdir is not None else "error"
    r = attack(box, "value = open('/etc/shadow').read()", status, call="value")
    assert "root:" not in r.error
    # Outside bwrap /root is closed; inside, it holds at most the folders above the interpreter.
    r = attack(box, "import os\nvalue = os.listdir('/root')", "violation" if box.workdir else "ok", call="value")
    if r.ok:
        python_parents = {part for part in os.path.realpath(sys.executable).split("/")}
        assert set(eval(r.value)) <= python_parents, r.value


def test_project_tree_is_not_mounted_inside_bwrap(box):
    if box.workdir is not None:
        pytest.skip("outside bwrap, files every user may read stay readable (README: not covered)")
    r = attack(box, f"value = open({README!r}).read()", "error", call="value")
    assert "FileNotFoundError" in r.error


def test_runs_hold_no_privilege(box):
    r = attack(box, """
        import os
        status = dict(line.split(':', 1) for line in open('/proc/self/status'))
        value = {k: status[k].split() for k in ('Uid', 'Gid', 'Groups', 'CapEff', 'CapPrm', 'CapBnd', 'CapAmb',
                                                'NoNewPrivs')}
    """, "ok", call="value")
    held = eval(r.value)
    assert "0" not in held["Uid"] and "0" not in held["Gid"] and held["NoNewPrivs"] == ["1"]
    assert all(int(held[cap][0], 16) == 0 for cap in ("CapEff", "CapPrm", "CapAmb"))
    if ROOT:
        assert held["Groups"] == [] and int(held["CapBnd"][0], 16) == 0


# ---- 4. failing open ------------------------------------------------------------------------

def test_missing_seccomp_refuses_to_start(monkeypatch):
    import azmed.sandbox.pool as pool

    missing = Filters(b"", b"", "pyseccomp is not installed (No module named 'pyseccomp')")
    monkeypatch.setattr(pool, "compile_filters", lambda: missing)
    with pytest.raises(SandboxError, match="missing layer.*seccomp.*pyseccomp.*allow_unconfined"):
        Sandbox(workers=1, bwrap="off").start()
    with Sandbox(workers=1, bwrap="off", allow_unconfined=True) as unconfined:
        assert "seccomp" not in unconfined.layers and unconfined.missing == ["seccomp"]
        assert any("pyseccomp is not installed" in note for note in unconfined.notes)


def test_missing_identity_change_refuses_to_start(monkeypatch):
    if not ROOT:
        pytest.skip("only a root pool changes the runs' identity")
    import azmed.sandbox.bwrap as bwrap

    # A worker that may not change uid (a container without CAP_SETUID): every run fails
    # to set itself up, and the pool refuses to start rather than run programs as root.
    monkeypatch.setattr(bwrap, "WORKER_CAPABILITIES", ("CAP_SETGID", "CAP_SETPCAP", "CAP_KILL"))
    try:
        Sandbox(workers=1, bwrap="on").start().close()
    except SandboxError as exc:
        if "missing layer" not in str(exc):
            pytest.skip(f"bubblewrap cannot run here: {exc}")
        assert "unprivileged" in str(exc) and "allow_unconfined" in str(exc)
    else:
        pytest.fail("the pool started without the unprivileged layer")


def test_seccomp_is_a_base_dependency():
    from importlib.metadata import requires

    base = [r for r in requires("azmed") if "extra ==" not in r]
    assert any(r.startswith("pyseccomp") for r in base), base


def test_posixsubprocess_fork_exec_runs_nothing(box, bare, tmp_path):
    marker = tmp_path / "ran"
    code = f"""
        import _posixsubprocess, os
        r, w = os.pipe()
        _posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'touch {marker}'], [b'/bin/sh'], True, (w,), None, None,
                                   -1, -1, -1, -1, -1, -1, r, w, False, False, -1, None, None, None, -1, None, False)
    """
    attack(box, code, "violation")
    attack(bare, code, "violation")
    assert not marker.exists()


# ---- 5. disarming or going around the guard -----------------------------------------------

# What disarmed the old guard: its state behind `__import__.__self__`.
DISARM = """
try:
    guard = __import__.__self__
    guard.armed, guard.violation = False, ''
except Exception:
    pass
"""


def test_disarmed_guard_cannot_remove_files(box, bare, tmp_path):
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    code = DISARM + f"import os\ntry:\n    os.remove({str(victim)!r})\nexcept BaseException:\n    pass\n"
    attack(box, code, "violation")
    attack(bare, code, "violation")
    assert victim.read_text() == "precious"


def test_disarmed_guard_cannot_signal(box, bare, sibling):
    code = DISARM + (f"import os, signal\nfor pid in ({sibling}, os.getppid(), {POOL}):\n    try:\n"
                     f"        os.kill(pid, signal.SIGKILL)\n    except BaseException:\n        pass\n")
    attack(box, code, "violation")
    attack(bare, code, "violation")
    assert alive(sibling)


def test_disarmed_guard_cannot_use_sysv_shared_memory(box, bare):
    before = sysv_segments()
    code = DISARM + "import ctypes\nlibc = ctypes.CDLL(None)\nvalue = libc.shmget(0, 4096, 0o1666)\n"
    attack(box, code, "violation", call="value")
    attack(bare, code, "violation", call="value")
    assert sysv_segments() == before


@pytest.mark.parametrize("code", [
    "import importlib\nm = getattr(importlib, '_boot' + 'strap')._gcd_import('ran' + 'dom')",
    "import importlib\nm = importlib.import_module('ti' + 'me')\nm.time()",
    "exec('import ran' + 'dom', {})",
    "exec('from os import pa' + 'th', {'__name__': '__sandbox__'})",
    "import sys\nm = getattr(sys, 'mod' + 'ules')['ran' + 'dom']\nm.random()",
    "import sys\nm = getattr(sys, 'mod' + 'ules').get('ti' + 'me')\nm.time()",
    "import statistics\nstatistics.random.random()",
    "import importlib.util\nspec = importlib.util.find_spec('ran' + 'dom')",
    "src = open(__import__('json').__file__.rsplit('/', 2)[0] + '/json/../rand' + 'om.py').read()",
    DISARM + "m = __import__('ran' + 'dom')",
])
def test_banned_modules_at_run_time(box, code):
    attack(box, code, "violation")


def test_everything_reachable_from_dunder_import_gives_nothing(box):
    # The run-time import check holds no state: what a program finds behind `__import__`
    # (its closure: the interpreter's own import) still finds only stand-ins.
    attack(box, """
        found = [c.cell_contents for c in (__import__.__closure__ or ())]
        found += list(getattr(__import__, '__globals__', {}).values())
        original = [f for f in found if getattr(f, '__name__', '') == '__import__' and f is not __import__]
        m = original[0]('ran' + 'dom')
        m.random()
    """, "violation")


# ---- 6. forged or lost results -------------------------------------------------------------

def test_resetting_the_violation_record_changes_nothing(box):
    attack(box, DISARM + textwrap.dedent("""
        try:
            __import__('ran' + 'dom')
        except BaseException:
            pass
        import sys
        for module in list(vars(sys.modules.get('__main__', sys)).values()):
            for name in ('violation', 'armed'):
                try:
                    setattr(module, name, '')
                except Exception:
                    pass
    """), "violation")


def test_swallowing_the_output_limit_changes_nothing(box):
    r = attack(box, """
        try:
            print('x' * 300000)
        except BaseException:
            pass
        import sys
        try:
            sys.stdout.flush()
        except BaseException:
            pass
    """, "violation")
    assert r.output_too_large and r.stdout == ""


FORGED_OK = "import os, struct\nos.write(3, b'R' + struct.pack('<BBIII', 0, 1, 2, 0, 0) + b'42')\n"


def test_forged_result_record_cannot_undo_a_refusal(box):
    # The refusal went to the worker before the forged "ok": the run stays a violation.
    attack(box, "try:\n    __import__('ran' + 'dom')\nexcept BaseException:\n    pass\n" + FORGED_OK, "violation")


def test_nothing_after_a_forged_result_takes_effect(bare, tmp_path):
    # A program may claim its own value (it could have returned it); what it tries after
    # that is still blocked by the kernel, and the worker ends the run.
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    attack(bare, FORGED_OK + f"os.unlink({str(victim)!r})\nwhile True:\n    pass\n", "ok", "violation")
    assert victim.read_text() == "precious"


def test_closing_the_result_pipe_is_a_violation(bare):
    attack(bare, "import os\nos.close(3)", "violation")
    attack(bare, "import os\nos.dup2(0, 3)", "violation")


@pytest.mark.parametrize("code", [
    "import marshal\ncode = marshal.loads(marshal.dumps(compile('1', 'x', 'eval')))",
    "f = lambda: 1\ng = f.__code__.replace(co_filename='/usr/lib/python3/forged.py')",
    "import marshal, io\ncode = marshal.load(io.BytesIO(marshal.dumps(1)))",
])
def test_crafted_bytecode_is_refused(box, code):
    # Bytecode the compiler did not produce can take over the interpreter: refused.
    attack(box, code, "violation")


def test_standard_library_imports_still_work(box):
    # ... while the import system's own reading of .pyc files goes through.
    r = attack(box, "import dataclasses, fractions, json, textwrap, difflib, pprint\n"
                    "@dataclasses.dataclass\nclass P:\n    x: int\n", "ok", call="P(3)")
    assert r.value == "P(x=3)"
