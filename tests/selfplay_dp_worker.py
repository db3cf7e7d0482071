"""One rank of a data-parallel self-play run, started by tests/test_selfplay_distributed.py under
`accelerate launch` (not a test module itself).

    accelerate launch --multi_gpu --num_processes 2 -m tests.selfplay_dp_worker OUT_DIR key=value ...

Runs `SelfPlayTrainer(load_config("configs/clinical-smoke.yaml", overrides)).train()` unchanged,
and records what each step's update was given and did: the batch, the LoRA weights and the
optimizer state before it, the LoRA weights after it and its statistics. At the end each rank
writes OUT_DIR/rank<r>.pt with its records, its final LoRA weights and its buffers, so the test
can replay every update in one process and check that the ranks never drifted apart.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch

import azmed.selfplay.trainer as loop
from azmed.model import lora_state
from azmed.selfplay.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def main(out: Path, overrides: list[str]) -> None:
    trainer = loop.SelfPlayTrainer(load_config(ROOT / "configs" / "clinical-smoke.yaml", overrides))
    records = []
    update = loop.policy_gradient_update

    def recorded(policy, optimizer, batch, **kw):
        before = {"lora": lora_state(policy.model), "optimizer": copy.deepcopy(optimizer.state_dict()),
                  "scheduler": copy.deepcopy(kw["scheduler"].state_dict())}
        stats = update(policy, optimizer, batch, **kw)
        records.append({"batch": list(batch), **before, "after": lora_state(policy.model), "stats": dict(stats),
                        "options": {k: v for k, v in kw.items() if k not in ("scheduler", "world")}})
        return stats

    loop.policy_gradient_update = recorded
    rank = trainer.world.rank
    trainer.train()
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"rank": rank, "world_size": trainer.world.size, "records": records,
                "lora": lora_state(trainer.policy.model),
                "buffers": {k: [t.to_json() for t in b.tasks()] for k, b in trainer.state.buffers.items()}},
               out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
