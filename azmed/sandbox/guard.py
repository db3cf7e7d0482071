"""The sandbox's in-process guard: an audit hook that refuses what runs may not do, and
stand-ins that keep banned modules out of a run's reach. Runs in the worker interpreter
(`python -I -S`, imported there as `guard`); the pool never imports it.

    import guard
    guard.install(banned=["random", "time"], report_fd=3)   # in the worker, once, disarmed
    guard.hide_banned_modules(["random", "time"])           # after the worker's own imports
    sys.audit(guard.ARM_EVENT)                              # in each run, after its set-up

The hook (one, installed for good: an audit hook cannot be removed) refuses, once armed:
process creation and program execution, signals, sockets, ctypes, file writes, deletes and
renames, raising limits, `fcntl`/`ioctl` calls that hand a file's signals to another process,
subinterpreters, crafted bytecode (`code.__new__`, a `marshal.loads` that is not the
import system reading a real .pyc file), and the tools that reach other objects of the
process (`gc.get_objects`/`get_referrers`/`get_referents`, `sys._current_frames`,
tracing and profiling, new audit hooks). With a ban list it also refuses importing a banned
module by any route that creates it (import statements and `__import__` with any globals,
`importlib` including `_bootstrap`, extension modules), opening a banned module's source or
bytecode file, and `/proc/<pid>/...` of other processes.

A refusal is written to the worker (`protocol.encode_violation`) *before* the hook raises
`PermissionError`, so catching the error or resetting anything in the run changes nothing.
The hook keeps no state a run can change: it reads no globals or builtins at run time (all
it uses is bound when it is made), its only variable (armed or not) flips once, from off to
on, and it refuses the tools that would reach it (`gc`, frames of other threads, tracing).

Banned modules: the worker loads the few allowed modules that need one (`statistics`
imports `random`), then puts a stand-in module in `sys.modules` for every banned name and
in place of every reference to a banned module held by a loaded module. Any attribute of a
stand-in is refused, so `sys.modules["random"]`, `statistics.random` or an import that finds
the stand-in gives a run nothing but a violation.

Limits: the guard lives in the run's interpreter. A program that rebuilds the import
system's internals by hand (`importlib.machinery.BuiltinImporter`, `_imp`) can still load a
module built into the interpreter (`time`); reading it gives nondeterminism, nothing more.
The walls are the kernel's: the system-call filter, the unprivileged user, the rlimits and
bubblewrap; this layer reports, with a readable reason.
"""

from __future__ import annotations

import builtins
import functools
import os
import struct
import sys
import types

ARM_EVENT = "azmed.sandbox.arm"
BANNED_ATTRIBUTE_EVENT = "azmed.sandbox.banned-module"
BANNED_IMPORT_EVENT = "azmed.sandbox.import"

# Audit events that act on the world outside the run (see the CPython audit events table).
BLOCKED_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "subprocess.Popen", "pty.spawn", "webbrowser.open",
    "os.kill", "os.killpg", "signal.pthread_kill", "os.pidfd_open",
    "os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown", "os.chflags",
    "os.link", "os.symlink", "os.truncate", "os.utime", "os.setxattr", "os.removexattr",
    "os.mkfifo", "os.mknod", "os.chroot", "os.lchflags", "os.lchmod", "os.lchown",
    "resource.setrlimit", "resource.prlimit",
    # reaching other objects of the process, or running code it did not compile
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "code.__new__", "marshal.load",
    "cpython.PyInterpreterState_New", "cpython.run_command", "cpython.run_file",
})
BLOCKED_PREFIXES = ("socket.", "ctypes.", "shutil.", "sqlite3.", "dbm.", "urllib.", "http.", "_posixsubprocess.",
                    "mmap.")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# fcntl commands and ioctl requests that send a file's signals (SIGIO, or any other) to a
# process the run names: Linux F_SETOWN, F_SETSIG, F_SETOWN_EX; FIOSETOWN, SIOCSPGRP.
SIGNAL_OWNER_FCNTL = frozenset({8, 10, 15})
SIGNAL_OWNER_IOCTL = frozenset({0x8901, 0x8902})


