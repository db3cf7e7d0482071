"""Run folders and their files, shared by self-play, fine-tuning, evaluation and the playground:
the folder layout, the per-step logs (`RunLog`), JSONL reading and writing, atomic writes, the
one-line-per-step console format and the progress bar.

    run = RunFolder(default_run_dir("clinical"))      # runs/20250101-120000-clinical
    log = RunLog(run.root)
    log.write_step({"step": 1, ...}); log.write_samples([...])
    print(step_line(1, 60, {"solve acc": "0.25", "dt": "52.1s"}))
    write_json_atomic(run.heldout, result)           # a reader never sees half a file

The layout (every command writes the files it has):

    config.yaml        the resolved config (`--resume` reloads it)
    metrics.jsonl      one JSON object per step              samples.jsonl  what the model wrote
    checkpoints/       atomic checkpoints                    adapter/       the final LoRA adapter
    heldout.json       self-play: base vs adapter on each enabled environment's held-out suite
    run.json, split.json, heldout.jsonl, report.json, report.md     fine-tuning: data facts,
                       the held-out split and cases, the run's report

Nothing here imports torch or any other part of azmed, so every layer can use it (the
playground reads run folders through it too).

Limits: atomic means a rename within one file system; the JSONL logs are appended, and a reader
that meets a half-written last line skips it (`read_jsonl`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import yaml

CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
SAMPLES = "samples.jsonl"
CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
ADAPTER_CONFIG = "adapter_config.json"


# ---- the layout ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunFolder:
    """The paths of a run folder (see the module docstring for who writes what)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    config = property(lambda self: self.root / CONFIG)
    metrics = property(lambda self: self.root / METRICS)
    samples = property(lambda self: self.root / SAMPLES)
    checkpoints = property(lambda self: self.root / CHECKPOINTS)
    adapter = property(lambda self: self.root / ADAPTER)
    warmup_adapter = property(lambda self: self.root / "warmup-adapter")  # the adapter when warm-up ended
    heldout = property(lambda self: self.root / "heldout.json")
    run_facts = property(lambda self: self.root / "run.json")
    split = property(lambda self: self.root / "split.json")
    heldout_cases = property(lambda self: self.root / "heldout.jsonl")
    report_json = property(lambda self: self.root / "report.json")
    report_md = property(lambda self: self.root / "report.md")


def default_run_dir(name: str, parent: str | Path = "runs") -> Path:
    """`runs/<timestamp>-<name>`, the default folder of a new run."""
    return Path(parent) / f"{_dt.datetime.now():%Y%m%d-%H%M%S}-{name}"


def enclosing_run(path: str | Path, stop: str | Path | None = None, levels: int = 4) -> RunFolder | None:
    """The run folder at or above `path` (the nearest folder holding a config.yaml), at most
    `levels` folders up and never above `stop`; None when there is none. An adapter's run:
    `enclosing_run("runs/x/checkpoints/step-000020/adapter")` is runs/x."""
    path = Path(path).expanduser().resolve()
    stop = Path(stop).expanduser().resolve() if stop is not None else None
    for folder in (path, *path.parents)[: levels + 1]:
        if (folder / CONFIG).is_file():
            return RunFolder(folder)
        if folder == stop:
            break
    return None


def run_config(run: str | Path) -> dict[str, Any]:
    """A run's resolved config.yaml as a dict ({} when absent or unreadable)."""
    try:
        data = yaml.safe_load((Path(run) / CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


# ---- atomic writes ------------------------------------------------------------------------------

def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary sibling renamed into place (fsynced first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """`obj` as indented JSON (non-JSON values written as text), atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Rows as JSONL, one object a line, atomically; returns how many."""
    lines = [json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows]
    write_text_atomic(path, "".join(lines))
    return len(lines)


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Fill a temporary sibling folder, then put it in place of `target` (an old `target` is
    replaced only once the new one is complete).

        with atomic_folder(run.adapter) as tmp:
            model.save_pretrained(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- JSONL logs ---------------------------------------------------------------------------------

def append_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def read_jsonl(path: Path, tail: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of a JSONL file (the last `tail` lines when given) and how many lines
    were skipped as not a complete JSON object (a writer's last line mid-write). A missing file
    reads as empty."""
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


class RunLog:
    """Appends to a run folder's metrics.jsonl (one object per step) and samples.jsonl."""

    def __init__(self, run_dir: Path):
        self.folder = RunFolder(run_dir)
        self.metrics, self.samples = self.folder.metrics, self.folder.samples

    def write_step(self, record: Mapping[str, Any]) -> None:
        append_jsonl(self.metrics, [record])

    def write_samples(self, rows: Sequence[Mapping[str, Any]]) -> None:
        append_jsonl(self.samples, rows)

    def truncate(self, step: int) -> None:
        """Keep only lines of steps <= `step` (after resuming from that step's checkpoint)."""
        for path in (self.metrics, self.samples):
            if path.is_file():
                keep = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                        if ln.strip() and json.loads(ln).get("step", 0) <= step]
                write_text_atomic(path, "".join(ln + "\n" for ln in keep))


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The step records of a run, in order."""
    path = RunFolder(run_dir).metrics
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass a run folder written by `azmed train`")
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


# ---- the console ----------------------------------------------------------------------------------

def step_line(step: int, total: int, fields: Mapping[str, str]) -> str:
    """The one greppable line per step, the same for every trainer.

    >>> step_line(10, 200, {"loss": "0.1234", "dt": "1.0s"})
    'step 00010/00200 (5.00%) | loss: 0.1234 | dt: 1.0s'
    """
    pct = 100.0 * step / total if total else 0.0
    return " | ".join([f"step {step:05d}/{total:05d} ({pct:.2f}%)", *(f"{k}: {v}" for k, v in fields.items())])


def progress_bar(total: int, desc: str, unit: str, enabled: bool = True, initial: int = 0):
    """A tqdm bar on stderr, or None when disabled or there is nothing to count. Off a terminal
    (a log file) it redraws rarely, so the log stays readable."""
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 30.0)
