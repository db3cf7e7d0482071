"""The main config's self-play step: time split, share of matmul peak, memory, vs baseline and TRL.

Where one self-play step's time goes, how close each part runs to this machine's matmul peak,
its peak memory, and the same step with the step's optimizations off and through TRL's
GRPOTrainer, all measured side by side in one process.

    # the main config (configs/clinical.yaml): one untimed step, one timed step per variant, then
    # TRL (one untimed, one timed step)
    .venv/bin/python benchmarks/selfplay_step.py
    # shorter: half the proposals and answers, no TRL, only the main variant
    .venv/bin/python benchmarks/selfplay_step.py --scale 0.5 --variants main --no-trl
    # any model folder, any dotted override of the training config
    .venv/bin/python benchmarks/selfplay_step.py --model /path/to/hf-folder trainer.micro_batch_tokens=1024

What is timed. The config's warm-up on demonstrations is switched off (`selfplay.warmup.steps=0`)
so every step is a self-play step (propose -> validate -> Monte-Carlo solve rates -> solve ->
verify -> one LoRA update); `--demo-step` also times one warm-up step on demonstrations, labelled.
First `--warmup` untimed steps take the process's one-time costs (imports, kernel selection, first
allocations); then each variant builds a fresh trainer from the same seed and times its first
`--steps` steps, so every variant does the same work:
- main:     the config as given (the main config turns gradient checkpointing on, which turns the
            update's shared prompts off: peak RSS under 3 GB);
- no-gc:    gradient checkpointing off (prompts shared in the update): the variant compared with
            TRL, which runs without it too;
- baseline: gradient checkpointing off and `trainer.share_prompts=false`: the step without its
            optimizations that a config can switch. Generation's shared prefill (a prompt sampled
            several times is prefilled once) has no switch and stays on in every variant.
TRL: `GRPOTrainer` (use_cpu, LoRA of the same rank, alpha and layers, bf16 autocast exactly when
ours uses it, i.e. only on CPUs with native bf16, no gradient checkpointing, beta 0) generates as
many completions as our timed step did, 4 per prompt, from prompts drawn from the ones our step
used (proposer, Monte-Carlo and solver prompts in their proportions), with one token limit (the
mean of our limits, or `--tokens`), all in one generation call, and makes one update with the
clinical verifier as reward, over micro-batches of one group of 4 completions (a few hundred
tokens each: about our `micro_batch_tokens`) accumulated into one optimizer step; trained as one
batch, its activations would take tens of GB for the main config's step.

What is printed, per timed step and as a mean per variant:
- seconds and the split: generation = prefill (forwards of more than one new position per row)
  + decode (forwards of one position) + the rest of generation (sampling between decode steps,
  merging the LoRA, tokenising, copying caches); validate; verify; update;
- real (non-pad) tokens per second in prefill, decode and update, and the padding share;
- each as a share of this machine's matmul peak (fp32, and bf16 where the CPU has it natively),
  measured in the same run at the trainer's torch thread count, against the dtype the step runs
  in. FLOPs (see benchmarks/forward_profile.py): ~2·P·tokens for prefill and decode (P = the
  decoder's linear weights, plus the LM head where logits are computed), ~(4 + 2·recompute)·P
  ·tokens for the update (forward, backward to the inputs only since the base is frozen, plus the
  recomputed forward under gradient checkpointing), plus the LoRA's share; attention scores are
  left out, so the shares are lower bounds;
- memory: RSS and peak RSS of each step (the trainer's `memory` record) and each variant's peak
  (VmHWM, reset between variants; TRL's separately);
- the ratios: each variant to the baseline, and ours to TRL (seconds per completion, generated
  tokens per second);
- the CPU flags (`lscpu | grep -o 'avx512_bf16\\|avx2' | sort -u`) and torch's thread count.

Run time: warmup + steps x variants self-play steps, then TRL's warmup + steps steps, plus a
model load per part and ~3 s of matmul peaks: by default 4 of ours and 2 of TRL's. On a 2-core
CPU a main-config step of the embedded model takes tens of seconds with native bf16 and several
times that without; use `--scale 0.5`, `--variants`, `--no-trl` and `--warmup 0` to fit a budget
(without warm-up the first variant's step carries the one-time costs: prefer --warmup 1 for
figures that are quoted).

Limits: an untrained adapter proposes fewer valid tasks than one mid-run, so the Monte-Carlo
share of a step is smaller than in a long run (pass `init_adapter=<run>/adapter` to time a step
of a trained adapter); CPU timings move with other load: compare figures from the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder comes first on sys.path and its simulator.py would shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # TRL's hub telemetry: this benchmark runs offline

from benchmarks.forward_profile import ForwardProfile  # noqa: E402
from benchmarks.machine import cpu_flags, peak_rss_mb, peaks, reset_peak_rss  # noqa: E402

VARIANTS = {
    "main": [],
    "no-gc": ["trainer.gradient_checkpointing=false"],
    "baseline": ["trainer.gradient_checkpointing=false", "trainer.share_prompts=false"],
}
TRL_GENERATIONS = 4  # completions per prompt in TRL's group


@dataclass
class StepFigures:
    """One timed step: seconds by part, real tokens by kind, FLOPs by kind, memory."""

    label: str
    seconds: float
    split: dict[str, float]
    tokens: dict[str, int]
    padding: dict[str, float]
    flops: dict[str, float]
    memory: dict[str, int] = field(default_factory=dict)
    completions: int = 0
    generated: int = 0
    gradient_checkpointing: bool = False


def step_figures(label: str, seconds: float, generate_s: float, update_s: float, other: dict[str, float],
                 profile: ForwardProfile, recompute: bool, merged: bool) -> StepFigures:
    """Figures of one step from its phase times and the forwards the profile saw."""
    w = profile.work()
    prefill, decode = w["prefill"].seconds, w["decode"].seconds
    split = {"prefill": prefill, "decode": decode, "gen_other": max(0.0, generate_s - prefill - decode),
             **other, "update": update_s}
    return StepFigures(label, seconds, split, {k: w[k].tokens for k in w}, {k: w[k].padding for k in w},
                       {"prefill": profile.flops("prefill", merged=merged), "decode": profile.flops("decode", merged=merged),
                        "update": profile.flops("update", recompute=recompute)}, gradient_checkpointing=recompute)


# ---- ours ---------------------------------------------------------------------------------------------

def our_config(args, out_dir: str, variant: list[str], total_steps: int, demo: bool = False):
    """The benchmark's config: `--config` with the run's plumbing, `--scale`, `--tokens`, `--mc`,
    `--model`, `--threads`, the free overrides, then the variant's switches; `demo`: the first
    step is a warm-up (demonstration) step."""
    from azmed.selfplay.config import load_config

    base = [f"run.out_dir={out_dir}", "run.progress=false", "eval.at_end=false", "run.checkpoint_every=100000",
            f"trainer.steps={total_steps}", f"selfplay.warmup.steps={int(demo)}"]
    if args.model:
        base.append(f"model.name={args.model}")
    if args.threads:
        base.append(f"model.threads={args.threads}")
    if args.mc:
        base.append(f"selfplay.mc_rollouts={args.mc}")
    cfg = load_config(args.config, base + args.overrides)
    sized = []
    for env_name in cfg.enabled_envs():
        for tt, s in cfg.envs[env_name].task_types.items():
            if not s.enabled:
                continue
            key = f"envs.{env_name}.task_types.{tt}"
            if args.scale != 1.0:
                sized += [f"{key}.propose={max(1, round(s.propose * args.scale)) if s.propose else 0}",
                          f"{key}.solve={max(1, round(s.solve * args.scale)) if s.solve else 0}"]
            if args.tokens:
                sized += [f"{key}.propose_tokens={args.tokens}", f"{key}.solve_tokens={args.tokens}"]
    return load_config(args.config, base + sized + args.overrides + variant)


def run_ours(args, name: str, variant: list[str], peak: dict[str, float], steps: int, timed: bool = True,
             demo: bool = False):
    """`steps` steps of a fresh trainer of one variant (`demo`: the first is a warm-up step on
    demonstrations); returns their figures, the prompts of the last step (role, prompt, token
    limit), the peak RSS and whether bf16 autocast was on. Measures the matmul peak on first use,
    at the trainer's thread count."""
    import torch

    from azmed.memory import release_memory
    from azmed.selfplay.trainer import SelfPlayTrainer

    release_memory()
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = our_config(args, tmp, variant, steps, demo)
        trainer = SelfPlayTrainer(cfg)
        if not peak:
            peak.update(peaks())
            print(f"[cpu ] flags: {cpu_flags()} | torch threads {torch.get_num_threads()} | matmul peak "
                  + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()), flush=True)
        profile = ForwardProfile(trainer.policy.model, trainer.policy.tokenizer.pad_token_id)
        jobs: list[tuple[str, str, int]] = []
        generate = trainer._generate

        def recorded(batch):
            jobs.extend((j.role, j.prompt, j.max_tokens) for j in batch)
            with profile.generating():
                return generate(batch)

        trainer._generate = recorded
        figures: list[StepFigures] = []
        for i in range(steps):
            profile.reset()
            jobs.clear()
            t0 = time.perf_counter()
            rec = trainer.step()
            seconds = time.perf_counter() - t0
            t = rec["time"]
            fig = step_figures(f"{name} step {i + 1} {rec['phase']}", seconds, t["generate"], t["update"],
                               {"validate": t["validate"], "verify": t["verify"]}, profile,
                               cfg.trainer.gradient_checkpointing, merged=True)
            fig.memory, fig.completions, fig.generated = rec["memory"], len(jobs), rec["tokens"]["generated"]
            print_step(fig, peak, trainer.policy.autocast_bf16, timed=timed)
            figures.append(fig)
        profile.close()
        for env in trainer.envs.values():
            env.close()
        bf16 = trainer.policy.autocast_bf16
        del trainer
    release_memory()
    return figures, list(jobs), peak_rss_mb(), bf16


