"""The self-play loop (DESIGN §5): one model and one LoRA adapter propose and solve tasks of the
enabled environments; Task-Relative REINFORCE++ updates the adapter once per step.

    from azmed.selfplay.config import load_config
    from azmed.selfplay.trainer import SelfPlayTrainer
    trainer = SelfPlayTrainer(load_config("configs/clinical-smoke.yaml"))
    trainer.train()               # or SelfPlayTrainer.resume("runs/<run>").train()

One step, for every enabled (environment, task type):
1. propose: B prompts with K references from the buffer -> generate -> `validate`, given the
   references the proposer saw (the clinical environment applies a proposal's changed lines to
   the last one); a valid task whose key is already in the buffer counts as a `duplicate`;
2. learnability: n solver rollouts per valid proposal (not trained on) -> solve rate p ->
   r = 1 - p for 0 < p < 1, else 0; rejected proposals get `invalid_penalty`; valid tasks join
   the buffer (task types set `keep: learnable` keep only those with 0 < p < 1);
3. solve: B tasks from the buffer (newest unserved first, then uniform), plus optionally fresh
   tasks from the environment's own generator -> generate -> `verify` -> r = 1 / 0, or
   `format_penalty` when unparseable;
4. advantages normalised per (environment, task type, role) -> one policy-gradient update.
All generation of a phase runs as one batched call (at the largest token limit of the phase,
each completion then cut at its own) so the batch is as large as possible; the LoRA is merged
during generation.

The run folder gets config.yaml, metrics.jsonl, samples.jsonl, checkpoints/ and, at the end,
adapter/ and the held-out comparison (heldout.json); status.json says whether the run is
running, finished or stopped (`azmed.run_status`).
"""

from __future__ import annotations

import datetime as _dt
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from azmed.envs.base import Rejection, Task
from azmed.run_status import tracked, update_status
from azmed.selfplay import checkpoint as ckpt
from azmed.selfplay.buffer import TaskBuffer
from azmed.selfplay.config import ConfigError, TaskTypeSettings, TrainConfig, dump_config, load_config
from azmed.selfplay.metrics import Outcome, RunLog, console_line, overall, summarise_groups
from azmed.selfplay.rewards import propose_reward, solve_rate, solve_reward, task_relative_advantages
from azmed.selfplay.rollout import Completion, generate
from azmed.selfplay.update import Sample, make_optimizer, policy_gradient_update


@dataclass
class _Job:
    """One prompt to generate, with what the step needs to grade it."""

    env: str
    task_type: str
    role: str              # "propose", "solve" or "mc" (learnability rollout, not trained on)
    prompt: str
    max_tokens: int
    task: Task | None = None
    rejection: Rejection | None = None
    completion: Completion | None = None
    refs: tuple = ()        # the reference tasks the proposer was shown


