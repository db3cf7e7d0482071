"""Run untrusted, model-written Python programs fast and contained.

    from azmed.sandbox import Job, Sandbox
    with Sandbox() as box:
        print(box.layers)                        # the protection layers in force here
        result = box.run(Job("def f(a):\n    return a[::-1]", call="f('abc')"))
        print(result.status, result.value)       # ok 'cba'

Layers, outermost first (`Sandbox.layers` lists the active ones, `Sandbox.notes` why one is
not; a layer the configuration asks for that is missing stops the pool from starting unless
`allow_unconfined=True`):
- ast-import-check: the program's syntax tree against the Absolute Zero ban list and the
  modules behind it (`imports.py`), before anything runs;
- bwrap: workers inside bubblewrap, seeing only the interpreter, its standard library and
  shared libraries, read-only, with their own PID, network and IPC namespaces, a private
  /tmp and an empty environment (`bwrap.py`);
- unprivileged: when the pool is root, runs take an unprivileged uid/gid with no groups and
  no capabilities, and are non-dumpable (`child.py`);
- rlimits: address space, CPU seconds, file size 0, 64 open files, no processes, no core;
- seccomp: BPF filters that kill a run on process creation, signals, network, file changes,
  System V IPC, handing a file's signals to a process and more (`syscall_filter.py`);
- audit-hook: the guard (`guard.py`): readable refusals, banned modules kept out of reach at
  run time, each refusal reported to the worker before the program can react;
- the worker's verdict from what it sees itself (exit signal, refusal records, the output it
  counts), and the pool's deadlines, replacements and re-runs (`worker.py`, `dispatch.py`).

Covered: fork bombs, subprocess/os.system, sockets, file writes and deletes anywhere,
signals to any process (directly or through a file's owner), the pool's /proc entries,
memory and output bombs, infinite loops, deep recursion, banned imports by any route, forged
statuses. Not covered (see the README's table): reading what the mount and the user allow
(without bwrap, world-readable files), spending the allowed CPU and memory, a program
claiming its own value, the interpreter's built-in `time` reached through hand-built import
machinery, kernel bugs. Linux only.
"""

from azmed.sandbox.jobs import Job, RunResult, SandboxConfig, Status
from azmed.sandbox.imports import BANNED_IMPORTS, BannedUse, find_banned_imports
from azmed.sandbox.dispatch import SandboxError
from azmed.sandbox.pool import Sandbox

__all__ = ["BANNED_IMPORTS", "BannedUse", "Job", "RunResult", "Sandbox", "SandboxConfig", "SandboxError",
           "Status", "find_banned_imports"]
