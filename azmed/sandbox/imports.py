"""The sandbox's static layer: find uses of banned modules in a program's syntax tree.

    from azmed.sandbox.imports import BANNED_IMPORTS, find_banned_imports
    find_banned_imports("from os import path", BANNED_IMPORTS)
    # [BannedUse(entry='os.path', name='os.path', line=1)]

The ban list is Absolute Zero's: modules that make programs non-deterministic, slow, or
able to reach the world (random, time, threading, subprocess, ...), plus dotted entries
that ban one member of an allowed module ("os.path", "os.environ", "sys.exit"). Entries
match on dotted boundaries -- "time" bans "time.sleep" but not "timeit", "os.path" bans
`from os import path` and `os.path.join(...)` but not `import os`. (Splitting imported
names into components and testing each against the list, as the reference does, can never
match a dotted entry and wrongly bans any module with a component named like one.)

Found: `import a.b [as c]`, `from a import b [as c]`, `from a import *` when `a` has
banned members, `__import__("a")` / `importlib.import_module("a")` /
`importlib.__import__("a")` with a literal name (also through aliases), attribute chains
rooted at an imported name (`os.environ`, `o.path` after `import os as o`), and
`getattr(module, "literal")`.

A banned module also bans the C modules behind it (`random` bans `_random`, `hashlib` bans
`_sha256`, ...; `BACKENDS`), and any non-empty ban list adds interpreter internals that
reach around the guard: test and subinterpreter modules (`INTERPRETER_INTERNALS`, refused
at run time too) and the import system's own modules and `sys.modules`
(`IMPORT_SYSTEM`, refused here; at run time `sys.modules` holds only stand-ins for banned
modules, see `guard.py`).

Limits: names built at run time (`__import__("ran" + "dom")`) or aliases made by
assignment are invisible here; the worker's guard refuses those when they run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable

from azmed.sandbox.protocol import banned_name

BANNED_IMPORTS: tuple[str, ...] = (
    "logging", "random", "multiprocessing", "pebble", "subprocess", "threading", "datetime",
    "time", "hashlib", "hmac", "bcrypt", "calendar", "os.sys", "os.path", "sys.exit", "os.environ",
)

# The C modules that do a banned module's work.
BACKENDS: dict[str, tuple[str, ...]] = {
    "random": ("_random",),
    "datetime": ("_datetime", "_strptime"),
    "hashlib": ("_hashlib", "_md5", "_sha1", "_sha256", "_sha512", "_sha3", "_blake2"),
    "subprocess": ("_posixsubprocess",),
    "multiprocessing": ("_multiprocessing", "_posixshmem"),
}
# Modules that reach around the guard (raw memory, other interpreters): banned with any ban list.
INTERPRETER_INTERNALS = ("_xxsubinterpreters", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
                         "_testimportmultiple", "_testclinic", "_ctypes_test", "_xxtestfuzz")
# The import system itself: refused in the source; at run time the guard covers what they reach.
IMPORT_SYSTEM = ("_imp", "_frozen_importlib", "_frozen_importlib_external", "importlib._bootstrap",
                 "importlib._bootstrap_external", "sys.modules")


def runtime_ban_list(banned: Iterable[str]) -> list[str]:
    """`banned` with the C modules behind its entries and the interpreter internals (what the
    worker's guard refuses while a program runs); empty when `banned` is."""
    banned = list(dict.fromkeys(banned))
    if not banned:
        return []
    extra = [backend for entry in banned for backend in BACKENDS.get(entry, ())]
    return list(dict.fromkeys(banned + extra + list(INTERPRETER_INTERNALS)))


def static_ban_list(banned: Iterable[str]) -> list[str]:
    """What the syntax-tree check refuses: the run-time list plus the import system."""
    runtime = runtime_ban_list(banned)
    return runtime + [name for name in IMPORT_SYSTEM if name not in runtime] if runtime else []


# Callables that import the module named by their first argument.
_IMPORTERS = frozenset({"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"})


@dataclass(frozen=True)
class BannedUse:
    """One use of a banned module: the ban-list `entry` it falls under, the dotted `name`
    the program used, and the source `line`."""

    entry: str
    name: str
    line: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.name!r} is banned (ban-list entry {self.entry!r})"


class _Finder(ast.NodeVisitor):
    def __init__(self, banned: frozenset[str]) -> None:
        self.banned = banned
        self.aliases: dict[str, str] = {}  # local name -> dotted module name it is bound to
        self.found: list[BannedUse] = []

    def flag(self, name: str, node: ast.AST) -> bool:
        entry = banned_name(name, self.banned)
        if entry:
            self.found.append(BannedUse(entry, name, getattr(node, "lineno", 0)))
        return bool(entry)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.flag(alias.name, node)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:  # `import a.b` binds `a`
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:  # relative imports cannot reach the standard library
            return
        if self.flag(node.module, node):
            return
        for alias in node.names:
            if alias.name == "*":
                hidden = [e for e in self.banned if e.startswith(node.module + ".")]
                if hidden:
                    self.found.append(BannedUse(sorted(hidden)[0], f"{node.module}.*", node.lineno))
                continue
            full = f"{node.module}.{alias.name}"
            self.flag(full, node)
            self.aliases[alias.asname or alias.name] = full

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted module path an expression denotes, when it denotes one statically."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id if node.id in ("__import__", "importlib", "builtins") else None)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and node.args:
            func = self.resolve(node.func)
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if func in _IMPORTERS:
                    return first.value
            if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
                base, attr = self.resolve(first), node.args[1]
                if base and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    return f"{base}.{attr.value}"
        return None

    def visit_Call(self, node: ast.Call) -> None:
        if self.resolve(node.func) in _IMPORTERS and node.args:
            name = self.resolve(node)
            if name:
                self.flag(name, node)
            for kw in node.keywords:  # __import__("os", fromlist=["path"])
                if kw.arg == "fromlist" and isinstance(kw.value, (ast.List, ast.Tuple)) and name:
                    for item in kw.value.elts:
                        if isinstance(item, ast.Constant) and isinstance(item.value, str):
                            self.flag(f"{name}.{item.value}", node)
        elif isinstance(node.func, ast.Name) and node.func.id == "getattr":
            name = self.resolve(node)
            if name:
                self.flag(name, node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.resolve(node)
        if not (name and self.flag(name, node)):
            self.generic_visit(node)  # report the outermost banned part only once


def find_banned_imports(code: str | ast.AST, banned: Iterable[str] = BANNED_IMPORTS) -> list[BannedUse]:
    """Every banned module use in `code` (source or a parsed tree), in source order; `banned`
    is extended by `static_ban_list`. Raises SyntaxError when `code` is source that does not
    parse."""
    tree = ast.parse(code) if isinstance(code, str) else code
    finder = _Finder(frozenset(static_ban_list(banned)))
    # Imports bind names before later lines use them; one pass in source order suffices.
    finder.visit(tree)
    return sorted(finder.found, key=lambda use: use.line)
