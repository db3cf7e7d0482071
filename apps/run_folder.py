"""Reading training run folders for the playground: which runs and adapters exist, and a run's
`metrics.jsonl`, `samples.jsonl` and `heldout.json` as tables, read while the trainer may still
be writing them.

    runs = find_runs(Path("runs"))                 # folders with a metrics.jsonl, newest first
    adapters = find_adapters(Path("runs"))         # LoRA adapter folders, with their run's base model
    records, skipped = read_jsonl(run / "metrics.jsonl")
    metrics_table(records); rejections_table(records); curriculum_tables(records); heldout_table(run)

A run folder (written by `azmed train`) holds `config.yaml`, `metrics.jsonl` (one JSON object a
step), `samples.jsonl` (recent proposals and answers), `status.json` (running / finished /
stopped, read with `azmed.run_status.run_state`), the final `adapter/`, `heldout.json` and
checkpoints. Lines that are not complete JSON objects (the trainer's last line mid-write) are
skipped and counted, never fatal. Nothing here imports Streamlit or torch (only pandas), so it
is tested directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

METRICS = "metrics.jsonl"
SAMPLES = "samples.jsonl"
CONFIG = "config.yaml"
HELDOUT = "heldout.json"
ADAPTER_CONFIG = "adapter_config.json"
# Top-level keys of a step record holding the curriculum figures (drawn in their own section).
CURRICULUM_KEYS = ("solve_sources", "proposals")


# ---- finding runs and adapters ------------------------------------------------------------------

def find_runs(root: Path, depth: int = 2) -> list[Path]:
    """Run folders under `root` (itself included): folders with a metrics.jsonl, newest first."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return []
    found = [root] if (root / METRICS).is_file() else []
    level = [root]
    for _ in range(depth):
        level = [d for parent in level for d in _subdirs(parent)]
        found += [d for d in level if (d / METRICS).is_file()]
    return sorted(found, key=lambda d: (d / METRICS).stat().st_mtime, reverse=True)


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError:
        return []


@dataclass(frozen=True)
class Adapter:
    label: str               # path relative to the runs folder, e.g. "run1/adapter"
    path: Path
    base_model: str | None   # the run's `model.name`, when its config.yaml says


