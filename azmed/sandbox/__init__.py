"""Run untrusted, model-written Python programs fast and contained.

    from azmed.sandbox import Job, Sandbox
    with Sandbox() as box:
        print(box.layers)                        # the protection layers in force here
        result = box.run(Job("def f(a):\n    return a[::-1]", call="f('abc')"))
        print(result.status, result.value)       # ok 'cba'

Layers, outermost first (each can be missing; `Sandbox.layers` and `Sandbox.notes` say which
are active and why not):
- ast-import-check: the program's syntax tree against the Absolute Zero ban list
  (`imports.py`), before anything runs;
- bwrap: workers inside bubblewrap -- no network, read-only filesystem, private /tmp;
- rlimits: address space, CPU seconds, file size 0, 64 open files, no processes, no core;
- seccomp: BPF filters denying (EPERM) process creation, signals, network, and any file
  write, delete or rename (`syscall_filter.py`): one on each worker, inherited by its
  children, and a small one each child adds for what the worker itself must do (fork, kill);
- audit-hook: a Python audit hook and import guard that refuse the same actions, and
  banned modules named at run time, with a readable message; the run is a "violation"
  even when the program catches the exception. It reports; the walls are the layers above;
- the worker's wall-clock timeout (SIGKILL), and this process's watch over the workers.

Covered: fork bombs, subprocess/os.system, sockets, file writes and deletes anywhere,
killing other processes, memory and output bombs, infinite loops, deep recursion, banned
imports direct, dynamic or dotted. Not covered: reading files the user can read (unless
bwrap), spending the allowed CPU and memory, forging one's own result from inside the
run, and kernel bugs. Linux only.
"""

from azmed.sandbox.jobs import Job, RunResult, SandboxConfig, Status
from azmed.sandbox.imports import BANNED_IMPORTS, BannedUse, find_banned_imports
from azmed.sandbox.dispatch import SandboxError
from azmed.sandbox.pool import Sandbox

__all__ = ["BANNED_IMPORTS", "BannedUse", "Job", "RunResult", "Sandbox", "SandboxConfig", "SandboxError",
           "Status", "find_banned_imports"]