class SelfPlayTrainer:
    """See the module docstring. Build with a config (new run) or `resume(run_dir)`."""

    def __init__(self, cfg: TrainConfig, run_dir: Path | None = None, _resume_from: Path | None = None):
        import torch

        from azmed.envs import make_env
        from azmed.model import load_policy

        self.cfg = cfg
        self.run_dir = Path(run_dir or cfg.run.out_dir or _default_run_dir(cfg))
        if _resume_from is None and (self.run_dir / "metrics.jsonl").exists():
            raise ConfigError(f"{self.run_dir} already holds a run: continue it with `azmed train --resume "
                              f"{self.run_dir}` or choose another run.out_dir")
        names = cfg.enabled_envs()
        if not names:
            raise ConfigError("no environment enabled: set envs.clinical.enabled=true and/or envs.code.enabled=true")
        self.envs: dict[str, Any] = {}
        self.settings: dict[tuple[str, str], TaskTypeSettings] = {}
        for name in names:
            env_cfg = getattr(cfg.envs, name)
            try:
                env = make_env(name, **env_cfg.options)
            except (TypeError, ValueError) as exc:
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

        random.seed(cfg.run.seed)
        torch.manual_seed(cfg.run.seed)
        import numpy as np

        np.random.seed(cfg.run.seed)
        self.rng = random.Random(cfg.run.seed)
        resume_adapter = str(_resume_from / "adapter") if _resume_from else None
        self.policy = load_policy(cfg.model, adapter=resume_adapter or cfg.init_adapter,
                                  lora=cfg.lora, trainable=True)
        t = cfg.trainer
        self.optimizer, self.scheduler = make_optimizer(self.policy.model, t.lr, t.weight_decay, t.warmup_steps,
                                                        t.steps, t.schedule)
        self.state = ckpt.TrainState(step=0, buffers={}, rng=self.rng, optimizer=self.optimizer,
                                     scheduler=self.scheduler, model=self.policy.model)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(self.run_dir)
        dump_config(cfg, self.run_dir / "config.yaml")  # on resume: with the overrides given then
        if _resume_from:
            ckpt.load_checkpoint(_resume_from, self.state, cfg.selfplay.buffer_cap)
            self.log.truncate(self.state.step)
            for (name, tt) in self.settings:
                self.state.buffers.setdefault(f"{name}/{tt}", TaskBuffer(cfg.selfplay.buffer_cap))
        else:
            for (name, tt) in self.settings:
                buf = TaskBuffer(cfg.selfplay.buffer_cap)
                buf.extend(self.envs[name].seed_tasks(tt))
                self.state.buffers[f"{name}/{tt}"] = buf
        for name, env in self.envs.items():  # proposals equal to a known task are duplicates
            if hasattr(env, "remember"):
                env.remember([t for k, b in self.state.buffers.items() if k.startswith(name + "/") for t in b.tasks()])

    @classmethod
    def resume(cls, run_dir: str | Path, overrides: Sequence[str] = ()) -> "SelfPlayTrainer":
        """Continue the run in `run_dir` from its latest checkpoint (config from its config.yaml)."""
        run_dir = Path(run_dir)
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"{run_dir} is not a run folder (no config.yaml): pass the folder `azmed train` wrote")
        latest = ckpt.latest_checkpoint(run_dir)
        if latest is None:
            raise ConfigError(f"{run_dir} has no complete checkpoint to resume from (checkpoints/step-*/state.json)")
        cfg = load_config(run_dir / "config.yaml", overrides)
        return cls(cfg, run_dir=run_dir, _resume_from=latest)

    # ---- one step ---------------------------------------------------------------------------------
    def _generate(self, jobs: list[_Job], repeats: int = 1) -> tuple[float, int]:
        """Fill `job.completion` for every job (all of one role) in one batched call; with
        `repeats`, jobs come in runs of `repeats` equal prompts that share one prefill.

        Decoding a small batch costs about as much per token as a full one (it is overhead-bound
        on CPU), so jobs with different token limits share the call with the largest limit and
        each completion is then cut at its own limit: the same distribution as sampling it alone."""
        if not jobs:
            return 0.0, 0
        t0 = time.perf_counter()
        r = self.cfg.rollout
        temperature = r.propose_temperature if jobs[0].role == "propose" and r.propose_temperature else r.temperature
        outs = generate(self.policy, [self.policy.chat(j.prompt) for j in jobs[::repeats]],
                        max_new_tokens=max(j.max_tokens for j in jobs), temperature=temperature, top_p=r.top_p,
                        batch_size=r.batch_size, backend=r.backend, repeats=repeats)
        tokens = 0
        for j, o in zip(jobs, outs):
            if len(o.completion_ids) > j.max_tokens or (len(o.completion_ids) == j.max_tokens and o.finished):
                ids = o.completion_ids[: j.max_tokens]
                o = Completion(o.prompt_ids, ids, self.policy.tokenizer.decode(ids, skip_special_tokens=True), False)
            j.completion = o
            tokens += len(o.completion_ids) + int(o.finished)
        return time.perf_counter() - t0, tokens

    def _validate(self, name: str, task_type: str, jobs: list[_Job]) -> list[Task | Rejection]:
        env = self.envs[name]
        if hasattr(env, "validate_many"):
            return list(env.validate_many(task_type, [j.completion.text for j in jobs], [j.refs for j in jobs]))
        return [env.validate(task_type, j.completion.text, j.refs) for j in jobs]

    def _verify(self, name: str, tasks: list[Task], texts: list[str]):
        env = self.envs[name]
        if hasattr(env, "verify_many"):
            return list(env.verify_many(tasks, texts))
        return [env.verify(t, a) for t, a in zip(tasks, texts)]

    def _solver_tasks(self, name: str, tt: str, n: int) -> list[Task]:
        buf = self.state.buffers[f"{name}/{tt}"]
        n_env = round(n * self.cfg.selfplay.env_tasks)
        env = self.envs[name]
        fresh = env.sample_tasks(tt, n_env, self.rng) if n_env and hasattr(env, "sample_tasks") else []
        return fresh + buf.sample(n - len(fresh), self.rng)

    def step(self) -> dict[str, Any]:
        """One self-play step: propose, learnability, solve, one update; logs and returns its record."""
        t_start = time.perf_counter()
        times = {"generate": 0.0, "validate": 0.0, "verify": 0.0, "update": 0.0}
        trained: list[tuple[_Job, Outcome]] = []
        gen_tokens, new_valid, dups = self._propose(times, trained)
        gen_tokens += self._solve(times, trained)

        # advantages per (env, task type, role) group, then one update of the LoRA
        sp, r, t = self.cfg.selfplay, self.cfg.rollout, self.cfg.trainer
        keep = [(j, o) for j, o in trained if (sp.train_propose if o.group[2] == "propose" else sp.train_solve)]
        advantages = task_relative_advantages([o.reward for _, o in keep], [o.group for _, o in keep])
        eos = self.policy.eos_id
        batch = [Sample(j.completion.prompt_ids, j.completion.completion_ids + ([eos] if j.completion.finished else []),
                        a, (r.propose_temperature or r.temperature) if j.role == "propose" else r.temperature)
                 for (j, _), a in zip(keep, advantages)]
        upd = policy_gradient_update(self.policy, self.optimizer, batch, micro_batch_tokens=t.micro_batch_tokens,
                                     grad_clip=t.grad_clip, scheduler=self.scheduler, ppo_clip=t.ppo_clip,
                                     update_epochs=t.update_epochs, kl_coef=t.kl_coef)
        times["update"] = upd.pop("update_s")
        self.state.step += 1

        total = time.perf_counter() - t_start
        groups = summarise_groups(o for _, o in trained)
        record = {
            "step": self.state.step, "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "overall": overall(groups), "groups": groups,
            "buffers": {k: {"size": len(b), "new_valid": new_valid[k], "novelty": _novelty(new_valid[k], dups[k])}
                        for k, b in self.state.buffers.items()},
            "update": {**upd, "lr": self.scheduler.get_last_lr()[0]},
            "time": {**{k: round(v, 3) for k, v in times.items()}, "total": round(total, 3)},
            "tokens": {"generated": gen_tokens,
                       "per_s": round(gen_tokens / times["generate"], 1) if times["generate"] else 0.0},
        }
        self.log.write_step(record)
        self.log.write_samples(self._samples(trained))
        return record

    def _propose(self, times: dict[str, float], trained: list) -> tuple[int, dict[str, int], dict[str, int]]:
        """Proposals, their validation and Monte-Carlo solve rates; valid tasks join the buffers.
        Returns generated tokens, and per buffer the new valid tasks and the duplicates."""
        sp = self.cfg.selfplay
        proposals: list[_Job] = []
        for (name, tt), s in self.settings.items():
            buf = self.state.buffers[f"{name}/{tt}"]
            for _ in range(s.propose):
                refs = buf.references(sp.references, self.rng)
                proposals.append(_Job(name, tt, "propose", self.envs[name].propose_prompt(tt, refs, self.rng),
                                      s.propose_tokens, refs=tuple(refs)))
        dt, tokens = self._generate(proposals)
        times["generate"] += dt

        t0 = time.perf_counter()
        new_valid: dict[str, int] = defaultdict(int)
        dups: dict[str, int] = defaultdict(int)
        for (name, tt) in self.settings:
            mine = [j for j in proposals if (j.env, j.task_type) == (name, tt)]
            if not mine:
                continue
            buf, seen = self.state.buffers[f"{name}/{tt}"], set()
            for j, r in zip(mine, self._validate(name, tt, mine)):
                if isinstance(r, Task) and (r.key in buf or r.key in seen):
                    r = Rejection("duplicate", "the same task is already in the buffer")
                if isinstance(r, Task):
                    seen.add(r.key)
                    j.task = r
                else:
                    j.rejection = r
                    dups[f"{name}/{tt}"] += r.reason == "duplicate"
        times["validate"] += time.perf_counter() - t0

        mc_jobs = [_Job(j.env, j.task_type, "mc", self.envs[j.env].solve_prompt(j.task),
                        self.settings[(j.env, j.task_type)].solve_tokens, task=j.task)
                   for j in proposals if j.task is not None for _ in range(sp.mc_rollouts)]
        dt, n = self._generate(mc_jobs, repeats=sp.mc_rollouts)
        times["generate"] += dt
        tokens += n
        t0 = time.perf_counter()
        rates = self._grade_mc(mc_jobs)
        times["verify"] += time.perf_counter() - t0

        for j in proposals:
            p = rates.get(id(j.task)) if j.task is not None else None
            o = Outcome((j.env, j.task_type, "propose"), propose_reward(j.task is not None, p, sp.invalid_penalty),
                        len(j.completion.completion_ids), valid=j.task is not None,
                        reason=j.rejection.reason if j.rejection is not None else None, solve_rate=p)
            trained.append((j, o))
            if j.task is not None:
                key = f"{j.env}/{j.task_type}"
                new_valid[key] += 1
                if self.settings[(j.env, j.task_type)].keep == "all" or 0 < (p or 0) < 1:
                    self.state.buffers[key].add(j.task)
        return tokens, new_valid, dups

    def _solve(self, times: dict[str, float], trained: list) -> int:
        """Solver answers to buffer (and fresh environment) tasks, graded; returns tokens generated."""
        fmt = self.cfg.selfplay.format_penalty
        solves = [_Job(name, tt, "solve", self.envs[name].solve_prompt(task), s.solve_tokens, task=task)
                  for (name, tt), s in self.settings.items() for task in self._solver_tasks(name, tt, s.solve)]
        dt, tokens = self._generate(solves)
        times["generate"] += dt
        t0 = time.perf_counter()
        verdicts = self._grade(solves)
        times["verify"] += time.perf_counter() - t0
        for j, v in zip(solves, verdicts):
            trained.append((j, Outcome((j.env, j.task_type, "solve"), solve_reward(v.correct, v.formatted, fmt),
                                       len(j.completion.completion_ids), correct=v.correct, formatted=v.formatted,
                                       extra={"parsed": v.parsed, "why": v.why})))
        return tokens

    def _grade_mc(self, mc_jobs: list[_Job]) -> dict[int, float]:
        """Solve rate per task (keyed by the task object's id) from its Monte-Carlo rollouts."""
        verdicts = self._grade(mc_jobs)
        correct: dict[int, list[bool]] = defaultdict(list)
        for j, v in zip(mc_jobs, verdicts):
            correct[id(j.task)].append(bool(v.correct))
        return {k: solve_rate(v) for k, v in correct.items()}

    def _grade(self, jobs: list[_Job]) -> list:
        """Verdicts for solver completions, batched per environment, in the order of `jobs`."""
        out: list = [None] * len(jobs)
        for name in self.envs:
            idx = [i for i, j in enumerate(jobs) if j.env == name]
            if idx:
                vs = self._verify(name, [jobs[i].task for i in idx], [jobs[i].completion.text for i in idx])
                for i, v in zip(idx, vs):
                    out[i] = v
        return out

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
                           truth=j.task.answer if j.task is not None else None)
            else:
                detail = j.rejection.detail if j.rejection is not None else None
                row.update(valid=o.valid, rejection=o.reason, rejection_detail=detail, solve_rate=o.solve_rate,
                           label=j.task.answer if j.task is not None else None)
            rows.append(row)
        return rows

    # ---- the run ----------------------------------------------------------------------------------
    def save(self) -> Path:
        return ckpt.save_checkpoint(self.run_dir, self.state, keep=self.cfg.run.keep_checkpoints)

    def train(self) -> dict[str, Any]:
        """Run the remaining steps, checkpointing every N; then save the adapter and, unless
        `eval.at_end` is off, compare base and adapter on the held-out suite. The run folder's
        status.json says running, then finished (or stopped, with the reason)."""
        with tracked(self.run_dir, steps=self.cfg.trainer.steps):
            return self._train()

    def _train(self) -> dict[str, Any]:
        cfg = self.cfg
        total = cfg.trainer.steps
        bar = _progress(total, self.state.step, cfg.run.progress)
        say = bar.write if bar is not None else (lambda line: print(line, flush=True))
        say(f"[train] run folder {self.run_dir} | envs {', '.join(self.envs)} | task types "
            f"{', '.join(f'{e}/{t}' for e, t in self.settings)} | from step {self.state.step}")
        last = None
        try:
            while self.state.step < total:
                last = self.step()
                say(console_line(last, total))
                if bar is not None:
                    bar.update(1)
                if self.state.step % cfg.run.checkpoint_every == 0 or self.state.step == total:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
            for env in self.envs.values():
                if hasattr(env, "close"):
                    env.close()
        adapter = self.run_dir / "adapter"
        self.policy.model.save_pretrained(adapter)
        print(f"[train] adapter saved to {adapter}", flush=True)
        result: dict[str, Any] = {"run_dir": str(self.run_dir), "adapter": str(adapter), "last": last}
        if cfg.eval.at_end:
            from azmed.selfplay.heldout import compare_on_heldout

            update_status(self.run_dir, phase="held-out check")
            result["heldout"] = compare_on_heldout(self.policy, cfg, self.run_dir)
        return result


def _novelty(new: int, duplicates: int) -> float | None:
    """Share of this step's well-formed proposals that were new tasks, not duplicates of known ones.

    >>> _novelty(3, 1)
    0.75
    """
    return round(new / (new + duplicates), 4) if new + duplicates else None


def _default_run_dir(cfg: TrainConfig) -> Path:
    envs = "+".join(cfg.enabled_envs()) or "none"
    return Path("runs") / f"{_dt.datetime.now():%Y%m%d-%H%M%S}-{envs}"


def _progress(total: int, done: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="self-play", unit="step", file=sys.stderr, dynamic_ncols=True,
                mininterval=1.0 if sys.stderr.isatty() else 60.0)
