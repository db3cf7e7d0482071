"""One run, in a child forked from a warm worker: lock the process down, run the program,
report. Runs in the worker interpreter (imported there as `child`); the pool never imports it.

    import child
    child.run(job, program, call, setup, stdout_fd=w1, result_fd=w3)   # in the forked child; never returns

In order, the child
1. points fd 0 and 2 at /dev/null, fd 1 at the output pipe the worker counts, fd 3
   (`protocol.RESULT_FD`) at its result pipe, and closes every other fd except the worker's
   read-only handles on the standard-library folders;
2. sets rlimits (address space, CPU seconds, file size 0, 64 open files, no processes, no core);
3. when the worker is root: leaves every supplementary group, takes the unprivileged uid and
   gid (the kernel then clears every capability; the worker emptied the bounding and
   inheritable sets already) and becomes non-dumpable, so its /proc entries are closed to
   other processes; then asks to be killed when the worker dies (a change of uid would
   clear that request, hence after);
4. loads the child seccomp filter on top of the worker's (see `syscall_filter.py`);
5. replaces the worker's bits a program could look at (stdin buffer, compiled programs,
   module references) and arms the guard (`guard.py`);
6. executes the program and its call, then writes its result record to fd 3 and exits.

Limits: Linux only; the walls are the kernel's (filter, user, rlimits, namespaces), the
guard reports.
"""

from __future__ import annotations

import builtins
import ctypes
import os
import resource
import signal
import sys

from guard import ARM_EVENT
from protocol import OUTPUT_TOO_LARGE, RESULT_FD, encode_result

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4


def prctl(option: int, arg: int = 0) -> None:
    if _LIBC.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


class SeccompLoader:
    """Loads a precompiled BPF program with prctl(2); prepared in the worker so the child
    makes only two system calls."""

    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    def __init__(self, bpf: bytes) -> None:
        if len(bpf) % 8 or not bpf:
            raise ValueError("BPF program must be a non-empty multiple of 8 bytes")
        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self._prog = self._Prog(len(bpf) // 8, ctypes.addressof(self._buf))

    def load(self, set_no_new_privs: bool = True) -> None:
        """Load the filter; `set_no_new_privs=False` when this process has it already (a
        child of a worker that loaded its own filter: the flag is inherited)."""
        if set_no_new_privs:
            prctl(self.PR_SET_NO_NEW_PRIVS, 1)
        if _LIBC.prctl(self.PR_SET_SECCOMP, self.SECCOMP_MODE_FILTER, ctypes.addressof(self._prog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def drop_capability_sets() -> None:
    """Empty the capability bounding set, the ambient set and the inheritable set of this
    process (the worker, once), keeping its effective and permitted capabilities; children
    inherit the empty sets, and lose the rest when they change uid."""
    last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap)
    _LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on old kernels: nothing to clear

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if _LIBC.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    data[0].inheritable = data[1].inheritable = 0
    if _LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


class Setup:
    """What the worker prepared for its runs (built once, read by every child)."""

    def __init__(self, devnull: int, workdir: str, keep_fds: int, identity: tuple[int, int] | None,
                 child_filter: SeccompLoader | None, audit: bool, recursion_limit: int, worker_pid: int) -> None:
        self.devnull, self.workdir, self.keep_fds = devnull, workdir, keep_fds
        self.identity, self.child_filter, self.audit = identity, child_filter, audit
        self.recursion_limit, self.worker_pid = recursion_limit, worker_pid
        self.mapped = 0  # bytes the worker maps; a run may add its memory limit to this
        self.forget = []  # callables that wipe what a run should not see of the worker


def _set_limits(job: dict, mapped: int) -> None:
    address_space = mapped + int(job["memory_mb"]) * 1024 * 1024
    cpu = int(job["timeout"]) + 1
    for limit, value in (
        (resource.RLIMIT_AS, address_space),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NOFILE, 64),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _become_unprivileged(identity: tuple[int, int] | None, worker_pid: int) -> None:
    if identity is not None:
        uid, gid = identity
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the request above
        os._exit(0)


def error_text(exc: BaseException) -> str:
    """`Type: message (line N)`, the line being the program's innermost one."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<program>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == "<program>":
        line = exc.lineno
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{text} (line {line})" if line else text


def run_program(job: dict, program, call) -> tuple[str, str | None, str]:
    """Execute the compiled program and call; (status, value repr, error)."""
    namespace = {"__name__": "__sandbox__", "__builtins__": builtins}
    value = None
    try:
        exec(program, namespace)
        if call is not None:
            value = repr(eval(call, namespace))
            if len(value) > job["max_output"]:  # the worker checks again; this saves the pipe
                return "violation", None, (f"{OUTPUT_TOO_LARGE}: the value's repr has {len(value)} characters, "
                                           f"the limit is {job['max_output']}")
        return "ok", value, ""
    except MemoryError:
        return "out-of-memory", None, f"MemoryError: over the {job['memory_mb']} MB memory limit"
    except PermissionError as exc:
        return "violation", None, error_text(exc)
    except SystemExit as exc:
        return "error", None, f"SystemExit: the program called exit({exc.code!r})"
    except BaseException as exc:  # the program's own error, whatever it is
        try:
            return "error", None, error_text(exc)
        except BaseException:  # a message that cannot be shown (e.g. a broken __str__)
            return "error", None, "the program raised an exception that cannot be shown"


def run(job: dict, program, call, setup: Setup, stdout_fd: int, result_fd: int) -> None:
    """Runs in the forked child; never returns."""
    try:
        os.dup2(stdout_fd, 1)
        os.dup2(setup.devnull, 0)
        os.dup2(setup.devnull, 2)
        os.dup2(result_fd, RESULT_FD)
        os.closerange(RESULT_FD + 1 + setup.keep_fds, 65536)
        os.chdir(setup.workdir)
        _set_limits(job, setup.mapped)
        _become_unprivileged(setup.identity, setup.worker_pid)
        if setup.child_filter is not None:
            setup.child_filter.load(set_no_new_privs=False)  # the worker's own filter set it
        out = sys.stdout = sys.__stdout__  # fd 1 is now the output pipe; the worker never wrote to it
        for forget in setup.forget:
            forget()
        sys.setrecursionlimit(setup.recursion_limit)
        if setup.audit:
            sys.audit(ARM_EVENT)
        status, value, error = run_program(job, program, call)
        try:
            out.flush()
        except (OSError, ValueError):  # the program closed or broke its stdout: its output is lost
            pass
        data = encode_result(status, value, error)
    except BaseException as exc:  # a failure to set the sandbox up is never the program's
        data = encode_result("error", None, f"sandbox setup failed: {exc!r}")
    try:
        while data:
            data = data[os.write(RESULT_FD, data):]
    finally:
        os._exit(0)
