"""Data-parallel self-play: the processes of one run (ranks), how they split a step's work, and
how they keep one state (DESIGN §8).

    accelerate launch --multi_gpu --num_processes 2 -m azmed.cli train --config configs/clinical-smoke.yaml
    torchrun --nproc_per_node 2 -m azmed.cli train --config configs/clinical-smoke.yaml   # the same

    world = join_world("cpu")        # World(rank=0, size=1) in a plain run
    lo, hi = world.bounds(len(jobs)) # this rank's contiguous share of a list
    everything = world.gather(mine)  # every rank's share, concatenated in rank order

A launcher (`accelerate launch`, `torchrun`) starts one process per rank with `RANK`,
`WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR` and `MASTER_PORT` set; `join_world` joins them into one
`torch.distributed` group: gloo on CPU, NCCL on CUDA (each rank on the GPU of its `LOCAL_RANK`).
Without those variables, or with `WORLD_SIZE=1`, nothing distributed happens at all.

How one step stays one step (`azmed.selfplay.trainer`):
- every rank holds the same config, adapter, optimizer, buffers and trainer RNG, so it builds the
  same list of prompts (references and buffer samples are drawn from the same RNG);
- each rank generates a contiguous share of that list (`bounds`), and the completions are
  gathered in rank order, so every rank then holds the whole list, in the order one process
  would have made it;
- proposals are validated by rank 0 only and its results are broadcast (validation updates the
  environment's memory of known tasks; the other ranks `remember` the same tasks), so buffers
  and duplicate detection cannot drift apart; answers are verified in shares and gathered;
- the update splits its computation units across ranks (`assign`); each rank's loss is divided
  by the step's global token count, and the LoRA gradients are summed across ranks
  (`all_reduce_gradients`) before clipping and the optimizer step, so N processes take the
  same step as one process on the same global batch (up to floating-point summation order);
- only rank 0 writes the run folder (config, metrics, samples, checkpoints, adapter, status).

Sampling: each rank draws from its own torch RNG stream (rank r > 0 reseeds with seed + r after
the model loads), so two ranks never sample identical completions of the same prompt; a run
with N processes therefore samples other completions than a run with one, and only the update
on a given batch is equal across world sizes.

Limits: the global batch is what the config says (N processes do the same work faster, they do
not do N times the work); rank 0's validation is not parallel; a rank that dies stalls the
others until the launcher stops them; `rollout.backend: auto` keeps to transformers' generate
with several processes (a vLLM engine in each rank has not been tried), and nothing here has run
on GPUs yet (no GPU was available to the project).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Whether this process writes the run folder and the console (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def bounds(self, n: int) -> tuple[int, int]:
        """This rank's contiguous share [lo, hi) of n items; shares differ by at most one item and
        the earlier ranks get the larger ones.

        >>> [World(r, 3).bounds(7) for r in range(3)]
        [(0, 3), (3, 5), (5, 7)]
        """
        base, extra = divmod(n, self.size)
        lo = self.rank * base + min(self.rank, extra)
        return lo, lo + base + (self.rank < extra)

    def gather(self, mine: Sequence[T]) -> list[T]:
        """Every rank's `mine`, concatenated in rank order (each rank gets the whole list)."""
        if not self.distributed:
            return list(mine)
        import torch.distributed as dist

        parts: list[Any] = [None] * self.size
        dist.all_gather_object(parts, list(mine))
        return [x for part in parts for x in part]

    def gather_each(self, mine: T) -> list[T]:
        """One object from every rank, in rank order."""
        return self.gather([mine])

    def broadcast(self, obj: T) -> T:
        """Rank 0's `obj` on every rank."""
        if not self.distributed:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums of `values` over the ranks."""
        if not self.distributed:
            return list(values)
        import torch
        import torch.distributed as dist

        t = torch.tensor(list(values), dtype=torch.float64, device=self._device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def all_reduce_gradients(self, params: Sequence[Any]) -> None:
        """Sum the gradients of `params` over the ranks, in place (a missing gradient counts as
        zero: a rank that computed nothing this step). One flat buffer, one collective."""
        if not self.distributed:
            return
        import torch
        import torch.distributed as dist

        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
                          for p in params])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).to(p.dtype)
            offset += n

    def broadcast_parameters(self, params: Sequence[Any]) -> None:
        """Rank 0's values of `params` on every rank (the same starting adapter everywhere)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for p in params:
            dist.broadcast(p.data, src=0)

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def _device(self) -> str:
        import torch.distributed as dist

        return "cuda" if dist.get_backend() == "nccl" else "cpu"


def assign(costs: Sequence[float], size: int) -> list[int]:
    """The rank that computes each unit: the costliest first, each to the least loaded rank (the
    lowest rank on a tie). Deterministic, so every rank reaches the same assignment.

    >>> assign([5, 1, 4, 2], 2)
    [0, 0, 1, 1]
    """
    load = [0.0] * size
    owner = [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        r = min(range(size), key=lambda r: (load[r], r))
        owner[i] = r
        load[r] += costs[i]
    return owner


def launched_size() -> int:
    """The number of processes a launcher started (`WORLD_SIZE`, 1 when none)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise RuntimeError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number: start the run with "
                           "`accelerate launch` or `torchrun`, or unset WORLD_SIZE") from None


def join_world(device: str) -> World:
    """Join the process group a launcher set up (see the module docstring); World() when there is
    none. `device` is the configured model device ('auto', 'cpu' or 'cuda'); on CUDA each rank
    takes the GPU of its LOCAL_RANK."""
    size = launched_size()
    if size == 1:
        return World()
    import torch
    import torch.distributed as dist

    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise RuntimeError(f"WORLD_SIZE={size} but {', '.join(missing)} is not set: start the run with "
                           "`accelerate launch` or `torchrun`, which set them")
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return World(dist.get_rank(), dist.get_world_size())


def leave_world(world: World) -> None:
    """Leave the process group (at the end of a run)."""
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