def find_adapters(root: Path, depth: int = 4) -> list[Adapter]:
    """Every LoRA adapter folder (holding adapter_config.json) under `root`, newest first."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return []
    out, level = [], [root]
    for _ in range(depth + 1):
        out += [d for d in level if (d / ADAPTER_CONFIG).is_file()]
        level = [d for parent in level for d in _subdirs(parent)]
    out.sort(key=lambda d: (d / ADAPTER_CONFIG).stat().st_mtime, reverse=True)
    return [Adapter(str(d.relative_to(root)) if d != root else d.name, d, run_base_model(d, root)) for d in out]


def run_config(run: Path) -> dict[str, Any]:
    """The run's resolved config.yaml as a dict ({} when absent or unreadable)."""
    try:
        data = yaml.safe_load((Path(run) / CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def run_base_model(folder: Path, root: Path) -> str | None:
    """`model.name` from the config.yaml of the nearest run folder at or above `folder`."""
    folder, root = Path(folder).resolve(), Path(root).resolve()
    for d in (folder, *folder.parents):
        if (d / CONFIG).is_file():
            model = run_config(d).get("model")
            name = model.get("name") if isinstance(model, dict) else model
            return str(name) if name else None
        if d == root:
            break
    return None


# ---- reading JSONL ------------------------------------------------------------------------------

def read_jsonl(path: Path, tail: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of a JSONL file (the last `tail` when given) and how many lines were
    skipped as not a complete JSON object. A missing file reads as empty."""
    try:  # split on newlines only: a completion may hold U+2028 or U+0085, which splitlines() breaks on
        lines = Path(path).read_text(encoding="utf-8", errors="replace").rstrip("\n").split("\n")
    except OSError:
        return [], 0
    if tail is not None:
        lines = lines[-tail:]
    records, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            skipped += 1
    return records, skipped


def file_version(path: Path) -> tuple[float, int]:
    """(mtime, size) of a file, a cache key that changes whenever the trainer appends."""
    try:
        st = Path(path).stat()
    except OSError:
        return 0.0, 0
    return st.st_mtime, st.st_size


# ---- metrics as a long table ----------------------------------------------------------------------

def numeric_leaves(record: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every number in a (nested) record with its key path; booleans and lists are left out.

    >>> numeric_leaves({"step": 2, "clinical": {"solve": {"accuracy": 0.5}}, "note": "x"})
    [(('step',), 2.0), (('clinical', 'solve', 'accuracy'), 0.5)]
    """
    out = []
    for key, value in record.items():
        path = (*prefix, str(key))
        if isinstance(value, dict):
            out += numeric_leaves(value, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((path, float(value)))
    return out


def _is_rejection_key(key: str) -> bool:
    return "reject" in key.lower()


def _is_bucket(key: str) -> bool:
    """A histogram bucket key such as "0.5" (learnability histogram): not a figure of its own."""
    try:
        float(key)
    except ValueError:
        return False
    return True


def _group(path: tuple[str, ...]) -> str:
    """The group a figure belongs to: its key path, without the trainer's "groups" wrapper
    (`groups/clinical/diagnosis/solve` -> `clinical/diagnosis/solve`); "run" for top-level ones."""
    if path[:1] == ("groups",) and len(path) > 1:
        path = path[1:]
    return " / ".join(path) or "run"


def metrics_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Every number of every step as rows (step, group, metric, value).

    The group is the key path above the number: "clinical/diagnosis/solve" for the trainer's
    per-(environment, task type, role) figures, "update" or "time" for step-level ones, "run"
    for top-level numbers. Rejection counts are left to `rejections_table`, the curriculum
    figures to `curriculum_tables`, and histogram buckets are left out. Works for any nesting, so new figures show up without code changes."""
    rows = []
    for i, record in enumerate(records):
        step = record.get("step", i + 1)
        for path, value in numeric_leaves(record):
            if (path == ("step",) or path[0] in CURRICULUM_KEYS or _is_bucket(path[-1])
                    or any(_is_rejection_key(k) for k in path[:-1])):
                continue
            rows.append((step, _group(path[:-1]), path[-1], value))
    return pd.DataFrame(rows, columns=["step", "group", "metric", "value"])


def rejections_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Rejection counts as rows (step, group, reason, count), from any key naming rejections
    (the trainer writes `{"groups": {"clinical/diagnosis/propose": {"rejections": {"parse": 3}}}}`)."""
    rows = []
    for i, record in enumerate(records):
        step = record.get("step", i + 1)
        for path, value in numeric_leaves(record):
            cut = next((j for j, k in enumerate(path[:-1]) if _is_rejection_key(k)), None)
            if cut is not None:
                rows.append((step, _group(path[:cut]), path[-1], value))
    return pd.DataFrame(rows, columns=["step", "group", "reason", "count"])


SAMPLE_COLUMNS = ("step", "env", "task_type", "role", "reward", "correct", "valid", "rejection", "completion",
                  "parsed", "truth", "label", "why", "rejection_detail", "solve_rate", "prompt")


def samples_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Samples as a table: the trainer's known fields first (the prompt, longest, last), any
    other fields after; nested values as compact JSON."""
    flat = [{k: (v if v is None or isinstance(v, (str, int, float, bool)) else json.dumps(v, ensure_ascii=False))
             for k, v in r.items()} for r in records]
    table = pd.DataFrame(flat)
    for col in table.columns:  # a column mixing numbers and text (`parsed`, `truth`) is shown as text
        values = table[col].dropna()
        if table[col].dtype == object and not values.map(lambda v: isinstance(v, bool)).all():
            table[col] = table[col].map(lambda v: None if pd.isna(v) else str(v))
    known = [c for c in SAMPLE_COLUMNS if c in table.columns]
    return table[known + [c for c in table.columns if c not in known]]


# ---- the curriculum ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Curriculum:
    """The curriculum figures of a run as long tables (one row per step and task type):
    `sources` (step, task_type, source, count): where the solver's tasks came from (proposed,
    seed, simulator); `proposals` (step, task_type, metric, value): valid and in-band rates,
    distinct diagnoses or calculators, duplicates; `learnability` (step, task_type, solve_rate,
    count): the solve rates of valid proposals."""

    sources: pd.DataFrame
    proposals: pd.DataFrame
    learnability: pd.DataFrame


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def curriculum_tables(records: list[dict[str, Any]]) -> Curriculum | None:
    """The records' `solve_sources` and `proposals` (per "env/task_type") as tables, or None
    when no record carries them (runs written before the trainer logged them).

    >>> c = curriculum_tables([{"step": 1, "solve_sources": {"clinical/diagnosis": {"proposed": 6, "seed": 2}},
    ...                         "proposals": {"clinical/diagnosis": {"valid": 0.5, "learnability_hist": {"0.5": 3}}}}])
    >>> c.sources["count"].tolist(), c.proposals["metric"].tolist(), c.learnability["solve_rate"].tolist()
    ([6.0, 2.0], ['valid'], [0.5])
    """
    sources, proposals, hist = [], [], []
    for i, record in enumerate(records):
        step = record.get("step", i + 1)
        for task_type, counts in (record.get("solve_sources") or {}).items():
            for source, count in (counts or {}).items():
                if _number(count) is not None:
                    sources.append((step, task_type, source, _number(count)))
        for task_type, figures in (record.get("proposals") or {}).items():
            for name, value in (figures or {}).items():
                if isinstance(value, dict):  # the learnability histogram: {"0.25": 2, ...}
                    hist += [(step, task_type, float(bucket), _number(n)) for bucket, n in value.items()
                             if _is_bucket(bucket) and _number(n) is not None]
                elif _number(value) is not None:
                    proposals.append((step, task_type, name, _number(value)))
    if not (sources or proposals or hist):
        return None
    return Curriculum(pd.DataFrame(sources, columns=["step", "task_type", "source", "count"]),
                      pd.DataFrame(proposals, columns=["step", "task_type", "metric", "value"]),
                      pd.DataFrame(hist, columns=["step", "task_type", "solve_rate", "count"]))


# ---- the run's result -------------------------------------------------------------------------------

GROUP_KINDS = {"per_task_type": "task type", "per_pack": "pack"}


def heldout_table(run: Path) -> pd.DataFrame | None:
    """The end-of-run check in heldout.json as rows (suite, tasks, n, base, adapter, change): one
    row for each suite as a whole, then one per task type and per pack, accuracies in [0, 1].
    None when the run has no heldout.json (yet) or it cannot be read.

    heldout.json holds {suite: {"n", "base", "adapter", "delta", "per_task_type": {name: {...}},
    "per_pack": {...}}}; other per-group tables a suite adds (`per_<kind>`) are shown too."""
    try:
        data = json.loads((Path(run) / HELDOUT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rows = []
    for suite, result in (data.items() if isinstance(data, dict) else ()):
        if not isinstance(result, dict) or _number(result.get("base")) is None:
            continue
        rows.append(_heldout_row(suite, "all", result))
        for key, groups in result.items():
            if key.startswith("per_") and isinstance(groups, dict):
                kind = GROUP_KINDS.get(key, key[len("per_"):].replace("_", " "))
                rows += [_heldout_row(suite, f"{kind}: {name}", g) for name, g in groups.items() if isinstance(g, dict)]
    return pd.DataFrame(rows, columns=["suite", "tasks", "n", "base", "adapter", "change"]) if rows else None


def _heldout_row(suite: str, tasks: str, r: dict[str, Any]) -> tuple:
    base, adapter = _number(r.get("base")), _number(r.get("adapter"))
    change = _number(r.get("delta"))
    if change is None and base is not None and adapter is not None:
        change = adapter - base
    return suite, tasks, r.get("n"), base, adapter, change
