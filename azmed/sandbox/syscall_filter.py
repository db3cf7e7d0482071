"""The sandbox's seccomp filters, compiled once with `pyseccomp` (libseccomp) to raw BPF.

    from azmed.sandbox.syscall_filter import compile_filters
    filters = compile_filters()   # filters.worker, filters.child: bytes; filters.problem: str

The pool compiles the filters in its own process and hands the bytes to its workers: workers
stay small (libseccomp and its ctypes bindings would double the cost of every fork) and the
filters are built once. There are two, because a worker must fork, kill its children and
give them an unprivileged identity, while the children may do none of that:
- the worker filter, loaded by each worker on itself at start (a worker needs none of what
  it denies) and inherited by every child, so no child pays the kernel's BPF compilation;
- the child filter, loaded by each child after its rlimits and identity are set: no process
  creation, no signals, no raising resource limits, no change of identity or capabilities,
  and no closing or replacing the result pipe (`protocol.RESULT_FD`; close_range at all).

A denied call **kills the run** (SIGSYS, reported as a "violation" by the worker, which sees
the signal): unlike an error code, a program cannot catch it and carry on as if nothing
happened. Together the filters deny every system call that reaches outside the run:
- process creation and program execution (fork, vfork, clone, clone3, execve, ...);
- signals to any process, tracing or reading other processes' memory, and the three ways to
  make the kernel signal a process on a file's behalf (fcntl F_SETOWN, F_SETOWN_EX and
  F_SETSIG; ioctl FIOSETOWN and SIOCSPGRP);
- network (socket, connect, bind, ...);
- file writes: open/openat with any write, create, truncate or append flag, creat, openat2
  (whose flags a filter cannot read), and every call that deletes, renames, links, changes
  modes, owners or times of files;
- shared state that outlives a run: System V IPC (shm*, msg*, sem*) and POSIX message queues;
- scheduling other processes (setpriority, sched_set*, ioprio_set, migrate_pages, ...);
- raising resource limits, changing identity, namespaces, mounts, kernel modules, io_uring,
  bpf, userfaultfd and similar.
write(2) itself stays allowed: a run writes to the pipes it already holds. System calls of
other ABIs (x32, i386) kill the run.

Limits: needs Linux, libseccomp and `pyseccomp` (a base dependency); a name this libseccomp
does not know is skipped. Reading files stays allowed (bwrap decides what exists to be read;
the unprivileged user, what may be).
"""

from __future__ import annotations

import functools
import os
import tempfile
from typing import NamedTuple

from azmed.sandbox.protocol import RESULT_FD

# In the child filter: what the worker itself needs.
PROCESS = ("fork", "vfork", "clone", "clone3")
SIGNALS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal")
LIMITS = ("setrlimit",)  # and prlimit64 with a new limit
IDENTITY = ("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
            "setfsuid", "setfsgid", "capset")
# In the worker filter (inherited by children).
EXECUTION = ("execve", "execveat", "pidfd_getfd", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp")
NETWORK = ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4")
FILE_CHANGES = (
    "creat", "openat2", "open_by_handle_at", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "truncate", "ftruncate", "fallocate", "utime", "utimes", "utimensat", "futimesat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "memfd_create", "memfd_secret",
)
SHARED_STATE = ("shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
                "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend",
                "mq_timedreceive", "mq_notify", "mq_getsetattr")
SCHEDULING = ("setpriority", "sched_setscheduler", "sched_setparam", "sched_setattr", "sched_setaffinity",
              "ioprio_set", "migrate_pages", "move_pages", "set_mempolicy", "mbind")
SYSTEM = (
    "unshare", "setns", "chroot", "pivot_root", "mount", "umount2",
    "fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "personality",
    "syslog", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "fanotify_init", "name_to_handle_at",
    "vhangup", "lookup_dcookie",
)
# Flags of open(2)/openat(2) that write, create, truncate or append.
WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)
# fcntl(2) commands and ioctl(2) requests that direct a file's signals to a process.
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902


class Filters(NamedTuple):
    """BPF programs (empty when unavailable) and, if so, the reason."""

    worker: bytes
    child: bytes
    problem: str


@functools.lru_cache(maxsize=1)
def compile_filters() -> Filters:
    """The worker and child filters, or empty ones and the reason seccomp cannot be used."""
    try:
        import pyseccomp as sc
    except ImportError as exc:
        return Filters(b"", b"", f"pyseccomp is not installed ({exc}); install it with `pip install pyseccomp`")
    except (OSError, RuntimeError) as exc:  # the package is there but libseccomp is not
        return Filters(b"", b"", f"libseccomp is unavailable ({exc}); install the libseccomp2 system package")
    try:
        kill = sc.KILL_PROCESS
        worker = _new_filter(sc)
        for name in EXECUTION + NETWORK + FILE_CHANGES + SHARED_STATE + SCHEDULING + SYSTEM:
            _add(worker, kill, name)
        for flag in WRITE_FLAGS:
            _add(worker, kill, "open", sc.Arg(1, sc.MASKED_EQ, flag, flag))
            _add(worker, kill, "openat", sc.Arg(2, sc.MASKED_EQ, flag, flag))
        for command in (F_SETOWN, F_SETSIG, F_SETOWN_EX):
            _add(worker, kill, "fcntl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, command))
        for request in (FIOSETOWN, SIOCSPGRP):
            _add(worker, kill, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
        child = _new_filter(sc)
        for name in PROCESS + SIGNALS + LIMITS + IDENTITY:
            _add(child, kill, name)
        # prlimit64 only reads limits when its new-limit pointer is NULL.
        _add(child, kill, "prlimit64", sc.Arg(2, sc.NE, 0))
        # The result pipe stays where the worker reads it: no closing or replacing its fd
        # (the kernel reads these arguments as 32-bit, hence the masks).
        _add(child, kill, "close", sc.Arg(0, sc.MASKED_EQ, 0xFFFFFFFF, RESULT_FD))
        _add(child, kill, "dup2", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, RESULT_FD))
        _add(child, kill, "dup3", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, RESULT_FD))
        _add(child, kill, "close_range")
        return Filters(_export(worker), _export(child), "")
    except (OSError, RuntimeError, ValueError, AttributeError) as exc:
        return Filters(b"", b"", f"could not build the seccomp filters: {exc}")


def _new_filter(sc):
    """An allow-by-default filter laid out as a binary tree where libseccomp can (2.5+): every
    system call of a run passes through it, so its lookup should not be a linear scan."""
    flt = sc.SyscallFilter(sc.ALLOW)
    try:
        flt.set_attr(sc.Attr.CTL_OPTIMIZE, 2)
    except (OSError, RuntimeError, ValueError, AttributeError):
        pass
    return flt


def _export(flt) -> bytes:
    with tempfile.TemporaryFile() as f:
        flt.export_bpf(f)
        f.seek(0)
        return f.read()


def _add(flt, action: int, name: str, *args) -> None:
    """Add a rule; a system call unknown to this libseccomp or architecture is skipped."""
    try:
        flt.add_rule(action, name, *args)
    except (OSError, RuntimeError, ValueError):
        pass