def install(banned, report_fd: int) -> None:
    """Install the audit hook, disarmed (`sys.audit(ARM_EVENT)` arms it for good), and an
    `__import__` that names banned members of allowed modules (`from os import path`)."""
    banned = frozenset(banned)
    sys.addaudithook(_make_hook(banned, report_fd))
    if banned:
        builtins.__import__ = _member_check(builtins.__import__, banned)


def _member_check(original_import, banned: frozenset[str]):
    """`__import__` that reports, through the hook, a program's import of a banned name or of
    a banned member named in `fromlist`. The hook decides (and refuses only once armed); this
    wrapper holds nothing a run could reset, and a run that replaces it loses only this
    friendlier check: banned modules themselves are stand-ins whatever imports them."""
    audit, str_type, dict_type, type_of = sys.audit, str, dict, type

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        # The standard library's own imports (a module's globals name it) are not the program's.
        if level == 0 and type_of(name) is str_type and (
                type_of(globals) is not dict_type or globals.get("__name__") in (None, "__sandbox__")):
            for item in (fromlist or ()):
                if type_of(item) is str_type:
                    audit(BANNED_IMPORT_EVENT, f"{name}.{item}")
            audit(BANNED_IMPORT_EVENT, name)
        return original_import(name, globals, locals, fromlist, level)

    return guarded_import


def _make_hook(banned: frozenset[str], report_fd: int):
    # Everything the hook uses is bound here, so a run that replaces a builtin, a module
    # attribute or a global of this module changes nothing the hook does. It touches values
    # of the event only after checking their exact type, so no code of the run executes
    # inside it.
    write, exit_now, getpid, getcwd = os.write, os._exit, os.getpid, os.getcwd
    read_file_bytes = _reader(os.open, os.read, os.close, os.O_RDONLY)
    pack_length = struct.Struct("<I").pack
    type_of, length, to_str, any_of = type, len, str, any
    str_type, bytes_type, int_type, tuple_type = str, bytes, int, tuple
    refuse_error = PermissionError
    blocked, prefixes = BLOCKED_EVENTS, BLOCKED_PREFIXES
    ARM, BANNED_ATTRIBUTE, IMPORT = ARM_EVENT, BANNED_ATTRIBUTE_EVENT, BANNED_IMPORT_EVENT
    paths_only = frozenset({"os.listdir", "os.scandir", "os.chdir"})  # events whose first argument is a path
    write_flags, owner_fcntl, owner_ioctl = WRITE_FLAGS, SIGNAL_OWNER_FCNTL, SIGNAL_OWNER_IOCTL
    stems = frozenset(name for name in banned if "." not in name)  # modules with files of their own
    armed = False
    last_bytecode = ""  # the .pyc file the import system opened last

    def refuse(what: str) -> None:
        text = what.encode("utf-8", "backslashreplace")
        data = b"V" + pack_length(length(text)) + text
        try:
            while data:
                data = data[write(report_fd, data):]
        except OSError:
            exit_now(86)  # the report pipe is gone: end the run rather than let it go unrecorded
        raise refuse_error(f"blocked by the sandbox: {what}")

    def is_banned(module: str) -> bool:
        for entry in banned:
            if module == entry or module.startswith(entry + "."):
                return True
        return False

    def absolute_parts(path: str) -> list:
        """The components of `path` made absolute and normalised, lexically."""
        parts = []
        for part in ((path if path.startswith("/") else getcwd() + "/" + path).split("/")):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return parts

    def check_path(path, flags) -> None:
        nonlocal last_bytecode
        if type_of(path) is int_type:  # an fd the run already holds
            return
        if type_of(path) is bytes_type:
            path = path.decode("utf-8", "surrogateescape")
        elif type_of(path) is not str_type:
            refuse("open of a path given as an object (pass the path as a str)")
        if type_of(flags) is int_type and flags & write_flags:
            refuse(f"open {path!r} for writing")
        parts = absolute_parts(path)
        if length(parts) > 1 and parts[0] == "proc" and parts[1].isdigit() and parts[1] != to_str(getpid()):
            refuse(f"open {path!r}: another process's /proc entry")
        name = parts[-1] if parts else ""
        if stems and ((name.split(".")[0] in stems and name.endswith((".py", ".pyc", ".so")))
                      or any_of(part in stems for part in parts[:-1])):
            refuse(f"open {path!r}: a file of a banned module")
        if name.endswith(".pyc"):
            last_bytecode = "/" + "/".join(parts)

    def check_bytecode(data) -> None:
        # The import system reads a .pyc file, then unmarshals what follows its 16-byte header.
        content = read_file_bytes(last_bytecode) if last_bytecode else b""
        if not (type_of(data) is bytes_type and content[16:] == data):
            refuse("marshal.loads of bytes that are not a standard-library .pyc file")

    def hook(event: str, args: tuple) -> None:
        nonlocal armed
        if not armed:
            if event == ARM:
                armed = True
            return
        if event in blocked or event.startswith(prefixes):
            refuse(event)
        if type_of(args) is not tuple_type or not args:
            return
        if event == "open":
            check_path(args[0], args[2] if length(args) > 2 else 0)
        elif event in paths_only:
            check_path(args[0], 0)
        elif (event == "import" or event == IMPORT) and banned:
            name = args[0]
            if type_of(name) is not str_type or is_banned(name):
                refuse(f"import of banned module {name if type_of(name) is str_type else '?'!r}")
        elif event == BANNED_ATTRIBUTE and length(args) == 2:
            name, attribute = args
            attribute = attribute if type_of(attribute) is str_type else "?"
            refuse(f"use of banned module {name!r} ({name}.{attribute})")
        elif event == "marshal.loads":
            check_bytecode(args[0])
        elif event == "fcntl.fcntl" and length(args) > 1 and type_of(args[1]) is int_type and args[1] in owner_fcntl:
            refuse("fcntl: handing a file's signals to a process")
        elif event == "fcntl.ioctl" and length(args) > 1 and type_of(args[1]) is int_type and args[1] in owner_ioctl:
            refuse("ioctl: handing a file's signals to a process")

    return hook