# ---- TRL ----------------------------------------------------------------------------------------------

def run_trl(args, jobs: list[tuple[str, str, int]], bf16: bool, peak: dict[str, float]):
    """GRPOTrainer steps over prompts drawn from `jobs` (see the module docstring); returns the
    timed steps' figures and TRL's peak RSS."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from azmed.envs import make_env
    from azmed.memory import process_memory, release_memory
    from azmed.model import resolve_model_path

    cfg = our_config(args, "unused", [], 1)  # its run folder is never created
    env = make_env("clinical", **cfg.envs["clinical"].options)
    task = env.seed_tasks("diagnosis")[0]
    n = len(jobs) - len(jobs) % TRL_GENERATIONS
    limit = args.tokens or round(statistics.mean(m for _, _, m in jobs))
    rng = random.Random(0)
    steps = args.warmup + args.steps
    rows = [jobs[i][1] for _ in range(steps) for i in sorted(rng.sample(range(len(jobs)), n // TRL_GENERATIONS))]
    system = cfg.model.system_prompt
    data = Dataset.from_list([{"prompt": [{"role": "system", "content": system}, {"role": "user", "content": p}]}
                              for p in rows])
    reward_s = [0.0]

    def reward(completions, **_):
        # the verifier's cost is part of a real step: grade every completion as a diagnosis answer
        t0 = time.perf_counter()
        out = [float(env.verify(task, c[0]["content"] if isinstance(c, list) else c).correct) for c in completions]
        reward_s[0] += time.perf_counter() - t0
        return out

    release_memory()
    reset_peak_rss()
    path = resolve_model_path(cfg.model.name)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    tok.pad_token = tok.eos_token
    lora = cfg.lora
    out = tempfile.TemporaryDirectory(prefix="trl-bench-")
    targs = GRPOConfig(output_dir=out.name, use_cpu=True, bf16=bf16,
                       gradient_checkpointing=False, num_generations=TRL_GENERATIONS,
                       # all n completions generated in one call, trained in micro-batches of one group
                       # (about our micro_batch_tokens) accumulated into one optimizer step
                       per_device_train_batch_size=TRL_GENERATIONS, steps_per_generation=n // TRL_GENERATIONS,
                       gradient_accumulation_steps=n // TRL_GENERATIONS,
                       max_completion_length=limit, max_steps=steps, learning_rate=cfg.trainer.lr,
                       temperature=cfg.rollout.temperature, top_p=1.0, top_k=0, logging_steps=1,
                       save_strategy="no", report_to=[], beta=0.0, max_grad_norm=cfg.trainer.grad_clip,
                       disable_tqdm=True, dataloader_num_workers=0, shuffle_dataset=False)
    grpo = GRPOTrainer(model=model, reward_funcs=reward, args=targs, train_dataset=data,
                       peft_config=LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                              target_modules=lora.target_modules, task_type="CAUSAL_LM"),
                       processing_class=tok)
    profile = ForwardProfile(grpo.model, tok.pad_token_id)
    gen_s = [0.0]
    generate = grpo._generate

    def timed_generate(*a, **kw):
        t0 = time.perf_counter()
        with profile.generating():
            out = generate(*a, **kw)
        gen_s[0] += time.perf_counter() - t0
        return out

    grpo._generate = timed_generate
    figures: list[StepFigures] = []

    class StepClock(TrainerCallback):
        """Times each step; its figures are printed once TRL has logged the step's completion length."""

        def on_step_begin(self, *_, **__):
            profile.reset()
            gen_s[0] = reward_s[0] = 0.0
            self.t0 = time.perf_counter()

        def on_step_end(self, _args, state, *__, **___):
            seconds = time.perf_counter() - self.t0
            self.fig = step_figures(f"trl step {state.global_step}", seconds, gen_s[0],
                                    seconds - gen_s[0] - reward_s[0], {"validate": 0.0, "verify": reward_s[0]},
                                    profile, recompute=False, merged=False)
            self.fig.memory, self.fig.completions = process_memory(), n

        def on_log(self, _args, state, _control, logs=None, **__):
            if getattr(self, "fig", None) is None or "completions/mean_length" not in (logs or {}):
                return
            fig, self.fig = self.fig, None
            fig.generated = round(logs["completions/mean_length"] * n)  # eos included, as ours counts it
            timed = state.global_step > args.warmup
            print_step(fig, peak, bf16, timed=timed)
            if timed:
                figures.append(fig)

    grpo.remove_callback(PrinterCallback)
    grpo.add_callback(StepClock())
    grpo.train()
    profile.close()
    env.close()
    peak_mb = peak_rss_mb()
    del grpo, model
    out.cleanup()
    release_memory()
    print(f"[trl ] {n} completions a step ({n // TRL_GENERATIONS} prompts x {TRL_GENERATIONS}, generated together, "
          f"trained {TRL_GENERATIONS} at a time), token limit {limit}; LoRA r={lora.r} alpha={lora.alpha}, bf16 autocast {'on' if bf16 else 'off'}, "
          "no gradient checkpointing", flush=True)
    return figures, peak_mb


