"""The layers of the code base point one way (DESIGN §2): every import in every module of
simulator/, azmed/ and apps/ (function-level ones included, read from the source) goes to the
module's own layer or a lower one, never up.

    simulator                       the case simulator: never imports azmed, apps or torch
    azmed.runs, azmed.memory        run folders, JSONL, atomic writes, the console; process memory
    azmed.config, azmed.run_status the one config loader; a run's status file
    azmed.model, azmed.sandbox      model loading; isolated execution
    azmed.generation, envs, real_cases   generation; the environment protocol (no model); real cases
    azmed.eval                      suites and the harness
    azmed.selfplay, azmed.finetune  the trainers (neither imports the other)
    azmed.integrations              the environments in TRL and verifiers (beside the trainers)
    azmed.commands, azmed.cli       the command line
    apps                            the playground

A module that belongs to no layer fails the test, so a new package is placed on purpose. And no
module imports itself back through others (an import circle, like the one simulator/packs.py and
simulator/variables.py had)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = [
    ["simulator"],
    ["azmed.runs", "azmed.memory"],
    ["azmed.config", "azmed.run_status"],
    ["azmed.model", "azmed.sandbox"],
    ["azmed.generation", "azmed.envs", "azmed.real_cases"],
    ["azmed.eval"],
    ["azmed.selfplay", "azmed.finetune", "azmed.integrations"],
    ["azmed.commands", "azmed.cli", "azmed.ablation"],
    ["apps"],
]
# Parts of one layer that must not import each other.
APART = [("azmed.selfplay", "azmed.finetune"), ("azmed.integrations", "azmed.selfplay"),
         ("azmed.integrations", "azmed.finetune"), ("azmed.model", "azmed.sandbox"), ("azmed.envs", "azmed.generation"),
         ("azmed.real_cases", "azmed.generation")]
NEVER_IN_SIMULATOR = ("torch", "transformers", "peft", "trl", "azmed", "apps")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for folder in ("simulator", "azmed", "apps") for p in (ROOT / folder).rglob("*.py")}


def imports_of(name: str, path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, relative imports resolved;
    `from azmed import runs` imports azmed.runs (not the package's __init__)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            found.update(submodules if len(submodules) == len(node.names) else [base, *submodules])
    return found


def _part(module: str) -> str | None:
    """The layer entry a module belongs to (the longest matching prefix)."""
    entries = [e for layer in LAYERS for e in layer if module == e or module.startswith(e + ".")]
    return max(entries, key=len) if entries else None


def _rank(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


MODULES = _modules()


def _local(target: str) -> str | None:
    """The module of this tree that an import of `target` loads (a package for a name in it)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(m for m in MODULES if _part(m) is None and m not in ("azmed", "apps"))
    assert not unplaced, f"place these modules in a layer of tests/test_layering.py: {unplaced}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    part = _part(name)
    if part is None:  # the package roots: docstrings and the version only
        return
    upward = []
    for target in imports_of(name, MODULES[name]):
        if part == "simulator" and target.split(".")[0] in NEVER_IN_SIMULATOR:
            upward.append(target)
            continue
        other = _part(target)
        if other is None or other == part:
            continue
        if _rank(other) > _rank(part) or (part, other) in APART or (other, part) in APART:
            upward.append(target)
    assert not upward, f"{name} ({part}) imports {sorted(upward)} from a layer above it or beside it"


def test_no_import_circles():
    graph = {name: {t for t in map(_local, imports_of(name, path)) if t and t != name} for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep] if dep in path else [name, dep]
            if dep not in state:
                found = visit(dep, path + [dep])
                if found:
                    return found
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            circle = visit(name, [name])
            assert circle is None, " -> ".join(circle)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "azmed" / "eval"
    pkg.mkdir(parents=True)
    source = pkg / "x.py"
    source.write_text("def f():\n    from azmed.selfplay import trainer\n\nfrom . import harness\n")
    found = imports_of("azmed.eval.x", source)
    assert {"azmed.selfplay.trainer", "azmed.eval.harness"} <= found
    assert _rank(_part("azmed.selfplay.trainer")) > _rank(_part("azmed.eval.x"))
