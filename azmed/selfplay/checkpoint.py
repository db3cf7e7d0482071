"""Atomic checkpoints of a self-play run, and resuming from the latest one.

    save_checkpoint(run_dir, state)            # -> run_dir/checkpoints/step-000020/
    state = load_checkpoint(latest_checkpoint(run_dir))

A checkpoint folder holds the LoRA adapter (`adapter/`, loadable by `azmed eval --adapter`), the
optimizer and learning-rate scheduler (`optimizer.pt`), every task buffer (`buffers/*.jsonl`),
the python, numpy and torch RNG states and the trainer's own RNG (`rng.pt`), and the step
and the number of processes (`state.json`, written last). A data-parallel run (see
`azmed.selfplay.distributed`) is saved by rank 0; every other rank's sampling RNG (torch, CUDA)
goes beside it as `rng-rank-<r>.pt`, since each rank samples from its own stream. It is written to a hidden temporary folder, every file fsynced,
then renamed into place, so a run killed mid-save leaves either the previous checkpoint or the
new one, never half of one. Only the newest `keep` checkpoints are kept.

Limits: RNG states make a resumed run draw the same references and samples; floating-point
results can still differ in the last bits across machines or thread counts.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from azmed.runs import CHECKPOINTS
from azmed.selfplay.buffer import TaskBuffer

PREFIX = "step-"


@dataclass
class TrainState:
    """What a checkpoint restores. `buffers` maps "env/task_type" to its buffer."""

    step: int
    buffers: dict[str, TaskBuffer]
    rng: random.Random
    optimizer: Any = None
    scheduler: Any = None
    model: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rng_states(rng: random.Random) -> dict[str, Any]:
    import numpy as np

    return {"python": random.getstate(), "numpy": np.random.get_state(), "trainer": rng.getstate(),
            **sampling_rng_state()}


def restore_rng_states(states: dict[str, Any], rng: random.Random) -> None:
    import numpy as np

    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    rng.setstate(states["trainer"])
    restore_sampling_rng_state(states)


def sampling_rng_state() -> dict[str, Any]:
    """The RNG states generation samples from (torch, and CUDA where present): what differs
    between the ranks of a data-parallel run."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def restore_sampling_rng_state(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(run_dir: Path, state: TrainState, keep: int = 2,
                    rank_rngs: list[dict[str, Any]] | None = None) -> Path:
    """Write `state` atomically as `checkpoints/step-NNNNNN` and prune old ones. `rank_rngs`:
    the sampling RNG states of every rank of a data-parallel run, in rank order (rank 0's is in
    `rng.pt` already)."""
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = checkpoint_folder(run_dir, state.step)
    tmp = root / f".tmp-{PREFIX}{state.step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state.model.save_pretrained(tmp / "adapter")
    torch.save({"optimizer": state.optimizer.state_dict(),
                "scheduler": state.scheduler.state_dict() if state.scheduler is not None else None},
               tmp / "optimizer.pt")
    (tmp / "buffers").mkdir()
    for name, buf in state.buffers.items():
        buf.save(tmp / "buffers" / f"{name.replace('/', '__')}.jsonl")
    torch.save(rng_states(state.rng), tmp / "rng.pt")
    for rank, states in enumerate(rank_rngs or []):
        if rank:
            torch.save(states, tmp / f"rng-rank-{rank}.pt")
    world_size = len(rank_rngs) if rank_rngs else 1
    (tmp / "state.json").write_text(json.dumps({"step": state.step, "world_size": world_size, **state.extra}),
                                    encoding="utf-8")
    _fsync_tree(tmp)
    if final.exists():  # a re-save of the same step (resume then immediate save)
        shutil.rmtree(final)
    tmp.rename(final)
    _fsync_tree(root)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_folder(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of `step` is (or will be) saved."""
    return Path(run_dir) / CHECKPOINTS / f"{PREFIX}{step:06d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir() if p.name.startswith(PREFIX) and (p / "state.json").is_file()]
    return sorted(done, key=lambda p: int(p.name[len(PREFIX):]))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_buffers(folder: Path, cap: int) -> dict[str, TaskBuffer]:
    return {p.name[:-len(".jsonl")].replace("__", "/"): TaskBuffer.load(p, cap)
            for p in sorted((Path(folder) / "buffers").glob("*.jsonl"))}


def saved_world_size(folder: Path) -> int:
    """How many processes trained the run up to checkpoint `folder` (1 before data parallel)."""
    return int(json.loads((Path(folder) / "state.json").read_text(encoding="utf-8")).get("world_size", 1))


def load_checkpoint(folder: Path, state: TrainState, cap: int, rank: int = 0) -> TrainState:
    """Restore `folder` into `state`, whose model already has this checkpoint's adapter loaded
    (see `azmed.model.load_adapter`) and whose optimizer was built over its weights. Rank `rank`
    of a data-parallel run also gets its own sampling RNG back when the checkpoint has it
    (otherwise it keeps the stream it was seeded with)."""
    folder = Path(folder)
    meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    opt = torch.load(folder / "optimizer.pt", weights_only=False)
    state.optimizer.load_state_dict(opt["optimizer"])
    if state.scheduler is not None and opt["scheduler"] is not None:
        state.scheduler.load_state_dict(opt["scheduler"])
    state.buffers = load_buffers(folder, cap)
    restore_rng_states(torch.load(folder / "rng.pt", weights_only=False), state.rng)
    own = folder / f"rng-rank-{rank}.pt"
    if rank and own.is_file():
        restore_sampling_rng_state(torch.load(own, weights_only=False))
    state.step = int(meta["step"])
    state.extra = {k: v for k, v in meta.items() if k not in ("step", "world_size")}
    return state
