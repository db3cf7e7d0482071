"""Reading the simulator's YAML data files (the variable registry, rule packs) with errors a
pack author can act on: every problem names the file, the field, the line and the fix.

    from simulator.datafiles import read_yaml, validation_errors
    data, root = read_yaml(path)                     # PackError on unreadable or malformed YAML
    try:
        model = RulePack.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(path, exc, root)     # PackErrors, one per problem, with lines

`root` is the composed YAML node tree, kept so a pydantic error location (`diagnoses[2].prior`)
can be traced back to a line (`line_of`). Nothing here knows what a pack or a variable is, so
`simulator.variables` and `simulator.packs` both read their files through it without importing
each other.

Limits: line numbers are best effort (a key missing from the file points at its parent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulator.errors import PackError, PackErrors
from simulator.readers import DuplicateKeyError, StrictLoader

FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or check its spelling against the schema in simulator/packs.py",
    "float_parsing": "write a plain number",
    "int_parsing": "write a whole number",
    "string_type": "write a string",
    "list_type": "write a YAML list",
    "dict_type": "write a YAML mapping (key: value)",
    "too_short": "add at least one entry",
}


def read_yaml(path: Path) -> tuple[Any, Any]:
    """(data, composed node tree) of a YAML file; PackError when it cannot be read or parsed,
    names a key twice in one mapping, or nests too deeply (`simulator.readers`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(str(path), "", f"cannot read the file ({exc.strerror}).", "check the path") from None
    try:
        return yaml.load(text, Loader=StrictLoader), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        fix = ("keep one of the two (YAML would silently use the last)" if isinstance(exc, DuplicateKeyError)
               else "check indentation and quoting near that line (strings with ':' need quotes)")
        raise PackError(str(path), "", f"malformed YAML: {getattr(exc, 'problem', exc)}.", fix, line) from None
    except RecursionError:
        raise PackError(str(path), "", "malformed YAML: nested too deeply to read.",
                        "a pack nests a few levels; look for a runaway [ or {") from None


def line_of(node, loc: tuple) -> int | None:
    """Line of the YAML node at pydantic location `loc`, best effort."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def field_path(loc: tuple) -> str:
    """A pydantic location as a dotted field path.

    >>> field_path(("diagnoses", 2, "prior", "age"))
    'diagnoses[2].prior.age'
    """
    out = ""
    for k in loc:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def validation_errors(path: Path, exc: ValidationError, root) -> PackErrors:
    """Every problem of a pydantic validation of the file at `path`, with field, line and fix."""
    errors = []
    for e in exc.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = e["msg"].removeprefix("Value error, ")
        errors.append(PackError(str(path), field_path(loc), msg[0].upper() + msg[1:] + ".",
                                FIXES.get(e["type"], ""), line_of(root, loc)))
    return PackErrors(errors)
