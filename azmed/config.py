"""One configuration mechanism for every command (`azmed train`, `azmed finetune`, `azmed eval`):
a strict pydantic base, one `ConfigError`, and one loader that reads YAML, applies the
command's typed flags, then dotted `key=value` overrides, and validates once.

    from azmed.config import describe, load_config
    from azmed.selfplay.config import TrainConfig
    cfg = load_config(TrainConfig, "configs/clinical.yaml", ["trainer.lr=1e-5"],
                      flags={"init_adapter": "runs/x/adapter"})
    print("\\n".join(describe(TrainConfig)))      # what `azmed train --help-config` prints

The same rules for every command:
- A key is a dotted path through the config's blocks (`trainer.lr`,
  `envs.clinical.task_types.diagnosis.solve`); in a key, `-` and `_` are the same
  (`sim-heldout.n` is `sim_heldout.n`). Every key is checked against the schema as it is set,
  so an unknown one fails naming what the block has.
- Override values are read as YAML scalars (`1e-4`, `true`, `null`, `[a, b]`), except that a
  text setting keeps the text as typed (a file named `123` stays "123").
- Flags (`--eval-fraction 0.3`) carry typed values, never re-read as text. They are applied
  before the overrides, so a dotted override wins.
- A mapping given to a block (`trainer={lr: 1e-5, steps: 4}`) is merged into it; a plain value
  cannot replace a block.
- Errors are one line: where (the file, the flag or the override), the key, what is allowed.

Limits: keys inside free-form mappings (an environment's `options`) are checked by the model
that owns them, when the config is validated, not as they are set.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A config file, key or value that cannot be used; the message names it and the fix."""


class StrictModel(BaseModel):
    """The base of every config block: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ---- the shape of a field -----------------------------------------------------------------------

def _shape(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """What a field holds: ("block", Model), ("mapping", Model or None for free-form),
    ("text", None) for a string, or ("value", None)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _shape(args[0])
        return "value", None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "block", annotation
    if origin in (dict, Mapping) or annotation is dict:
        args = typing.get_args(annotation)
        value = args[1] if len(args) == 2 else Any
        return "mapping", value if isinstance(value, type) and issubclass(value, BaseModel) else None
    if annotation is str:
        return "text", None
    return "value", None


def _field_name(model: type[BaseModel], part: str) -> str | None:
    fields = model.model_fields
    return part if part in fields else part.replace("-", "_") if part.replace("-", "_") in fields else None


# ---- setting one dotted key ---------------------------------------------------------------------

def set_key(data: dict[str, Any], model: type[BaseModel], key: str, value: Any, *, text: str | None = None,
            where: str = "override") -> None:
    """Set dotted `key` in the nested dict `data` (to be validated as `model`), checking every
    part of the key against the schema. With `text`, the value is that text read as a YAML
    scalar (kept as typed for a text setting); else `value` is used as it is. A mapping set on
    a block is merged into it."""
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError(f"{where}: {key!r} is not a dotted key (for example trainer.lr)")
    node: dict[str, Any] = data
    kind, cls = "block", model
    for depth, part in enumerate(parts):
        if kind == "block":
            name = _field_name(cls, part)
            if name is None:
                here = ".".join(parts[:depth]) or "the top level"
                raise ConfigError(f"{where}: unknown setting {key!r}: {here} has {', '.join(cls.model_fields)}")
            kind, cls = _shape(cls.model_fields[name].annotation)
        elif kind == "mapping":  # `part` names an entry of the mapping (a task type, an environment)
            name, kind = part, "block" if cls is not None else "free"
        else:  # an entry of a free-form mapping
            name = part
        path = ".".join(parts[:depth + 1])
        if depth == len(parts) - 1:
            leaf = value if text is None else _read_scalar(text, kind)
            if kind in ("block", "mapping"):
                if not isinstance(leaf, Mapping):
                    inner = next(iter(cls.model_fields)) if kind == "block" else "KEY"
                    raise ConfigError(f"{where}: {path} is a block of settings: set one of its keys, "
                                      f"e.g. {path}.{inner}=VALUE")
                if not isinstance(node.get(name), dict):
                    node[name] = {}
                _merge(node[name], leaf)
            else:
                node[name] = leaf
            return
        if kind in ("text", "value"):
            raise ConfigError(f"{where}: unknown setting {key!r}: {path} is a single value, not a block of "
                              f"settings; set it as {path}=VALUE")
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]


