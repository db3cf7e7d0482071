"""The bubblewrap command that starts a sandbox worker in its own namespaces, seeing only
what Python needs.

    from azmed.sandbox.bwrap import bwrap_command
    command = bwrap_command(interpreter, worker_files) + [interpreter, "-I", "-S", "-B", "/azmed-sandbox/worker.py"]

Inside, a worker and its runs see:
- read-only: the interpreter, its shared library, its standard library (site-packages
  hidden under an empty tmpfs), the system's shared-library folders (/usr/lib, /lib,
  /lib64 and the like) with the loader's cache, and the worker's four source files in
  /azmed-sandbox; nothing else of the host: no /etc (but ld.so.cache), /home, /root, /var,
  /opt, no project tree, no virtual environment;
- a fresh /dev (null, zero, random, urandom, ...), a fresh /proc of their own PID namespace
  (no other process exists there, the pool included), a private /tmp;
- no network (own network namespace), own IPC (no host System V objects), UTS and cgroup
  namespaces; an empty environment; a new session (no controlling terminal); they die with
  the pool (`--die-with-parent`).
When the pool runs as root, bwrap keeps for the worker only the capabilities it needs to
hand runs an unprivileged identity and to kill them (CAP_SETUID, CAP_SETGID, CAP_SETPCAP,
CAP_KILL); runs hold none.

Limits: bubblewrap must be installed and allowed to create namespaces (as root, or through
unprivileged user namespaces); the caller falls back or refuses when it cannot start.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

SANDBOX_DIR = "/azmed-sandbox"  # where the worker's files appear inside
WORKER_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")
_LIBRARY_DIRS = ("/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32")


def interpreter() -> str:
    """The real interpreter behind this one (a virtual environment's python is a link)."""
    import sys

    return os.path.realpath(sys.executable)


@functools.lru_cache(maxsize=4)
def _standard_library(python: str) -> list[str]:
    """The folders `python -I -S` imports from (asked of the interpreter itself, once)."""
    try:
        done = subprocess.run([python, "-I", "-S", "-c", "import sys; print('\\n'.join(sys.path))"],
                              capture_output=True, text=True, timeout=30, env={})
    except (OSError, subprocess.SubprocessError):
        return []
    folders = {os.path.realpath(p) for p in done.stdout.splitlines() if p and os.path.isdir(p)}
    return sorted(f for f in folders if not any(f.startswith(g + "/") for g in folders))  # lib-dynload is inside


def _libpython() -> list[str]:
    libdir, name = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if not (libdir and name):
        return []
    path = os.path.join(libdir, name)
    return [os.path.realpath(path)] + ([path] if os.path.islink(path) else []) if os.path.exists(path) else []


def _parents(paths) -> list[str]:
    """Every folder above `paths`, shallowest first (bwrap would create them 0700)."""
    out = set()
    for path in paths:
        for parent in Path(path).parents:
            if str(parent) != "/":
                out.add(str(parent))
    return sorted(out, key=lambda p: (p.count("/"), p))


def bwrap_command(python: str, worker_files: list[Path], as_root: bool) -> list[str]:
    """bwrap and its options, ending with '--'; the worker's files appear in SANDBOX_DIR."""
    stdlib = _standard_library(python)
    binds = [python] + _libpython() + stdlib
    others = ["/etc/ld.so.cache"] * os.path.exists("/etc/ld.so.cache") + [f"{SANDBOX_DIR}/worker.py"]
    cmd = [shutil.which("bwrap") or "bwrap"]
    for folder in _LIBRARY_DIRS:  # first: a standard library inside one is bound again below
        if os.path.islink(folder):
            cmd += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            cmd += ["--ro-bind", folder, folder]
    for folder in _parents(binds + others):
        if folder not in binds and not any(folder == d or folder.startswith(d + "/") for d in _LIBRARY_DIRS):
            cmd += ["--perms", "0755", "--dir", folder]
    for path in binds:
        cmd += ["--ro-bind", path, path]
    for folder in stdlib:  # third-party packages are not the standard library
        for name in ("site-packages", "dist-packages"):
            if os.path.isdir(os.path.join(folder, name)):
                cmd += ["--tmpfs", os.path.join(folder, name)]
    if os.path.exists("/etc/ld.so.cache"):
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for file in worker_files:
        cmd += ["--ro-bind", str(file), f"{SANDBOX_DIR}/{file.name}"]
    cmd += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-pid", "--unshare-cgroup-try",
            "--clearenv", "--die-with-parent", "--new-session", "--chdir", "/tmp"]
    if as_root:
        cmd += ["--cap-drop", "ALL"]
        for cap in WORKER_CAPABILITIES:
            cmd += ["--cap-add", cap]
    return cmd + ["--"]
