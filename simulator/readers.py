"""Strict JSON and YAML reading: a key written twice or nesting too deep is an error with a
reason, never a silent last-one-wins or a RecursionError traceback.

    from simulator.readers import StrictLoader, loads_json
    loads_json('{"age": 60, "age": 70}')          # InputError: duplicate key 'age' ...
    yaml.load(text, Loader=StrictLoader)          # yaml.constructor.ConstructorError on a duplicate

Used by the rule-pack reader (`packs.py`), proposal parsing (`validation.py`) and every
command that reads a case, triplet or real-case file (`azmed.commands`, `azmed.finetune`),
so a file means the same thing wherever it is read.

Limits: JSON nesting deeper than the interpreter's recursion limit (about 1,000 levels) is
refused, whatever the document; no real case or pack comes near it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class InputError(ValueError):
    """A JSON document that parses only in a lenient reader (or not at all): says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"duplicate key {key!r} in a JSON object (keep one of them)")
        out[key] = value
    return out


def loads_json(text: str | bytes) -> Any:
    """`json.loads` that refuses duplicate keys and too-deep nesting with an InputError; a
    document that is not JSON raises json.JSONDecodeError (also a ValueError) as usual."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise InputError("nested too deeply to read (more than about 1,000 levels of [ or {)") from None


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A YAML mapping that names the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: own keys may override merged ones
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: PyYAML's own error explains it
                break
            if duplicate:
                raise DuplicateKeyError("while reading a mapping", node.start_mark,
                                        f"found duplicate key {key!r} (first at line {seen[key] + 1})",
                                        key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)