def _reader(open_, read, close, flags):
    def read_file_bytes(path: str) -> bytes:
        try:
            fd = open_(path, flags)
        except OSError:
            return b""
        try:
            chunks = []
            while True:
                chunk = read(fd, 1 << 20)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            close(fd)
    return read_file_bytes


# ---------------------------------------------------------------------------------------
# Banned modules out of reach.

def stand_in(name: str) -> types.ModuleType:
    """A module that refuses every attribute a run asks of it (once the hook is armed)."""
    module = types.ModuleType(name, f"{name} is banned in the sandbox")
    module.__getattr__ = functools.partial(sys.audit, BANNED_ATTRIBUTE_EVENT, name)
    # Every import that finds a module in sys.modules reads its __spec__: without one, that
    # read reaches __getattr__, so even an import that never uses the module is refused.
    del module.__spec__
    return module


def hide_banned_modules(banned, keep=()) -> int:
    """Put stand-ins in `sys.modules` for every banned name and for every reference to a
    banned module that a loaded module holds (`statistics.random`); `keep` names modules
    whose references stay (the worker's own). Returns how many references were replaced."""
    banned = [b for b in banned if "." not in b]  # members of allowed modules (os.path) stay
    if not banned:
        return 0

    def is_banned(module_name: str) -> bool:
        return any(module_name == b or module_name.startswith(b + ".") for b in banned)

    stand_ins: dict[str, types.ModuleType] = {}

    def replacement(name: str) -> types.ModuleType:
        return stand_ins.setdefault(name, stand_in(name))

    replaced = 0
    for name, module in list(sys.modules.items()):
        if name in keep or module is None or is_banned(name):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) and is_banned(value.__name__):
                setattr(module, attr, replacement(value.__name__))
                replaced += 1
    for name in list(sys.modules):
        if is_banned(name):
            del sys.modules[name]
    for name in banned:
        sys.modules[name] = replacement(name)
    return replaced
