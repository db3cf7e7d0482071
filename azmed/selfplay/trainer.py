"""The self-play loop (DESIGN §5): one model and one LoRA adapter propose and solve tasks of the
enabled environments; Task-Relative REINFORCE++ updates the adapter once per step.

    from azmed.selfplay.config import load_config
    from azmed.selfplay.trainer import SelfPlayTrainer
    trainer = SelfPlayTrainer(load_config("configs/clinical-smoke.yaml"))
    trainer.train()               # or SelfPlayTrainer.resume("runs/<run>").train()

Warm-up (`selfplay.warmup.steps`): the first steps learn only from the environment's own
demonstrations (`Environment.demonstration` on fresh simulator tasks, `proposal_demonstration`
for the proposer): a small model that never writes a calculator call or a specification gets no
reward to learn from. The loss is the token-mean log-likelihood of the demonstrations (the same
update with every advantage 1). No human label is involved: the environment knows the answers.

One self-play step, for every enabled (environment, task type):
1. propose: `selfplay.propose_prompts` prompts, each with K references from the buffer, sampled
   for their share of B (one shared prefill per prompt) -> `validate_many`; the environment
   rejects a task equal to a known one as a `duplicate`;
2. learnability: n solver rollouts per valid proposal -> solve rate p -> r = 1 - p for
   0 < p < 1, else 0; rejected proposals get `invalid_penalty`; valid tasks join the buffer
   (`keep: learnable` keeps only those with 0 < p < 1), and with `selfplay.train_rollouts` the
   rollouts of the tasks that joined are the solver's training answers for them;
3. solve: `solve` tasks from the buffer (newest unserved first, then uniform), plus optionally
   fresh tasks from the environment's own generator (`selfplay.env_tasks`) -> `verify_many` ->
   r = 1 / 0, or `format_penalty` when unusable;
4. advantages normalised per (environment, task type, role) -> one policy-gradient update.
All generation of a phase runs as one batched call (at the largest token limit of the phase,
each completion then cut at its own) so the batch is as large as possible; the LoRA is merged
during generation. Every solver answer records where its task came from (`solve_sources`:
proposed, seed, simulator) and the proposer's figures (`proposals`: valid rate, share in the
learnability band, distinct diagnoses or calculators, duplicates, solve-rate histogram).

`trainer.time_budget_min` ends training early, cleanly, when the next step would not leave
`eval.reserve_min` for the final check; the run then saves, checks and says so.

Data parallel: launched with `accelerate launch` or `torchrun`, the ranks split each phase's
generation and grading and the update's computation, and hold the same buffers and adapter
throughout (`azmed.selfplay.distributed`); rank 0 alone writes the run folder, and every
`metrics.jsonl` record says `world_size`.

The trainer sees environments only through `azmed.envs.base.Environment`. The run folder
(`azmed.runs.RunFolder`) gets config.yaml, metrics.jsonl, samples.jsonl, checkpoints/ and, at
the end, adapter/ and the held-out comparison on each enabled environment's held-out suite
(heldout.json); status.json says whether the run is running, finished or stopped
(`azmed.run_status`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from azmed.config import save_config
from azmed.envs.base import Environment, Rejection, Task
from azmed.generation import Completion, generate, guided_forced, resolve_backend
from azmed.memory import device_memory, process_memory, release_memory
from azmed.run_status import tracked, update_status
from azmed.runs import RunFolder, RunLog, atomic_folder, default_run_dir, progress_bar
from azmed.selfplay import checkpoint as ckpt
from azmed.selfplay.buffer import TaskBuffer
from azmed.selfplay.config import ConfigError, TaskTypeSettings, TrainConfig, load_config
from azmed.selfplay.distributed import World, join_world, leave_world
from azmed.selfplay.metrics import Outcome, console_line, curriculum, overall, summarise_groups
from azmed.selfplay.rewards import propose_reward, solve_rate, solve_reward, task_relative_advantages
from azmed.selfplay.update import Sample, make_optimizer, policy_gradient_update


@dataclass
class _Job:
    """One prompt to generate, with what the step needs to grade it."""

    env: str
    task_type: str
    role: str              # "propose", "solve", "mc" (learnability rollout), "demo" (warm-up) or "anchor"
    prompt: str
    max_tokens: int
    task: Task | None = None
    rejection: Rejection | None = None
    completion: Completion | None = None
    refs: tuple = ()        # the reference tasks the proposer was shown
    demo: str | None = None  # a warm-up demonstration (the completion trained on)
    proposer: bool = False   # a demonstration of the proposer's role


class SelfPlayTrainer:
    """See the module docstring. Build with a config (new run) or `resume(run_dir)`."""

    def __init__(self, cfg: TrainConfig, run_dir: Path | None = None, _resume_from: Path | None = None):
        import torch

        from azmed.envs import make_env
        from azmed.model import load_policy

        self.cfg = cfg
        self.world: World = join_world(cfg.model.device)
        self.run_dir = Path(self.world.broadcast(  # a default folder's timestamp is rank 0's
            str(run_dir or cfg.run.out_dir or default_run_dir("+".join(cfg.enabled_envs()) or "none"))))
        self.folder = RunFolder(self.run_dir)
        if _resume_from is None and self.folder.metrics.exists():
            raise ConfigError(f"{self.run_dir} already holds a run: continue it with `azmed train --resume "
                              f"{self.run_dir}` or choose another run.out_dir")
        names = cfg.enabled_envs()
        if not names:
            raise ConfigError("no environment enabled: set envs.<name>.enabled=true for one of "
                              f"{', '.join(cfg.envs)} (or pass --env)")
        self.envs: dict[str, Environment] = {}
        self.settings: dict[tuple[str, str], TaskTypeSettings] = {}
        for name in names:
            env_cfg = cfg.envs[name]
            try:
                env = make_env(name, **env_cfg.options)  # the options' types were checked when the config loaded
            except ValueError as exc:
                raise ConfigError(f"envs.{name}.options: {exc}") from None
            unknown = sorted(set(env_cfg.task_types) - set(env.task_types))
            if unknown:
                raise ConfigError(f"unknown key 'envs.{name}.task_types.{unknown[0]}': the {name} environment offers "
                                  f"{', '.join(env.task_types)}")
            self.envs[name] = env
            for tt in env.task_types:
                s = env_cfg.task_types.get(tt, TaskTypeSettings())
                if s.enabled:
                    self.settings[(name, tt)] = s
        if not self.settings:
            raise ConfigError("every task type is disabled: enable at least one envs.<env>.task_types.<type>")

        self._clock = time.perf_counter()
        self._step_times: list[float] = []  # this process's step times, for the final check's reserve
        random.seed(cfg.run.seed)
        torch.manual_seed(cfg.run.seed)
        import numpy as np

        np.random.seed(cfg.run.seed)
        self.rng = random.Random(cfg.run.seed)
        resume_adapter = str(_resume_from / "adapter") if _resume_from else None  # a checkpoint's adapter
        self.policy = load_policy(cfg.model, adapter=resume_adapter or cfg.init_adapter,
                                  lora=cfg.lora, trainable=True)
        self.world.broadcast_parameters([p for p in self.policy.model.parameters() if p.requires_grad])
        if self.world.rank:  # each rank samples from its own stream (see azmed.selfplay.distributed)
            torch.manual_seed(_rank_seed(cfg.run.seed, self.world.rank, 0))
        t = cfg.trainer
        if t.gradient_checkpointing:
            self.policy.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            self.policy.model.enable_input_require_grads()
        self.backend = resolve_backend(cfg.rollout.backend, self.policy.device, self.world.size)
        if cfg.selfplay.anchor.prompts and cfg.selfplay.anchor.source == "base" and self.backend != "hf":
            raise ConfigError("selfplay.anchor.source: 'base' answers are generated with the adapter switched off, "
                              f"which the {self.backend!r} backend cannot do; set rollout.backend: hf or "
                              "selfplay.anchor.source: policy")
        self.optimizer, self.scheduler = make_optimizer(self.policy.model, t.lr, t.weight_decay, t.warmup_steps,
                                                        t.steps, t.schedule)
        self.state = ckpt.TrainState(step=0, buffers={}, rng=self.rng, optimizer=self.optimizer,
                                     scheduler=self.scheduler, model=self.policy.model)
        self.log = RunLog(self.run_dir)
        if self.world.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.folder.config)  # on resume: with the overrides given then
        if _resume_from:
            self._restore(_resume_from)
            for (name, tt) in self.settings:
                self.state.buffers.setdefault(f"{name}/{tt}", TaskBuffer(cfg.selfplay.buffer_cap))
        else:
            for (name, tt) in self.settings:
                buf = TaskBuffer(cfg.selfplay.buffer_cap)
                buf.extend(_sourced(self.envs[name].seed_tasks(tt), "seed"))
                self.state.buffers[f"{name}/{tt}"] = buf
        self._elapsed_before = float(self.state.extra.get("elapsed_s", 0.0))
        for name, env in self.envs.items():  # proposals equal to a known task are duplicates
            env.remember([t for k, b in self.state.buffers.items() if k.startswith(name + "/") for t in b.tasks()])

    def _restore(self, checkpoint: Path) -> None:
        """Load `checkpoint` into this rank's state. With as many processes as saved, every rank
        continues its own sampling stream; with another number the adapter, optimizer, buffers and
        trainer RNG continue, and a rank without a saved stream is seeded afresh."""
        saved = ckpt.saved_world_size(checkpoint)
        ckpt.load_checkpoint(checkpoint, self.state, self.cfg.selfplay.buffer_cap, rank=self.world.rank)
        if saved != self.world.size:
            if self.world.rank >= saved:
                import torch

                torch.manual_seed(_rank_seed(self.cfg.run.seed, self.world.rank, self.state.step))
            if self.world.main:
                print(f"[train] {checkpoint} was written by {saved} process(es), resuming with {self.world.size}: "
                      "the adapter, optimizer, buffers and task draws continue; sampling does not repeat what "
                      f"{saved} process(es) would have drawn", flush=True)
        if self.world.main:
            self.log.truncate(self.state.step)

    @classmethod
    def resume(cls, run_dir: str | Path, overrides: Sequence[str] = ()) -> "SelfPlayTrainer":
        """Continue the run in `run_dir` from its latest checkpoint (config from its config.yaml)."""
        run_dir = Path(run_dir)
        if not RunFolder(run_dir).config.is_file():
            raise ConfigError(f"{run_dir} is not a run folder (no config.yaml): pass the folder `azmed train` wrote")
        latest = ckpt.latest_checkpoint(run_dir)
        if latest is None:
            raise ConfigError(f"{run_dir} has no complete checkpoint to resume from (checkpoints/step-*/state.json)")
        cfg = load_config(RunFolder(run_dir).config, overrides)
        return cls(cfg, run_dir=run_dir, _resume_from=latest)

    # ---- one step ---------------------------------------------------------------------------------
    def _generate(self, jobs: list[_Job]) -> tuple[float, int]:
        """Fill `job.completion` for every job (all of one role) in one batched call; consecutive
        jobs with the same prompt share one prefill (a proposer's batch, a task's rollouts).

        Decoding a small batch costs about as much per token as a full one (it is overhead-bound
        on CPU), so jobs with different token limits share the call with the largest limit and
        each completion is then cut at its own limit: the same distribution as sampling it alone."""
        if not jobs:
            return 0.0, 0
        t0 = time.perf_counter()
        r = self.cfg.rollout
        temperature = r.propose_temperature if jobs[0].role == "propose" and r.propose_temperature else r.temperature
        lo, hi = self.world.bounds(len(jobs))  # this rank's share; the others' are gathered below
        mine = jobs[lo:hi]
        prompts, counts, guides = [], [], []
        for j in mine:
            if prompts and j.prompt == prompts[-1]:
                counts[-1] += 1
            else:
                prompts.append(j.prompt)
                counts.append(1)
                env = self.envs[j.env]
                guides.append(env.solve_guide(j.task) if j.role in ("solve", "mc") else
                              env.propose_guide(j.task_type, j.prompt) if j.role == "propose" else None)
        outs = generate(self.policy, [self.policy.chat(p) for p in prompts], max_new_tokens=max(j.max_tokens for j in mine),
                        temperature=temperature, top_p=r.top_p, batch_size=r.batch_size, backend=self.backend,
                        repeats=counts, guides=guides, batch_tokens=r.batch_tokens) if mine else []
        done = []
        for j, o in zip(mine, outs, strict=True):
            if len(o.completion_ids) > j.max_tokens or (len(o.completion_ids) == j.max_tokens and o.finished):
                ids = o.completion_ids[: j.max_tokens]
                o = Completion(o.prompt_ids, ids, self.policy.tokenizer.decode(ids, skip_special_tokens=True), False,
                               tuple(k for k in o.forced if k < j.max_tokens))
            done.append(o)
        tokens = 0
        for j, o in zip(jobs, self.world.gather(done), strict=True):
            j.completion = o
            tokens += len(o.completion_ids) + int(o.finished)
        release_memory()
        return time.perf_counter() - t0, tokens

    def _solver_tasks(self, name: str, tt: str, n: int) -> list[Task]:
        buf = self.state.buffers[f"{name}/{tt}"]
        n_env = round(n * self.cfg.selfplay.env_tasks)
        fresh = _sourced(self.envs[name].sample_tasks(tt, n_env, self.rng), "simulator") if n_env else []
        return fresh + buf.sample(n - len(fresh), self.rng)

    @property
    def warming_up(self) -> bool:
        return self.state.step < self.cfg.selfplay.warmup.steps

    def step(self) -> dict[str, Any]:
        """One step: a warm-up step on demonstrations, or a self-play step (propose, learnability,
        solve); then one update. Logs and returns its record."""
        t_start = time.perf_counter()
        times = {"generate": 0.0, "validate": 0.0, "verify": 0.0, "update": 0.0}
        trained: list[tuple[_Job, Outcome]] = []
        new_valid: dict[str, int] = defaultdict(int)
        dups: dict[str, int] = defaultdict(int)
        warmup = self.warming_up
        if warmup:
            gen_tokens = 0
            batch = self._demonstrations(trained)
        else:
            gen_tokens, new_valid, dups = self._propose(times, trained)
            gen_tokens += self._solve(times, trained)
            batch = self._samples_with_advantages(trained)
        anchors, n = self._anchors(times)
        gen_tokens += n
        t = self.cfg.trainer
        upd = policy_gradient_update(self.policy, self.optimizer, batch, micro_batch_tokens=t.micro_batch_tokens,
                                     grad_clip=t.grad_clip, scheduler=self.scheduler, ppo_clip=t.ppo_clip,
                                     update_epochs=t.update_epochs, kl_coef=t.kl_coef,
                                     share_prompts=t.share_prompts and not t.gradient_checkpointing, world=self.world,
                                     anchors=anchors, anchor_kl=self.cfg.selfplay.anchor.kl_coef,
                                     anchor_source=self.cfg.selfplay.anchor.source)
        times["update"] = upd.pop("update_s")
        memory = process_memory()  # the update is the largest phase: its peak is the step's peak
        memory.update(device_memory())
        per_rank = self.world.gather_each(memory) if self.world.distributed else None
        release_memory()
        self.state.step += 1

        total = time.perf_counter() - t_start
        outcomes = [o for _, o in trained]
        groups = summarise_groups(outcomes)
        sources, proposals = curriculum(outcomes)
        record = {
            "step": self.state.step, "phase": "warmup" if warmup else "selfplay", "world_size": self.world.size,
            "device": self.policy.device, "precision": self.policy.precision,
            "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "overall": overall(groups), "groups": groups, "solve_sources": sources, "proposals": proposals,
            "buffers": {k: {"size": len(b), "new_valid": new_valid[k], "novelty": _novelty(new_valid[k], dups[k])}
                        for k, b in self.state.buffers.items()},
            "update": {**upd, "lr": self.scheduler.get_last_lr()[0]},
            "time": {**{k: round(v, 3) for k, v in times.items()}, "total": round(total, 3)},
            "tokens": {"generated": gen_tokens, "backend": self.backend,
                       "per_s": round(gen_tokens / times["generate"], 1) if times["generate"] else 0.0},
            "memory": memory,
        }
        if per_rank:
            record["memory_per_rank"] = per_rank
        if self.world.main:
            self.log.write_step(record)
            self.log.write_samples(self._samples(trained))
        return record

    def _samples_with_advantages(self, trained: list[tuple[_Job, Outcome]]) -> list[Sample]:
        """The step's trained answers with their Task-Relative REINFORCE++ advantages."""
        sp, r = self.cfg.selfplay, self.cfg.rollout
        keep = [(j, o) for j, o in trained if (sp.train_propose if o.group[2] == "propose" else sp.train_solve)]
        advantages = task_relative_advantages([o.reward for _, o in keep], [o.group for _, o in keep])
        eos = self.policy.eos_id
        return [Sample(j.completion.prompt_ids, j.completion.completion_ids + ([eos] if j.completion.finished else []),
                       a, (r.propose_temperature or r.temperature) if j.role == "propose" else r.temperature,
                       j.completion.forced)
                for (j, _), a in zip(keep, advantages)]

    def _anchors(self, times: dict[str, float]) -> tuple[list[Sample], int]:
        """The step's anchors (`selfplay.anchor`) and their generated tokens: the answers of the
        policy (or of the base model, `source: base`) to the solver prompts of fresh tasks whose
        answer is free text (no guide)."""
        a = self.cfg.selfplay.anchor
        n = a.prompts
        if not n:
            return [], 0
        pool: list[_Job] = []
        for _ in range(4):  # free-text tasks are a share of each type's: a few draws find enough
            for (name, tt), s in self.settings.items():
                env = self.envs[name]
                limit = min(s.solve_tokens, a.max_tokens or s.solve_tokens)
                pool += [_Job(name, tt, "anchor", env.solve_prompt(task), limit, task=task)
                         for task in env.sample_tasks(tt, n, self.rng) if env.solve_guide(task) is None]
            if len(pool) >= n:
                break
        jobs = self.rng.sample(pool, min(n, len(pool)))
        with self.policy.model.disable_adapter() if a.source == "base" else contextlib.nullcontext():
            dt, tokens = self._generate(jobs)
        times["generate"] += dt
        eos, temperature = self.policy.eos_id, self.cfg.rollout.temperature
        return [Sample(j.completion.prompt_ids, j.completion.completion_ids + ([eos] if j.completion.finished else []),
                       0.0, temperature) for j in jobs], tokens

    def _demonstrations(self, trained: list[tuple[_Job, Outcome]]) -> list[Sample]:
        """A warm-up step's batch: the environment's correct answers to fresh simulator tasks and
        its valid proposals, as completions of the prompts the solver and the proposer see, each
        with advantage 1 (so the update maximises their log-likelihood). What the task's guide
        would write itself (brackets, '=', a forced end; `guided_forced`) is not trained, as in
        self-play: a demonstration teaches the choices, not to end every answer early."""
        w, tok, eos = self.cfg.selfplay.warmup, self.policy.tokenizer, self.policy.eos_id
        jobs: list[_Job] = []
        for (name, tt), s in self.settings.items():
            env = self.envs[name]
            for task in env.sample_tasks(tt, w.solve if s.demos is None else s.demos, self.rng):
                demo = env.demonstration(task)
                if demo:
                    jobs.append(_Job(name, tt, "demo", env.solve_prompt(task), s.solve_tokens, task=task,
                                     demo=demo))
            if s.propose and w.propose:
                refs = self.state.buffers[f"{name}/{tt}"].references(self.cfg.selfplay.references, self.rng)
                prompt = env.propose_prompt(tt, refs, self.rng)
                for _ in range(w.propose):
                    demo = env.proposal_demonstration(tt, self.rng, prompt)
                    if demo:
                        jobs.append(_Job(name, tt, "demo", prompt, s.propose_tokens, demo=demo, proposer=True))
        samples = []
        for j in jobs:
            ids = tok(j.demo, add_special_tokens=False)["input_ids"]
            env = self.envs[j.env]
            guide = env.propose_guide(j.task_type, j.prompt) if j.proposer else env.solve_guide(j.task)
            forced = guided_forced(guide, ids, tok) if guide is not None else ()
            j.completion = Completion(tok(self.policy.chat(j.prompt), add_special_tokens=False)["input_ids"], ids,
                                      j.demo, True, forced)
            role = "propose_demo" if j.proposer else "solve_demo"
            trained.append((j, Outcome((j.env, j.task_type, role), 1.0, len(ids))))
            samples.append(Sample(j.completion.prompt_ids, ids + [eos], 1.0, 1.0, forced))
        return samples

    def _propose(self, times: dict[str, float], trained: list) -> tuple[int, dict[str, int], dict[str, int]]:
        """Proposals, their validation and Monte-Carlo solve rates; valid tasks join the buffers
        (and, with `train_rollouts`, their rollouts are trained as the solver's answers).
        Returns generated tokens, and per buffer the new valid tasks and the duplicates."""
        sp = self.cfg.selfplay
        proposals: list[_Job] = []
        for (name, tt), s in self.settings.items():
            if not s.propose:
                continue
            k = min(sp.propose_prompts, s.propose)  # prompts, each sampled for its share of `propose`
            for i in range(k):
                refs = self.state.buffers[f"{name}/{tt}"].references(sp.references, self.rng)
                prompt = self.envs[name].propose_prompt(tt, refs, self.rng)
                proposals += [_Job(name, tt, "propose", prompt, s.propose_tokens, refs=tuple(refs))
                              for _ in range(s.propose // k + (i < s.propose % k))]
        dt, tokens = self._generate(proposals)
        times["generate"] += dt

        t0 = time.perf_counter()
        new_valid: dict[str, int] = defaultdict(int)
        dups: dict[str, int] = defaultdict(int)
        validated = self.world.broadcast(self._validate(proposals) if self.world.main else None)
        for (name, tt), results in validated.items():
            mine = [j for j in proposals if (j.env, j.task_type) == (name, tt)]
            if not self.world.main:  # rank 0's environment remembered these tasks as it admitted them
                self.envs[name].remember([r for r in results if isinstance(r, Task)])
            for j, r in zip(mine, results, strict=True):
                if isinstance(r, Task):
                    j.task = _sourced([r], "proposed")[0]
                else:
                    j.rejection = r
                    dups[f"{name}/{tt}"] += r.reason == "duplicate"
        times["validate"] += time.perf_counter() - t0

        mc_jobs = [_Job(j.env, j.task_type, "mc", self.envs[j.env].solve_prompt(j.task),
                        self.settings[(j.env, j.task_type)].solve_tokens, task=j.task)
                   for j in proposals if j.task is not None for _ in range(sp.mc_rollouts)]
        dt, n = self._generate(mc_jobs)
        times["generate"] += dt
        tokens += n
        t0 = time.perf_counter()
        verdicts = self._grade(mc_jobs)
        times["verify"] += time.perf_counter() - t0
        by_task: dict[int, list[tuple[_Job, Any]]] = defaultdict(list)
        for j, v in zip(mc_jobs, verdicts, strict=True):
            by_task[id(j.task)].append((j, v))

        for j in proposals:
            p = solve_rate([bool(v.correct) for _, v in by_task[id(j.task)]]) if j.task is not None else None
            o = Outcome((j.env, j.task_type, "propose"), propose_reward(j.task is not None, p, sp.invalid_penalty),
                        len(j.completion.completion_ids), valid=j.task is not None,
                        reason=j.rejection.reason if j.rejection is not None else None, solve_rate=p,
                        target=_target(j.task))
            trained.append((j, o))
            if j.task is None:
                continue
            key = f"{j.env}/{j.task_type}"
            new_valid[key] += 1
            if self.settings[(j.env, j.task_type)].keep == "all" or 0 < p < 1:
                self.state.buffers[key].add(j.task)
                if sp.train_rollouts:
                    trained += [(mc, self._solver_outcome(mc, v)) for mc, v in by_task[id(j.task)]]
        return tokens, new_valid, dups

    def _validate(self, proposals: list[_Job]) -> dict[tuple[str, str], list]:
        """Each (environment, task type)'s validation results, in the order of `proposals`."""
        out = {}
        for (name, tt) in self.settings:
            mine = [j for j in proposals if (j.env, j.task_type) == (name, tt)]
            if mine:
                out[(name, tt)] = self.envs[name].validate_many(tt, [j.completion.text for j in mine],
                                                                [j.refs for j in mine])
        return out

    def _solver_outcome(self, job: _Job, verdict) -> Outcome:
        reward = solve_reward(verdict.correct, verdict.formatted, self.cfg.selfplay.format_penalty)
        return Outcome((job.env, job.task_type, "solve"), reward, len(job.completion.completion_ids),
                       correct=verdict.correct, formatted=verdict.formatted, reason=verdict.reason,
                       source=job.task.meta.get("source", "proposed"), extra={"parsed": verdict.parsed, "why": verdict.why})

    def _solve(self, times: dict[str, float], trained: list) -> int:
        """Solver answers to buffer (and fresh environment) tasks, graded; returns tokens generated."""
        solves = [_Job(name, tt, "solve", self.envs[name].solve_prompt(task), s.solve_tokens, task=task)
                  for (name, tt), s in self.settings.items() for task in self._solver_tasks(name, tt, s.solve)]
        dt, tokens = self._generate(solves)
        times["generate"] += dt
        t0 = time.perf_counter()
        verdicts = self._grade(solves)
        times["verify"] += time.perf_counter() - t0
        trained += [(j, self._solver_outcome(j, v)) for j, v in zip(solves, verdicts, strict=True)]
        return tokens

    def _grade(self, jobs: list[_Job]) -> list:
        """Verdicts for solver completions, batched per environment, in the order of `jobs` (each
        rank verifies its share; verifying changes no state)."""
        lo, hi = self.world.bounds(len(jobs))
        out: list = [None] * (hi - lo)
        for name in self.envs:
            idx = [i for i in range(lo, hi) if jobs[i].env == name]
            if idx:
                vs = self.envs[name].verify_many([jobs[i].task for i in idx], [jobs[i].completion.text for i in idx])
                for i, v in zip(idx, vs, strict=True):
                    out[i - lo] = v
        return self.world.gather(out)

    def _samples(self, trained: list[tuple[_Job, Outcome]]) -> list[dict[str, Any]]:
        """A few proposals and answers per group: what a person reads to see what the model does."""
        per = self.cfg.run.samples_per_step
        seen: dict[tuple, int] = defaultdict(int)
        rows = []
        for j, o in trained:
            if seen[o.group] >= per:
                continue
            seen[o.group] += 1
            row = {"step": self.state.step, "env": j.env, "task_type": j.task_type, "role": o.group[2],
                   "prompt": j.prompt, "completion": j.completion.text, "reward": o.reward}
            if o.group[2] == "solve":
                row.update(correct=o.correct, parsed=o.extra.get("parsed"), why=o.extra.get("why"),
                           truth=j.task.answer if j.task is not None else None, source=o.source)
            elif o.group[2].endswith("_demo"):
                row.update(demonstration=True)
            else:
                detail = j.rejection.detail if j.rejection is not None else None
                row.update(valid=o.valid, rejection=o.reason, rejection_detail=detail, solve_rate=o.solve_rate,
                           label=j.task.answer if j.task is not None else None)
            rows.append(row)
        return rows

    # ---- the run ----------------------------------------------------------------------------------
    def save(self) -> Path:
        """A checkpoint of the run, written by rank 0 with every rank's sampling RNG."""
        rngs = self.world.gather_each(ckpt.sampling_rng_state()) if self.world.distributed else None
        folder = ckpt.checkpoint_folder(self.run_dir, self.state.step)
        if self.world.main:
            folder = ckpt.save_checkpoint(self.run_dir, self.state, keep=self.cfg.run.keep_checkpoints, rank_rngs=rngs)
        self.world.barrier()
        return folder

    def train(self) -> dict[str, Any]:
        """Run the remaining steps, checkpointing every N; then save the adapter and, unless
        `eval.at_end` is off, compare base and adapter on each enabled environment's held-out
        suite. The run folder's status.json says running, then finished (or stopped, with the
        reason)."""
        if not self.world.main:
            return self._train()
        with tracked(self.run_dir, steps=self.cfg.trainer.steps):
            return self._train()

    def _wall(self) -> float:
        """Seconds this run has taken so far, over every process of it (a resumed run counts the
        time before it was killed, up to its last checkpoint)."""
        return self._elapsed_before + time.perf_counter() - self._clock

    def _out_of_time(self, last: dict[str, Any] | None) -> str | None:
        """Why training stops before the next step (`trainer.time_budget_min`), else None: the next
        step, as long as the last one, would not leave the final check's reserve: the longest of
        `eval.reserve_min`, `eval.reserve_steps` times the mean of the last five steps' times, and
        `eval.base_margin` times the base model's check as measured before training."""
        budget = self.cfg.trainer.time_budget_min
        if budget is None or last is None:
            return None
        e = self.cfg.eval
        recent = self._step_times[-5:] or [last["time"]["total"]]
        step_s = sum(recent) / len(recent)
        base_s = self.state.extra.get("base_check_s", 0.0)  # the base model's check, measured before training
        reserve = max(e.reserve_min, e.reserve_steps * step_s / 60, e.base_margin * base_s / 60) if e.at_end else 0.0
        left = 60 * (budget - reserve) - self._wall()
        if left >= last["time"]["total"]:
            return None
        return (f"time budget: stopping after step {self.state.step} of {self.cfg.trainer.steps} "
                f"({budget:g} min in all, {reserve:.1f} kept for the final check)")

    def _train(self) -> dict[str, Any]:
        cfg = self.cfg
        total = cfg.trainer.steps
        main = self.world.main
        bar = progress_bar(total, "self-play", "step", cfg.run.progress and main, initial=self.state.step)
        say = bar.write if bar is not None else (lambda line: print(line, flush=True) if main else None)
        procs = f" | {self.world.size} processes" if self.world.distributed else " | 1 process"
        say(f"[train] run folder {self.run_dir} | envs {', '.join(self.envs)} | task types "
            f"{', '.join(f'{e}/{t}' for e, t in self.settings)} | from step {self.state.step}{procs}")
        say(f"[train] model {cfg.model.name} on {self.policy.device} ({self.policy.precision}) | generation backend "
            f"{self.backend}")
        last = None
        stopped_early = None
        self._score_base_first()
        try:
            while self.state.step < total:
                why = self.world.broadcast(self._out_of_time(last))  # every rank stops together
                if why:
                    stopped_early = why
                    say(f"[train] {why}")
                    self.save()
                    break
                last = self.step()
                self._step_times.append(last["time"]["total"])
                self.state.extra["elapsed_s"] = round(self._wall(), 1)
                if last["phase"] == "warmup" and not self.warming_up and main:  # where ablations start
                    with atomic_folder(self.folder.warmup_adapter) as tmp:
                        self.policy.model.save_pretrained(tmp)
                say(console_line(last, total))
                if bar is not None:
                    bar.update(1)
                if self.state.step % cfg.run.checkpoint_every == 0 or self.state.step == total:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
            for env in self.envs.values():
                env.close()
        result: dict[str, Any] = {"run_dir": str(self.run_dir), "adapter": str(self.folder.adapter), "last": last,
                                  "steps": self.state.step, "stopped_early": stopped_early}
        leave_world(self.world)  # the held-out check below is rank 0's alone
        if not main:
            return result
        with atomic_folder(self.folder.adapter) as tmp:
            self.policy.model.save_pretrained(tmp)
        print(f"[train] adapter saved to {self.folder.adapter}", flush=True)
        suites = self._check_suites()
        if cfg.eval.at_end and suites:
            from azmed.selfplay.heldout import compare_on_heldout

            # training is over and checkpointed: the check needs no optimizer state or gradients
            self.optimizer.state.clear()
            self.policy.model.zero_grad(set_to_none=True)
            release_memory()

            update_status(self.run_dir, phase="held-out check")
            result["heldout"] = compare_on_heldout(self.policy, cfg, self.run_dir, suites)
        return result

    def _check_suites(self) -> list[str]:
        """The final check's suites: every environment's held-out suite, then `eval.suites`."""
        suites = [env.heldout_suite for env in self.envs.values() if env.heldout_suite]
        return suites + [name for name in self.cfg.eval.suites if name not in suites]

    def _score_base_first(self) -> None:
        """With a time budget (`eval.base_first`), the base model's half of the final check runs
        before training, so that its measured time sizes the reserve for the adapter's half.
        Before the first update a fresh adapter computes the base model itself (LoRA B = 0), so
        the training policy scores it without a second model in memory."""
        e, suites = self.cfg.eval, self._check_suites()
        if not (self.world.main and e.at_end and e.base_first and suites and self.cfg.trainer.time_budget_min) \
                or "base_check_s" in self.state.extra:
            return
        from azmed.selfplay.heldout import score_base

        update_status(self.run_dir, phase="held-out check (base model)")
        t0 = time.perf_counter()
        fresh = self.state.step == 0 and not self.cfg.init_adapter
        score_base(self.cfg, self.run_dir, suites, policy=self.policy if fresh else None)
        self.state.extra["base_check_s"] = round(time.perf_counter() - t0, 1)
        print(f"[train] base model scored in {self.state.extra['base_check_s'] / 60:.1f} min; the adapter's check "
              f"is reserved {e.base_margin:g} times that", flush=True)
        update_status(self.run_dir, phase="training")


def _rank_seed(seed: int, rank: int, step: int) -> int:
    """The torch seed of rank `rank` > 0 starting (or restarting without its saved RNG) at `step`.

    >>> _rank_seed(0, 1, 0), _rank_seed(0, 1, 3)
    (1, 3000010)
    """
    return seed + rank + 1_000_003 * step


def _novelty(new: int, duplicates: int) -> float | None:
    """Share of this step's well-formed proposals that were new tasks, not duplicates of known ones.

    >>> _novelty(3, 1)
    0.75
    """
    return round(new / (new + duplicates), 4) if new + duplicates else None


def _sourced(tasks: Sequence[Task], source: str) -> list[Task]:
    """`tasks`, each marked with where it came from (unless its environment already said)."""
    for t in tasks:
        t.meta.setdefault("source", source)
    return list(tasks)


def _target(task: Task | None) -> str | None:
    """What a valid proposal is about, for the curriculum's coverage: its diagnosis or calculator."""
    if task is None:
        return None
    return task.meta.get("diagnosis") or task.meta.get("calculator") or None