# ---- report -------------------------------------------------------------------------------------------

def _rate(tokens: float, seconds: float) -> str:
    return f"{tokens / seconds:7.0f}" if seconds > 0 else "      -"


def _share(flops: float, seconds: float, peak: float) -> str:
    return f"{100 * flops / seconds / 1e9 / peak:5.1f}%" if seconds > 0 and peak else "    -"


def print_step(f: StepFigures, peak: dict[str, float], bf16: bool, timed: bool) -> None:
    dtype = "bfloat16" if bf16 and "bfloat16" in peak else "float32"
    s = f.split
    gen = s["prefill"] + s["decode"] + s["gen_other"]
    print(f"[step] {f.label}{'' if timed else ' (untimed)'}: {f.seconds:.1f} s | generate {gen:.1f} s = prefill "
          f"{s['prefill']:.1f} + decode {s['decode']:.1f} + other {s['gen_other']:.1f} | validate {s['validate']:.2f} "
          f"| verify {s['verify']:.2f} | update {s['update']:.1f} s | {f.completions} completions, "
          f"{f.generated} generated tokens", flush=True)
    parts = []
    for kind, seconds in (("prefill", s["prefill"]), ("decode", s["decode"]), ("update", s["update"])):
        parts.append(f"{kind} {f.tokens[kind]} tok, {_rate(f.tokens[kind], seconds).strip()} tok/s, "
                     f"{_share(f.flops[kind], seconds, peak.get(dtype, 0)).strip()} of {dtype} peak, "
                     f"padding {100 * f.padding[kind]:.0f}%")
    mem = f.memory
    print(f"       {' | '.join(parts)} | RSS {mem.get('rss_mb', '?')} MB, peak {mem.get('peak_rss_mb', '?')} MB",
          flush=True)


