"""Supervised fine-tuning on real cases: TRL's SFTTrainer over a peft LoRA adapter of the
self-play base model, with the loss on the answer only, a held-out split, early stopping on
the held-out loss, checkpoints and resume.

    azmed finetune --data cases.jsonl --config configs/finetune.yaml trainer.lr=1e-4
    azmed finetune --data cases.jsonl --from-adapter runs/selfplay-x/adapter
    azmed finetune --resume runs/20250101-120000-finetune-cases

    from azmed.finetune.trainer import finetune
    result = finetune(load_config(), "cases.jsonl")      # -> FinetuneResult (run folder, report)

How it works:
- Each case becomes a conversational prompt/completion pair: the prompt is the system message
  and the case (schema.prompt_text, exactly what `Policy.chat` sends at inference), the
  completion the answer. TRL masks the prompt, so only answer tokens (and the closing
  `<|im_end|>`, which teaches the model to stop) carry loss. A case too long for
  `data.max_prompt_tokens` is cut inside its presentation, never in the question or answer.
- The held-out part is chosen by a hash of each case's content and `data.split_seed`: the same
  file gives the same held-out part for every run, whatever the starting model, so base,
  fine-tuned and self-play-then-fine-tuned models are scored on the same cases.
- The held-out loss is measured before training (step 0) and every `trainer.eval_every` steps;
  a checkpoint is written at each, early stopping ends the run after `early_stopping_patience`
  losses without improvement and the best checkpoint becomes the run's `adapter/`.
- The held-out cases are also answered by greedy generation and graded (the `real-cases`
  suite, `azmed.eval.real_cases`) before and after fine-tuning; the answers go to `samples.jsonl`.

Run folder (`azmed.runs.RunFolder`, the self-play layout): `config.yaml` (resolved config),
`run.json` (data file and hash, starting adapter), `split.json`, `heldout.jsonl`,
`metrics.jsonl` (one JSON object per logged step), `samples.jsonl`,
`checkpoints/checkpoint-N/`, `adapter/` (loadable by
`azmed.model.load_adapter`, `azmed eval --adapter`, `azmed train --init-adapter`),
`report.json` and `report.md` (input rows used and skipped with the first problems, split,
losses, scores).

Limits: one process (no `accelerate launch` data parallelism is set up here); a checkpoint
folder is complete once its `trainer_state.json` is written (transformers writes it last), and
`--resume` ignores incomplete ones left by a kill.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from azmed.config import read_yaml_file, save_config, validate
from azmed.finetune.config import FinetuneConfig
from azmed.real_cases import (CaseFile, RealCase, completion_text, file_sha256, presentation_text, prompt_text,
                              read_cases, write_cases)
from azmed.runs import RunFolder, RunLog, append_jsonl, atomic_folder, default_run_dir, step_line, write_json_atomic

ADAPTER_WEIGHTS = "adapter_model.safetensors"


class FinetuneError(RuntimeError):
    """A run that cannot start or continue; the message says why and how to fix it."""


# ---- run folder ----------------------------------------------------------------------------------

def complete_checkpoints(folder: Path) -> list[Path]:
    """Checkpoints whose trainer state was written (the last file transformers writes), oldest first."""
    found = []
    for d in folder.glob("checkpoint-*") if folder.is_dir() else []:
        try:
            step = int(d.name.split("-")[1])
            json.loads((d / "trainer_state.json").read_text())
        except (ValueError, IndexError, OSError):
            continue
        if (d / ADAPTER_WEIGHTS).is_file():
            found.append((step, d))
    return [d for _, d in sorted(found)]


# ---- data: split and chat examples ---------------------------------------------------------------

def split_cases(cases: list[RealCase], fraction: float, seed: int) -> tuple[list[RealCase], list[RealCase]]:
    """(train, held-out): the `round(fraction * n)` cases whose content hash with `seed` is
    smallest are held out (at least one when fraction > 0 and there are two cases or more)."""
    if fraction <= 0 or len(cases) < 2:
        return list(cases), []
    n_out = min(len(cases) - 1, max(1, round(fraction * len(cases))))

    def rank(c: RealCase) -> str:
        return hashlib.sha256(f"{seed}:{c.content_key()}".encode()).hexdigest()

    out_keys = {c.content_key() for c in sorted(cases, key=rank)[:n_out]}
    return [c for c in cases if c.content_key() not in out_keys], [c for c in cases if c.content_key() in out_keys]


def fitted_prompt(case: RealCase, tokenizer, system_prompt: str, max_tokens: int) -> tuple[str, bool]:
    """The user prompt for `case`, its presentation cut at the end when the chat-formatted
    prompt would exceed `max_tokens`; and whether it was cut."""
    def n_tokens(user: str) -> int:
        msgs = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]
        return len(tokenizer.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True, return_dict=False))

    full = prompt_text(case)
    total = n_tokens(full)
    if total <= max_tokens:
        return full, False
    body = presentation_text(case)
    body_ids = tokenizer(body, add_special_tokens=False)["input_ids"]
    keep = len(body_ids) - (total - max_tokens) - 8  # 8 tokens of slack for the marker and re-tokenisation
    if keep < 16:
        raise FinetuneError(f"case {case.id}: the question alone needs about {total - len(body_ids)} tokens, more "
                            f"than data.max_prompt_tokens={max_tokens}; raise data.max_prompt_tokens")
    text = prompt_text(case, tokenizer.decode(body_ids[:keep]).rstrip() + " [...]")
    while n_tokens(text) > max_tokens and keep > 16:  # rare: re-tokenisation merged differently
        keep -= 8
        text = prompt_text(case, tokenizer.decode(body_ids[:keep]).rstrip() + " [...]")
    return text, True


def chat_examples(cases: list[RealCase], tokenizer, system_prompt: str, max_prompt_tokens: int,
                  with_rationale: bool) -> tuple[list[dict], int]:
    """Conversational prompt/completion examples for TRL (loss on the completion only), and
    how many prompts were shortened."""
    examples, cut = [], 0
    for case in cases:
        user, was_cut = fitted_prompt(case, tokenizer, system_prompt, max_prompt_tokens)
        cut += was_cut
        examples.append({
            "prompt": [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": completion_text(case, with_rationale)}],
        })
    return examples, cut


# ---- metrics: one console line and one JSON object per logged step ------------------------------

def metrics_callback(log: RunLog, t0: float):
    from transformers import TrainerCallback

    class MetricsLog(TrainerCallback):
        """Appends each log event to metrics.jsonl and prints one greppable line."""

        def __init__(self):
            self.last: tuple[float, int | None] = (time.time(), None)

        def on_train_begin(self, args, state, control, **kwargs):
            self.last = (time.time(), None)  # the rate excludes the step-0 held-out loss

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = dict(logs or {})
            now = time.time()
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), "time_s": round(now - t0, 2)}
            if "loss" in logs:  # a training log: rate since the previous one
                tokens = int(logs.get("num_tokens", 0))
                since, before = self.last
                if before is not None and tokens > before:
                    row["tok_per_s"] = round((tokens - before) / max(now - since, 1e-9), 1)
                self.last = (now, tokens)
            row.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in logs.items()})
            log.write_step(row)
            if not any(k in logs for k in ("loss", "eval_loss")):
                return  # the end-of-training summary: kept in metrics.jsonl only
            fields = {key: f"{logs[key]:.4g}" for key in ("loss", "eval_loss", "mean_token_accuracy",
                                                          "learning_rate", "grad_norm") if key in logs}
            if row.get("tok_per_s"):
                fields["tok/sec"] = f"{row['tok_per_s']:.0f}"
            print(step_line(state.global_step, state.max_steps or 0, fields), flush=True)

    return MetricsLog()


# ---- the run -------------------------------------------------------------------------------------

@dataclass
class FinetuneResult:
    run_dir: Path
    report: dict[str, Any]


def new_run_folder(cfg: FinetuneConfig, data_path: Path) -> RunFolder:
    root = Path(cfg.run.out_dir or default_run_dir(f"finetune-{data_path.stem}"))
    if root.exists() and any(root.iterdir()):
        raise FinetuneError(f"run folder {root} already exists: choose another run.out_dir=..., or continue it "
                            f"with --resume {root}")
    root.mkdir(parents=True, exist_ok=True)
    return RunFolder(root)


def resumed_run(run_dir: str) -> tuple[RunFolder, FinetuneConfig, dict[str, Any]]:
    """The run folder, its saved config and run facts, checked for a resume."""
    folder = RunFolder(Path(run_dir))
    if not folder.config.is_file() or not folder.run_facts.is_file():
        raise FinetuneError(f"{run_dir} is not a fine-tuning run folder (no config.yaml / run.json): pass the "
                            "folder `azmed finetune` created, e.g. runs/<time>-finetune-<data>")
    cfg = validate(FinetuneConfig, read_yaml_file(folder.config), f"{folder.config} (the saved config)")
    return folder, cfg, json.loads(folder.run_facts.read_text(encoding="utf-8"))


def finetune(cfg: FinetuneConfig | None, data: str | None, *, from_adapter: str | None = None, strict: bool = False,
             resume: str | None = None) -> FinetuneResult:
    """Fine-tune on the real cases of JSONL file `data` (see the module docstring); or, with
    `resume`, continue that run folder from its last complete checkpoint (with its saved
    config: `cfg` is then ignored)."""
    t0 = time.time()
    if resume:
        folder, cfg, facts = resumed_run(resume)
        checkpoints = complete_checkpoints(folder.checkpoints)
        if not checkpoints:
            raise FinetuneError(f"{folder.checkpoints} has no complete checkpoint to resume from: start a new run")
        if data and Path(data).resolve() != Path(facts["data"]).resolve():
            raise FinetuneError(f"--data {data} differs from the run's data file {facts['data']}: a run resumes "
                                "on the data it started with (leave out --data)")
        data, from_adapter, strict = facts["data"], facts["from_adapter"], facts["strict"]
        if not Path(data).is_file() or file_sha256(data) != facts["data_sha256"]:
            raise FinetuneError(f"the data file {data} is missing or changed since the run started, so the split "
                                "and progress would not match: restore it or start a new run")
        resume_from = checkpoints[-1]
    else:
        if not data:
            raise FinetuneError("give the real cases with --data FILE.jsonl (see docs/real-cases.md)")
        if from_adapter and not (Path(from_adapter) / "adapter_config.json").is_file():
            raise FinetuneError(f"--from-adapter {from_adapter} is not a LoRA adapter folder (no adapter_config.json):"
                                " pass a run's adapter/ folder, e.g. runs/<run>/adapter")
        resume_from = None
    data_path = Path(data)
    case_file = read_cases(data_path, strict=strict)
    if not case_file.rows:
        raise FinetuneError(f"{data_path}: no valid rows to train on ({len(case_file.problems)} bad); the first "
                            f"problem: {case_file.problems[0]}")
    cases = case_file.cases[: cfg.data.limit] if cfg.data.limit else case_file.cases
    train_cases, heldout_cases = split_cases(cases, cfg.data.eval_fraction, cfg.data.split_seed)
    if not resume:
        folder = new_run_folder(cfg, data_path)
        save_config(cfg, folder.config)
        write_json_atomic(folder.run_facts, {"data": str(data_path.resolve()), "data_sha256": file_sha256(data_path),
                                       "from_adapter": str(Path(from_adapter).resolve()) if from_adapter else None,
                                       "strict": strict, "started": datetime.now().isoformat(timespec="seconds")})
        write_json_atomic(folder.split, {"split_seed": cfg.data.split_seed, "eval_fraction": cfg.data.eval_fraction,
                                         "train": [c.id for c in train_cases], "heldout": [c.id for c in heldout_cases]})
        write_cases(heldout_cases, folder.heldout_cases)
    print(f"[finetune] {data_path}: {len(case_file.rows)} rows valid, {len(case_file.problems)} skipped; "
          f"{len(train_cases)} train / {len(heldout_cases)} held out -> {folder.root}", flush=True)
    for problem in case_file.problems[:3]:
        print(f"[finetune] skipped {problem}", file=sys.stderr)
    return _train(cfg, folder, case_file, train_cases, heldout_cases, from_adapter, resume_from, t0)


def _train(cfg: FinetuneConfig, folder: RunFolder, case_file: CaseFile, train_cases: list[RealCase],
           heldout_cases: list[RealCase], from_adapter: str | None, resume_from: Path | None,
           t0: float) -> FinetuneResult:
    from datasets import Dataset, disable_progress_bars
    from transformers import EarlyStoppingCallback, PrinterCallback
    from trl import SFTTrainer

    from azmed.model import ModelError, load_policy

    # A resumed run loads the adapter from its checkpoint (the trainer then restores the rest),
    # so it does not need the starting adapter's folder any more.
    start_adapter = str(resume_from) if resume_from else from_adapter
    try:
        policy = load_policy(cfg.model, adapter=start_adapter, lora=None if start_adapter else cfg.lora,
                             trainable=True)
    except (ModelError, ValueError, RuntimeError) as exc:
        where = f"adapter {start_adapter}" if start_adapter else f"model {cfg.model.name!r}"
        raise FinetuneError(f"cannot load the {where}: {str(exc).splitlines()[0]} (an adapter must have been "
                            f"trained on the same base model, model.name={cfg.model.name!r})") from None
    disable_progress_bars()  # TRL's per-map bars would drown the per-step lines
    tok, system = policy.tokenizer, cfg.model.system_prompt
    train_examples, cut_train = chat_examples(train_cases, tok, system, cfg.data.max_prompt_tokens,
                                              cfg.data.with_rationale)
    eval_examples, cut_eval = chat_examples(heldout_cases, tok, system, cfg.data.max_prompt_tokens,
                                            cfg.data.with_rationale)
    has_eval = bool(eval_examples)
    report: dict[str, Any] = {
        "status": "training", "data": case_file.report(), "from_adapter": from_adapter,
        "lora": "from the starting adapter" if from_adapter else cfg.lora.model_dump(),
        "split": {"train": len(train_cases), "heldout": len(heldout_cases), "seed": cfg.data.split_seed},
        "prompts_shortened": {"train": cut_train, "heldout": cut_eval, "max_prompt_tokens": cfg.data.max_prompt_tokens},
    }

    trainer = SFTTrainer(model=policy.model, args=sft_arguments(cfg, folder, policy, has_eval),
                         train_dataset=Dataset.from_list(train_examples),
                         eval_dataset=Dataset.from_list(eval_examples) if has_eval else None,
                         processing_class=tok, callbacks=[metrics_callback(RunLog(folder.root), t0)])
    trainer.remove_callback(PrinterCallback)  # MetricsLog prints the per-step line
    if has_eval and cfg.trainer.early_stopping_patience:
        trainer.add_callback(EarlyStoppingCallback(cfg.trainer.early_stopping_patience,
                                                   cfg.trainer.early_stopping_threshold))
    if resume_from is not None:
        RunLog(folder.root).truncate(int(resume_from.name.split("-")[1]))  # steps after it are redone
        if folder.report_json.is_file():  # what was measured before training started
            previous = json.loads(folder.report_json.read_text(encoding="utf-8"))
            report.update({k: previous[k] for k in ("score_before", "eval_loss_start") if k in previous})
        print(f"[finetune] resuming from {resume_from}", flush=True)
    elif has_eval:
        if cfg.heldout.score_before:
            report["score_before"] = score_heldout(policy, folder, cfg, "before")
        report["eval_loss_start"] = trainer.evaluate()["eval_loss"]  # the starting model's held-out loss, step 0
        write_json_atomic(folder.report_json, report)  # kept for a resume

    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    state = trainer.state  # with a held-out part, the best checkpoint's weights are loaded now
    policy.model = trainer.model
    save_adapter(policy.model, folder.adapter)
    report["train"] = {"steps": state.global_step, "max_steps": state.max_steps, "epochs": round(state.epoch or 0, 3),
                       "train_loss": round(output.training_loss, 6),
                       "stopped_early": has_eval and state.global_step < state.max_steps,
                       "best_step": state.best_global_step, "resumed_from": str(resume_from) if resume_from else None}
    if has_eval:  # the saved adapter's held-out loss (measured when training ended before the first evaluation)
        report["eval_loss_end"] = state.best_metric if state.best_metric is not None else trainer.evaluate()["eval_loss"]
        report["score_after"] = score_heldout(policy, folder, cfg, "after")
    report.update(status="done", adapter=str(folder.adapter), time_s=round(time.time() - t0, 1))
    write_json_atomic(folder.report_json, report)
    folder.report_md.write_text(report_markdown(report), encoding="utf-8")
    return FinetuneResult(folder.root, report)


def sft_arguments(cfg: FinetuneConfig, folder: RunFolder, policy, has_eval: bool):
    """TRL's SFTConfig for this run: completion-only loss, held-out loss and a checkpoint every
    `eval_every` steps, the best checkpoint loaded at the end, precision from the policy."""
    from trl import SFTConfig

    t = cfg.trainer
    on_cpu = policy.device == "cpu"
    return SFTConfig(
        output_dir=str(folder.checkpoints), use_cpu=on_cpu,
        bf16=policy.autocast_bf16 if on_cpu else cfg.model.dtype in ("auto", "bfloat16"),
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.grad_accum, learning_rate=t.lr, num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1, lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # transformers reads a value below 1 as a share of the steps
        weight_decay=t.weight_decay, max_grad_norm=t.max_grad_norm, max_length=t.max_length,
        completion_only_loss=True, gradient_checkpointing=t.gradient_checkpointing,
        eval_strategy="steps" if has_eval else "no", eval_steps=t.eval_every,
        save_strategy="steps", save_steps=t.eval_every, save_total_limit=cfg.run.keep_checkpoints,
        load_best_model_at_end=has_eval, metric_for_best_model="eval_loss" if has_eval else None,
        greater_is_better=False, restore_callback_states_from_checkpoint=True,
        logging_steps=t.log_every, logging_first_step=True, report_to=[], disable_tqdm=True,
        seed=cfg.run.seed, data_seed=cfg.run.seed, dataloader_num_workers=0,
    )


def score_heldout(policy, folder: RunFolder, cfg: FinetuneConfig, stage: str) -> dict[str, Any]:
    """Answer the held-out cases greedily and grade them (the `real-cases` suite); the answers
    are appended to samples.jsonl with their `stage` ('before' or 'after' fine-tuning)."""
    from azmed.eval.harness import run_suite
    from azmed.eval.real_cases import RealCaseOptions, RealCaseSuite

    suite = RealCaseSuite(RealCaseOptions(jsonl=str(folder.heldout_cases), max_new_tokens=cfg.heldout.max_new_tokens))
    run = run_suite(suite, policy, limit=cfg.heldout.limit, batch_size=cfg.heldout.batch_size,
                    max_batch_tokens=cfg.heldout.max_batch_tokens, progress=False)
    append_jsonl(folder.samples, ({"stage": stage, **r} for r in run.records))
    result = {"n": len(run.records), "correct": sum(bool(r["correct"]) for r in run.records),
              **run.summary["metrics"], "groups": run.summary["groups"], "seconds": run.summary["seconds"]}
    print(f"[finetune] held-out accuracy {stage} fine-tuning: {result['accuracy']:.3f} ({result['correct']}/"
          f"{result['n']}) in {result['seconds']:.0f}s", flush=True)
    return result


def save_adapter(model, target: Path) -> None:
    """Save the LoRA adapter to `target` atomically (a temporary sibling renamed into place)."""
    with atomic_folder(target) as tmp:
        model.save_pretrained(str(tmp))


def report_markdown(report: dict[str, Any]) -> str:
    """The run's report for people: input rows, split, losses, scores, skipped rows."""
    d, s = report["data"], report["split"]
    lines = ["# Fine-tuning report", "",
             f"- data: `{d['path']}`: {d['rows_read']} rows read, {d['rows_used']} used, {d['rows_skipped']} skipped",
             f"- split: {s['train']} train, {s['heldout']} held out (seed {s['seed']})",
             f"- starting model: {'adapter `' + report['from_adapter'] + '`' if report['from_adapter'] else 'base + new LoRA'}",
             f"- prompts shortened to fit: {report['prompts_shortened']['train']} train, "
             f"{report['prompts_shortened']['heldout']} held out"]
    tr = report.get("train", {})
    if tr:
        best = f"; best step {tr['best_step']}" if tr["best_step"] is not None else ""
        lines.append(f"- steps: {tr['steps']}/{tr['max_steps']} ({tr['epochs']} epochs)"
                     f"{', stopped early' if tr['stopped_early'] else ''}{best}")
    if "eval_loss_start" in report:
        lines.append(f"- held-out loss (answer tokens): {report['eval_loss_start']:.4f} at the start -> "
                     f"{report.get('eval_loss_end', float('nan')):.4f} for the saved adapter")
    for key, label in (("score_before", "before"), ("score_after", "after")):
        if key in report:
            sc = report[key]
            lines.append(f"- held-out accuracy {label}: {sc['accuracy']:.3f} ({sc['correct']}/{sc['n']})")
    lines.append(f"- adapter: `{report.get('adapter')}`")
    if d["first_problems"]:
        lines += ["", f"## Skipped rows (first {len(d['first_problems'])} of {d['rows_skipped']})", ""]
        for p in d["first_problems"]:
            lines.append(f"- line {p['line']}" + (f", field `{p['field']}`" if p["field"] else "") + f": {p['message']}")
    return "\n".join(lines) + "\n"
