"""A whole self-play step in seconds, on every change: a tiny randomly initialised Llama (the
architecture of SmolLM2, built here) and a small environment registered the way any new
environment is (one class plus one line in `ENVIRONMENTS`). The step's rewards, advantages,
buffers, metrics and LoRA update are checked against what the environment reported.

The model uses the embedded model's real tokenizer when its converted folder is cached, and a
tiny byte-level tokenizer with the same chat format built here otherwise (both run when the
cache exists). The slow tests in test_selfplay_train.py run the real model on the clinical
environment."""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from typing import Sequence

import pytest
import torch
from pydantic import Field

from azmed.envs import ENVIRONMENTS
from azmed.envs.base import EnvConfig, Environment, Rejection, Task, Verdict, stable_key
from azmed.model import EMBEDDED_FOLDER, cache_dir, lora_state
from azmed.selfplay.config import load_config
from azmed.selfplay.rewards import learnability, solve_rate, task_relative_advantages
from tests.conftest import save_tiny_llama

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


# ---- the environment -------------------------------------------------------------------------------

class ParityConfig(EnvConfig):
    seeds: int = Field(2, ge=1, description="seed tasks per type")


class ParityEnv(Environment):
    """Tasks are numbers; a proposal is valid when its length is even (its task is that length),
    an answer is correct when its length has the task's parity. Deterministic functions of the
    text, so a random model gets a mix of rewards; every call is recorded."""

    name = "parity"
    all_task_types = ("parity",)
    Config = ParityConfig

    def __init__(self, config=None, **options):
        super().__init__(config, **options)
        self.calls: list[tuple[str, list]] = []
        self.closed = False

    @property
    def task_types(self) -> Sequence[str]:
        return ("parity",)

    def _task(self, n: int, key: str) -> Task:
        return Task(self.name, "parity", {"n": n}, n % 2, key)

    def seed_tasks(self, task_type: str) -> list[Task]:
        tasks = [self._task(i, f"seed-{i}") for i in range(self.config.seeds)]
        self.remember(tasks)
        return tasks

    def sample_tasks(self, task_type: str, n: int, rng: random.Random) -> list[Task]:
        return [self._task(k, f"fresh-{k}") for k in (rng.randrange(100) for _ in range(n))]

    def propose_prompt(self, task_type, references, rng) -> str:
        return "Write a word. Examples: " + ", ".join(str(r.payload["n"]) for r in references)

    def validate(self, task_type, proposal_text, references=()) -> Task | Rejection:
        if len(proposal_text) % 2:
            return Rejection("odd", "write an even number of characters")
        return self.admit(self._task(len(proposal_text), stable_key(proposal_text)))

    def validate_many(self, task_type, texts, references=()):
        results = super().validate_many(task_type, texts, references)
        self.calls.append(("validate", list(zip(texts, results))))
        return results

    def solve_prompt(self, task: Task) -> str:
        return f"Say something {'odd' if task.answer else 'even'} about {task.payload['n']}."

    def verify(self, task: Task, answer_text: str) -> Verdict:
        if not answer_text:
            return Verdict(False, None, "empty", formatted=False)
        return Verdict(len(answer_text) % 2 == task.answer, len(answer_text), "parity")

    def verify_many(self, tasks, answers):
        verdicts = super().verify_many(tasks, answers)
        self.calls.append(("verify", list(zip(tasks, verdicts))))
        return verdicts

    def demonstration(self, task: Task) -> str:
        return "a" if task.answer else "ab"  # a right answer: its length has the task's parity

    def proposal_demonstration(self, task_type: str, rng: random.Random, prompt: str = "") -> str:
        return "x" * (2 * rng.randrange(1, 20))  # a valid proposal: even length

    def close(self) -> None:
        self.closed = True


# ---- the model -------------------------------------------------------------------------------------

def _tokenizer(kind: str):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if kind == "embedded":
        folder = cache_dir() / "models" / EMBEDDED_FOLDER
        if not (folder / "tokenizer.json").is_file():
            pytest.skip("the embedded model is not converted yet (the built tokenizer runs instead)")
        return AutoTokenizer.from_pretrained(folder)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(alphabet))}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", bos_token="<|im_start|>",
                                  unk_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = CHATML
    return tok


@pytest.fixture(scope="module", params=["embedded", "built"])
def tiny_llama(request, tmp_path_factory):
    """A 2-layer Llama (SmolLM2's architecture, random weights) saved as a HF folder."""
    return save_tiny_llama(tmp_path_factory.mktemp(f"tiny-llama-{request.param}"), _tokenizer(request.param))