def mean_step(figs: list[StepFigures]) -> StepFigures:
    """The mean of timed steps (figures summed, then divided)."""
    k = len(figs)
    keys = figs[0].split.keys()
    return StepFigures(figs[0].label.split(" step")[0], sum(f.seconds for f in figs) / k,
                       {key: sum(f.split[key] for f in figs) / k for key in keys},
                       {key: sum(f.tokens[key] for f in figs) // k for key in figs[0].tokens},
                       {key: sum(f.padding[key] for f in figs) / k for key in figs[0].padding},
                       {key: sum(f.flops[key] for f in figs) / k for key in figs[0].flops},
                       max((f.memory for f in figs), key=lambda m: m.get("peak_rss_mb", 0)),
                       sum(f.completions for f in figs) // k, sum(f.generated for f in figs) // k,
                       figs[0].gradient_checkpointing)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "clinical.yaml"), help="training config (default: the main one)")
    ap.add_argument("--model", help="model.name: 'embedded' (the config's default) or a local HF model folder")
    ap.add_argument("--steps", type=int, default=1, help="timed self-play steps per variant (and TRL)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed self-play steps before anything is timed (and TRL's untimed steps)")
    ap.add_argument("--demo-step", action="store_true",
                    help="also time one warm-up step on demonstrations (the config's first phase)")
    ap.add_argument("--variants", default="main,no-gc,baseline",
                    help=f"comma-separated, from {', '.join(VARIANTS)} (the first also gives the memory figure)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every task type's proposals and answers")
    ap.add_argument("--tokens", type=int, default=0, help="one token limit for every role (0 = the config's)")
    ap.add_argument("--mc", type=int, default=0, help="Monte-Carlo rollouts per valid proposal (0 = the config's)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("AZMED_THREADS", "0")),
                    help="torch threads (model.threads; 0 = the config's, else torch's default)")
    ap.add_argument("--no-trl", action="store_true", help="skip TRL's GRPOTrainer")
    ap.add_argument("overrides", nargs="*", help="dotted config overrides for our trainer (e.g. rollout.batch_size=16)")
    args = ap.parse_args()
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or not args.variants:
        ap.error(f"unknown variant {unknown[0] if unknown else '(none)'}: choose from {', '.join(VARIANTS)}")
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be at least 1 and --warmup at least 0")

    peak: dict[str, float] = {}
    results: dict[str, StepFigures] = {}
    peaks_mb: dict[str, int] = {}
    first = VARIANTS[args.variants[0]]
    if args.warmup:  # the process's one-time costs (imports, kernel selection, first allocations)
        run_ours(args, "process warm-up", first, peak, args.warmup, timed=False)
    demo = run_ours(args, "demonstrations", first, peak, 1, demo=True)[0][0] if args.demo_step else None
    trl_jobs, trl_from, bf16 = None, "", False
    for name in args.variants:  # every variant: a fresh trainer from the same seed, the same steps
        timed, jobs, peaks_mb[name], bf16 = run_ours(args, name, VARIANTS[name], peak, args.steps)
        results[name] = mean_step(timed)
        if name == "no-gc" or trl_jobs is None:
            trl_jobs, trl_from = jobs, name

    print("\n[summary] mean of the timed self-play steps; CPU flags: " + cpu_flags())
    if demo is not None:
        print(f"[summary] warm-up (demonstration) step of {args.variants[0]}: {demo.seconds:.1f} s, of which the "
              f"update {demo.split['update']:.1f} s ({demo.tokens['update']} tokens)")
    for name, f in results.items():
        print_step(f, peak, bf16, timed=True)
        print(f"[memory] {name}: peak RSS {peaks_mb[name]} MB")
    if "baseline" in results:
        for name, f in results.items():
            if name != "baseline":
                print(f"[ratio] {name} vs baseline: {results['baseline'].seconds / f.seconds:.2f}x the baseline's "
                      f"speed ({f.seconds:.1f} s vs {results['baseline'].seconds:.1f} s a step)")
    if not args.no_trl:
        figs, trl_peak = run_trl(args, trl_jobs, bf16, peak)
        peaks_mb["trl"] = trl_peak
        trl = mean_step(figs)
        ours = results[trl_from]
        print_step(trl, peak, bf16, timed=True)
        print(f"[memory] trl: peak RSS {trl_peak} MB")
        differs = " (ours with gradient checkpointing on, TRL without)" if ours.gradient_checkpointing else ""
        per_ours, per_trl = ours.seconds / ours.completions, trl.seconds / trl.completions
        gen_ours, gen_trl = ours.generated / ours.seconds, trl.generated / trl.seconds
        print(f"[ratio] ours ({trl_from}) vs TRL{differs}: {per_trl / per_ours:.2f}x completions per second "
              f"({ours.completions} in {ours.seconds:.1f} s vs {trl.completions} in {trl.seconds:.1f} s), "
              + (f"{gen_ours / gen_trl:.2f}x" if gen_trl else "-") +
              f" generated tokens per second ({gen_ours:.1f} vs {gen_trl:.1f})")
    print(f"[memory] process peak RSS: {max(peaks_mb.values())} MB (the largest of the parts above, each "
          "measured from its own start)")


if __name__ == "__main__":
    main()