def _read_scalar(text: str, kind: str) -> Any:
    if not text.strip():
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if kind == "text" and value is not None else value


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def apply_override(data: dict[str, Any], item: str, model: type[BaseModel]) -> str:
    """Apply one `key=value` override to `data`; returns the key."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} is not key=value: write KEY=VALUE, for example trainer.lr=1e-5")
    set_key(data, model, key, None, text=raw, where=f"override {item}")
    return key.strip()


# ---- loading and validating ---------------------------------------------------------------------

def read_yaml_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; ConfigError when it is missing or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found: pass an existing YAML file to --config "
                          "(see configs/ for examples)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings at the top level")
    return data


def load_config(model: type[BaseModel], path: str | Path | None = None, overrides: Sequence[str] = (), *,
                flags: Mapping[str, Any] | None = None, data: Mapping[str, Any] | None = None,
                default: Path | None = None):
    """A validated `model` from YAML file `path` (else `default` when that file exists, else
    `data`, else the defaults), then `flags` ({dotted key: typed value}; None values are
    skipped), then dotted `overrides`; every problem is a one-line ConfigError."""
    source = Path(path) if path else default if default is not None and default.is_file() else None
    tree: dict[str, Any] = read_yaml_file(source) if source is not None else _plain(dict(data or {}))
    origin: dict[str, str] = {}
    for key, value in (flags or {}).items():
        if value is not None:
            set_key(tree, model, key, value, where=f"flag {key}={value}")
            origin[key] = f"flag {key}={value}"
    for item in overrides:
        key = apply_override(tree, item, model)
        origin[key.replace("-", "_")] = f"override {item}"
    return validate(model, tree, str(source) if source is not None else "the defaults", origin)


def apply_overrides(cfg: BaseModel, overrides: Sequence[str]):
    """A copy of `cfg` with dotted overrides applied and validated."""
    return load_config(type(cfg), None, overrides, data=cfg.model_dump())


def validate(model: type[BaseModel], data: Mapping[str, Any], where: str, origin: Mapping[str, str] | None = None):
    """`model` validated from `data`; a ConfigError naming the key and where it was set."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(explain(exc, model, where, origin or {})) from None


def explain(exc: ValidationError, model: type[BaseModel], where: str, origin: Mapping[str, str]) -> str:
    """One line per pydantic error, joined by '; ': where, the key and what is allowed."""
    problems = []
    for e in exc.errors()[:3]:
        loc = [str(p) for p in e["loc"] if not str(p).startswith("function-")]
        key = ".".join(loc)
        at = origin.get(key, where)
        if e["type"] == "extra_forbidden":
            parent = ".".join(loc[:-1]) or "the top level"
            problems.append(f"{at}: {key}: unknown setting; {parent} has {', '.join(_allowed(model, loc[:-1]))}")
        elif not key:
            problems.append(f"{at}: {e['msg'].removeprefix('Value error, ')}")
        elif e["type"] == "value_error":
            problems.append(f"{at}: bad value for {key!r}: {e['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{at}: bad value for {key!r}: {e['msg']} (got {_short(e.get('input'))})")
    return "; ".join(problems)


def _allowed(model: type[BaseModel], loc: Sequence[str]) -> list[str]:
    kind, cls = "block", model
    for part in loc:
        if kind == "block" and cls is not None and part in cls.model_fields:
            kind, cls = _shape(cls.model_fields[part].annotation)
        elif kind == "mapping":
            kind = "block" if cls is not None else "free"
        else:
            return ["(see --help-config)"]
    return list(cls.model_fields) if kind == "block" and cls is not None else ["(see --help-config)"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(data: Any) -> Any:
    """Nested dicts with pydantic models dumped (a config built in code may hold blocks)."""
    if isinstance(data, BaseModel):
        return data.model_dump()
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    return data


def save_config(cfg: BaseModel, path: Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write the resolved config as YAML (what `--resume` reloads), atomically; `extra` adds
    run facts at the top."""
    from azmed.runs import write_text_atomic

    body = {**(extra or {}), **cfg.model_dump(mode="json")}
    write_text_atomic(Path(path), yaml.safe_dump(body, sort_keys=False, allow_unicode=True))


# ---- describing every key -----------------------------------------------------------------------

def describe(model: type[BaseModel], prefix: str = "") -> list[str]:
    """One line per setting: dotted key, type, default and description. Blocks are expanded;
    a mapping of blocks shows its entries as `<entry>` (`envs.<env>.task_types.<task_type>`)."""
    lines = []
    for name, f in model.model_fields.items():
        kind, sub = _shape(f.annotation)
        if kind == "block" and sub is not None:
            lines += describe(sub, f"{prefix}{name}.")
        elif kind == "mapping" and sub is not None:
            entry = f"<{name.removesuffix('s')}>"
            lines.append(f"{prefix}{name}.{entry}: {f.description or ''}")
            lines += describe(sub, f"{prefix}{name}.{entry}.")
        else:
            default = f.default if f.default_factory is None else f.default_factory()
            lines.append(f"{prefix}{name} ({type_name(f.annotation)}) = {default!r}: {f.description or ''}")
    return lines


def type_name(annotation: Any) -> str:
    """A short readable type: int, float | None, one of 'hf', 'vllm', list[str].

    >>> type_name(int | None), type_name(typing.Literal["a", "b"])
    ('int | None', "one of 'a', 'b'")
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def help_text(title: str, sections: Iterable[tuple[str, list[str]]]) -> str:
    """`--help-config` output: a title, then each section's lines indented under its heading."""
    out = [title, ""]
    for heading, lines in sections:
        out += [heading, *(f"  {line}" for line in lines), ""]
    return "\n".join(out).rstrip() + "\n"