@pytest.fixture()
def trainer(tiny_llama, tmp_path, monkeypatch):
    from azmed.selfplay.trainer import SelfPlayTrainer

    monkeypatch.setitem(ENVIRONMENTS, "parity", f"{__name__}:ParityEnv")  # adding an environment: one line
    cfg = load_config(None, [
        f"model.name={tiny_llama}", "model.dtype=float32", f"run.out_dir={tmp_path / 'run'}", "run.progress=false",
        "run.checkpoint_every=1", "envs.clinical.enabled=false", "envs.parity.enabled=true",
        "envs.parity.options.seeds=3", "envs.parity.task_types.parity.propose=6",
        "envs.parity.task_types.parity.solve=6", "envs.parity.task_types.parity.propose_tokens=8",
        "envs.parity.task_types.parity.solve_tokens=5", "selfplay.mc_rollouts=3", "selfplay.references=2",
        "selfplay.env_tasks=0.5", "trainer.steps=2", "trainer.lr=0.05"])
    return SelfPlayTrainer(cfg)


# ---- the step --------------------------------------------------------------------------------------

def test_one_step_rewards_advantages_buffers_metrics_and_update(trainer, monkeypatch):
    import azmed.selfplay.trainer as loop

    sp = trainer.cfg.selfplay
    env: ParityEnv = trainer.envs["parity"]
    batches = []
    real_update = loop.policy_gradient_update
    monkeypatch.setattr(loop, "policy_gradient_update",
                        lambda policy, opt, batch, **kw: batches.append(list(batch)) or real_update(policy, opt, batch, **kw))
    before = lora_state(trainer.policy.model)
    assert len(trainer.state.buffers["parity/parity"]) == 3  # the seeds

    record = trainer.step()

    # the environment was used through its protocol: proposals, Monte-Carlo rollouts, answers
    (kind1, proposals), (kind2, rollouts), (kind3, answers) = env.calls
    assert (kind1, kind2, kind3) == ("validate", "verify", "verify")
    assert len(proposals) == 6 and len(answers) == 6
    valid = [r for _, r in proposals if isinstance(r, Task)]
    assert len(rollouts) == sp.mc_rollouts * len(valid)

    # rewards: learnability for valid proposals (from their rollouts), the penalty for the others
    rates = {}
    for task, verdict in rollouts:
        rates.setdefault(task.key, []).append(verdict.correct)
    propose_rewards = [learnability(solve_rate(rates[r.key])) if isinstance(r, Task) else sp.invalid_penalty
                       for _, r in proposals]
    solve_rewards = [(1.0 if v.correct else 0.0) if v.formatted else sp.format_penalty for _, v in answers]
    group = record["groups"]
    assert group["parity/parity/propose"]["reward"] == pytest.approx(sum(propose_rewards) / 6, abs=1e-4)
    assert group["parity/parity/solve"]["reward"] == pytest.approx(sum(solve_rewards) / 6, abs=1e-4)
    assert group["parity/parity/solve"]["accuracy"] == pytest.approx(sum(v.correct for _, v in answers) / 6, abs=1e-4)
    assert group["parity/parity/propose"]["valid"] == pytest.approx(len(valid) / 6, abs=1e-4)
    assert group["parity/parity/propose"]["rejections"].get("odd", 0) == 6 - len(valid)

    # advantages: Task-Relative REINFORCE++, each role normalised on its own
    (batch,) = batches
    expected = task_relative_advantages(propose_rewards + solve_rewards, ["propose"] * 6 + ["solve"] * 6)
    assert [s.advantage for s in batch] == pytest.approx(expected, abs=1e-5)
    for role in (slice(0, 6), slice(6, 12)):
        assert sum(s.advantage for s in batch[role]) == pytest.approx(0.0, abs=1e-4)

    # buffers: the seeds and every new valid task (keep: all), each once
    buf = trainer.state.buffers["parity/parity"]
    assert len(buf) == 3 + len(valid) == record["buffers"]["parity/parity"]["size"]
    assert record["buffers"]["parity/parity"]["new_valid"] == len(valid)
    assert all(r.key in buf for r in valid) and all(env.is_known(r.key) for r in valid)
    # half of the solver's tasks came fresh from the environment's generator
    assert sum(t.key.startswith("fresh-") for t, _ in answers) == 3

    # the update: the LoRA weights moved, and the step was logged
    assert record["update"]["grad_norm"] > 0 and math.isfinite(record["update"]["loss"])
    after = lora_state(trainer.policy.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    line = json.loads((trainer.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert line["step"] == 1 and line["groups"] == json.loads(json.dumps(record["groups"]))


def test_a_proposal_equal_to_a_known_task_is_a_duplicate_of_the_environment(trainer):
    env: ParityEnv = trainer.envs["parity"]
    first = env.validate("parity", "abcd")
    assert isinstance(first, Task)
    again = env.validate_many("parity", ["abcd", "abcdef"])
    assert isinstance(again[0], Rejection) and again[0].reason == "duplicate"
    assert isinstance(again[1], Task)


def test_proposals_are_spread_over_propose_prompts_each_with_its_own_references(trainer, monkeypatch):
    """`selfplay.propose_prompts`: a task type's `propose` samples come from that many prompts,
    each drawn anew (its own references), consecutive so that each prompt is prefilled once."""
    seen = []
    prompts = iter(f"prompt {i}" for i in range(100))
    monkeypatch.setattr(trainer.envs["parity"], "propose_prompt", lambda tt, refs, rng: next(prompts))
    generate = trainer._generate

    def recorded(jobs):
        seen.extend(j.prompt for j in jobs if j.role == "propose")
        return generate(jobs)

    monkeypatch.setattr(trainer, "_generate", recorded)
    trainer.cfg.selfplay.propose_prompts = 4  # propose=6: 2, 2, 1, 1
    trainer.step()
    assert seen == ["prompt 0"] * 2 + ["prompt 1"] * 2 + ["prompt 2", "prompt 3"]
    seen.clear()
    trainer.cfg.selfplay.propose_prompts = 1
    trainer.step()
    assert seen == ["prompt 4"] * 6


def test_train_runs_checkpoints_saves_the_adapter_and_closes_the_environment(trainer):
    env: ParityEnv = trainer.envs["parity"]
    result = trainer.train()
    run = trainer.run_dir
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (run / "adapter" / "adapter_config.json").is_file() and result["adapter"] == str(run / "adapter")
    assert (run / "checkpoints" / "step-000002" / "state.json").is_file()
    assert env.closed and "heldout" not in result  # this environment declares no held-out suite


def test_warmup_learns_the_environments_demonstrations_then_self_play_trains_on_rollouts(trainer, monkeypatch):
    """Warm-up steps train on the environment's demonstrations (advantage 1, so their likelihood
    rises); self-play steps with `train_rollouts` train the solver on the rollouts of the proposals
    that joined the buffer, and `solve_sources` adds up to the solver batch."""
    import azmed.selfplay.trainer as loop
    from azmed.selfplay.update import unit_logprobs

    cfg = trainer.cfg
    cfg.selfplay.warmup.steps, cfg.selfplay.warmup.solve, cfg.selfplay.warmup.propose = 1, 4, 2
    cfg.selfplay.train_rollouts = True
    cfg.envs["parity"].task_types["parity"].keep = "all"
    policy, tok = trainer.policy, trainer.policy.tokenizer
    batches = []
    real_update = loop.policy_gradient_update
    monkeypatch.setattr(loop, "policy_gradient_update",
                        lambda policy, opt, batch, **kw: batches.append(list(batch)) or real_update(policy, opt, batch, **kw))

    def likelihood(samples):
        with torch.no_grad():
            return sum(float((lp * m).sum()) for lp, m in
                       (unit_logprobs(policy.model, [s], False, tok.pad_token_id, "cpu") for s in samples))

    warm = trainer.step()
    demos = batches[0]
    assert warm["phase"] == "warmup" and warm["solve_sources"] == {} and warm["proposals"] == {}
    assert warm["groups"]["parity/parity/solve_demo"]["n"] == 4 and warm["groups"]["parity/parity/propose_demo"]["n"] == 2
    assert len(demos) == 6 and all(s.advantage == 1.0 and s.completion_ids[-1] == policy.eos_id for s in demos)
    texts = [tok.decode(s.completion_ids[:-1]) for s in demos]
    assert set(texts[:4]) <= {"a", "ab"} and all(len(t) % 2 == 0 for t in texts[4:])
    # its loss is the demonstrations' negative log-likelihood, token mean; a small step along its
    # gradient raises their likelihood
    tokens = sum(len(d.completion_ids) for d in demos)
    sgd = torch.optim.SGD([p for p in policy.model.parameters() if p.requires_grad], lr=1e-3)
    before = likelihood(demos)
    stats = real_update(policy, sgd, demos, micro_batch_tokens=4096, grad_clip=1e9)
    assert stats["nll"] == pytest.approx(-before / tokens, rel=1e-3)
    assert likelihood(demos) > before
    assert "warm-up on demonstrations" in loop_console(warm)

    record = trainer.step()
    assert record["phase"] == "selfplay"
    solves = record["groups"]["parity/parity/solve"]["n"]
    sources = record["solve_sources"]["parity/parity"]
    assert sum(sources.values()) == solves
    valid = round(record["proposals"]["parity/parity"]["valid"] * 6)
    assert sources["proposed"] >= cfg.selfplay.mc_rollouts * valid  # every kept proposal's rollouts
    assert sources["simulator"] == 3  # env_tasks: half of the 6 buffer answers came fresh
    assert record["memory"]["peak_rss_mb"] > 0


def test_warm_up_does_not_train_what_the_guide_writes(trainer, monkeypatch):
    """A guided task's demonstration is trained like a guided answer: the positions its guide
    would write (here the eos after the whole option) are masked (`Sample.forced`); an unguided
    task's demonstration is trained whole."""
    from simulator.tools import OptionGuide

    import azmed.selfplay.trainer as loop

    trainer.cfg.selfplay.warmup.steps, trainer.cfg.selfplay.warmup.solve, trainer.cfg.selfplay.warmup.propose = 1, 6, 0
    every_other = itertools.cycle([True, False])
    monkeypatch.setattr(trainer.envs["parity"], "solve_guide",
                        lambda task: OptionGuide(["a"]) if next(every_other) else None)
    batches = []
    real_update = loop.policy_gradient_update
    monkeypatch.setattr(loop, "policy_gradient_update",
                        lambda policy, opt, batch, **kw: batches.append(list(batch)) or real_update(policy, opt, batch, **kw))
    trainer.step()
    tok = trainer.policy.tokenizer
    kinds = set()
    for s in batches[0]:
        end = len(s.completion_ids) - 1  # the eos
        kinds.add(s.forced)
        assert s.forced in ((), (end,)), (tok.decode(s.completion_ids), s.forced)
    assert len(kinds) == 2  # guided and unguided demonstrations both ran


def test_anchors_are_the_policys_own_free_text_answers(trainer, monkeypatch):
    """`selfplay.anchor.prompts`: every step (warm-up and self-play) the policy answers that many
    unguided solver prompts of fresh tasks; the answers go to the update as anchors, beside the
    step's batch, and the record carries their KL."""
    import azmed.selfplay.trainer as loop

    trainer.cfg.selfplay.warmup.steps = 1
    trainer.cfg.selfplay.anchor.prompts = 3
    seen = []
    real_update = loop.policy_gradient_update
    monkeypatch.setattr(loop, "policy_gradient_update",
                        lambda policy, opt, batch, **kw: seen.append(kw) or real_update(policy, opt, batch, **kw))
    for phase in ("warmup", "selfplay"):
        record = trainer.step()
        anchors = seen[-1]["anchors"]
        assert record["phase"] == phase and len(anchors) == 3 and seen[-1]["anchor_kl"] == 1.0
        assert all(a.advantage == 0.0 and a.forced == () for a in anchors)
        assert record["update"]["anchor_tokens"] == sum(a.trained_tokens for a in anchors)
        assert record["update"]["anchor_kl"] >= 0.0
    trainer.cfg.selfplay.anchor.prompts = 0
    trainer.step()
    assert seen[-1]["anchors"] == [] and "anchor_kl" not in trainer.step()["update"]


def test_base_anchors_are_answered_with_the_adapter_off(trainer, monkeypatch):
    """`selfplay.anchor.source: base`: the anchor prompts are answered by the base model (every
    LoRA layer switched off while they are generated), no longer than `max_tokens` (4 here, the
    task's answers 5), and the update is told so (its loss is then KL(base || policy))."""
    from peft.tuners.lora import LoraLayer

    import azmed.selfplay.trainer as loop

    a = trainer.cfg.selfplay.anchor
    a.prompts, a.source, a.max_tokens = 3, "base", 4
    adapters_off, seen = [], []
    real_generate, real_update = loop.generate, loop.policy_gradient_update

    def spy_generate(policy, prompts, **kw):
        layers = [m for m in policy.model.modules() if isinstance(m, LoraLayer)]
        adapters_off.append((kw["max_new_tokens"], bool(layers) and all(m.disable_adapters for m in layers)))
        return real_generate(policy, prompts, **kw)
    monkeypatch.setattr(loop, "generate", spy_generate)
    monkeypatch.setattr(loop, "policy_gradient_update",
                        lambda policy, opt, batch, **kw: seen.append(kw) or real_update(policy, opt, batch, **kw))
    record = trainer.step()
    assert seen[-1]["anchor_source"] == "base" and len(seen[-1]["anchors"]) == 3
    assert all(len(s.completion_ids) <= 4 + 1 for s in seen[-1]["anchors"])  # + the end, when it came
    assert (4, True) in adapters_off  # the anchors' call
    assert not any(off for n, off in adapters_off if n != 4)  # the step's other calls: the policy's
    assert "anchor_kl" in record["update"]
    layers = [m for m in trainer.policy.model.modules() if isinstance(m, LoraLayer)]
    assert not any(m.disable_adapters for m in layers)  # switched back on after


def loop_console(record):
    from azmed.selfplay.metrics import console_line

    return console_line(record, 10)


def test_a_time_budget_stops_training_cleanly_before_the_final_check(trainer):
    trainer.cfg.trainer.steps = 50
    trainer.cfg.trainer.time_budget_min = 0.001
    result = trainer.train()
    assert result["steps"] == 1 and "time budget" in result["stopped_early"]
    assert (trainer.run_dir / "adapter" / "adapter_config.json").is_file()
    assert (trainer.run_dir / "checkpoints" / "step-000001" / "state.json").is_file()


def test_the_final_checks_reserve_grows_with_the_step_time(trainer):
    """`eval.reserve_steps`: on a machine where a step takes longer, the reserve for the final
    check grows with it (the larger of reserve_min and reserve_steps x the last step)."""
    cfg = trainer.cfg
    cfg.trainer.time_budget_min, cfg.eval.at_end, cfg.eval.reserve_min, cfg.eval.reserve_steps = 10.0, True, 1.0, 10.0
    assert trainer._out_of_time({"time": {"total": 6.0}}) is None              # reserve 1 min, 9 left
    why = trainer._out_of_time({"time": {"total": 60.0}})                      # reserve 10 steps = 10 min
    assert why is not None and "10.0 kept for the final check" in why
    trainer._step_times = [6.0, 6.0, 6.0, 6.0, 60.0]                           # one slow step: the mean
    assert trainer._out_of_time({"time": {"total": 60.0}}) is None             # 10 x 16.8 s = 2.8 min
    cfg.eval.reserve_steps = 0.0
    assert trainer._out_of_time({"time": {"total": 60.0}}) is None             # reserve 1 min, 9 left > 1


def test_with_a_time_budget_the_base_model_is_scored_first_and_its_time_sizes_the_reserve(trainer):
    """`eval.base_first`: the base model's half of the final check runs before the first step
    (heldout-base.json, its time in the run's state), the end of the run scores only the adapter
    against it, and the reserve is `base_margin` times the measured base check."""
    cfg = trainer.cfg
    cfg.eval.suites, cfg.eval.n, cfg.eval.setting, cfg.eval.at_end = ["sim-heldout"], 4, "direct", True
    cfg.trainer.time_budget_min, cfg.eval.reserve_min, cfg.trainer.steps = 30.0, 0.0, 1
    result = trainer.train()
    base = json.loads((trainer.run_dir / "heldout-base.json").read_text())["suites"]["sim-heldout"]
    assert trainer.state.extra["base_check_s"] > 0 and base["n"] == 4
    assert result["heldout"]["sim-heldout"]["base"] == base["metrics"]["accuracy"]
    assert (trainer.run_dir / "heldout-adapter.json").is_file()
    trainer.state.extra["base_check_s"] = 240.0                                # 1.25 x 4 min = 5 min reserve
    trainer._step_times, trainer._elapsed_before, trainer._clock = [], 0.0, time.perf_counter()
    assert trainer._out_of_time({"time": {"total": 1.0}}) is None
    trainer.state.extra["base_check_s"] = 1440.0                               # 30 min: nothing left
    assert "30.0 kept for the final check" in trainer._out_of_time({"time": {"total": 1.0}})


def test_the_adapter_at_the_end_of_warm_up_is_kept_for_ablations(trainer):
    """`warmup-adapter/` holds the adapter as warm-up ended (scripts/ablation.sh starts its arms
    from it); the run's own `adapter/` moves on with self-play."""
    trainer.cfg.trainer.steps, trainer.cfg.selfplay.warmup.steps = 2, 1
    trainer.train()
    warm, final = trainer.run_dir / "warmup-adapter", trainer.run_dir / "adapter"
    assert (warm / "adapter_config.json").is_file() and (final / "adapter_config.json").is_file()
    assert (warm / "adapter_model.safetensors").read_bytes() != (final / "adapter_model.safetensors").read_bytes()
