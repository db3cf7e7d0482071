"""A short real fine-tuning run of the embedded model on converted AgentClinic cases: the held-out
loss falls, the run folder has the self-play layout, the saved adapter loads back and answers
the held-out cases exactly as the run scored them, and a run killed after a checkpoint resumes
to the same weights."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from types import SimpleNamespace

import pytest

from azmed.finetune.convert import convert
from azmed.real_cases import file_sha256, write_cases
from tests.test_data_convert import data_file

pytestmark = pytest.mark.slow

# Tiny on purpose: presentations cut to 160 tokens, 4 optimizer steps of 2 cases.
TINY = ["data.max_prompt_tokens=160", "trainer.max_length=192", "trainer.max_steps=4", "trainer.eval_every=2",
        "trainer.batch_size=2", "trainer.eval_batch_size=4", "trainer.lr=5e-4", "trainer.warmup_ratio=0",
        "lora.r=8", "heldout.max_new_tokens=8", "heldout.score_before=false"]


def azmed(*args) -> SimpleNamespace:
    """The real `azmed` command run in this process (model runs are slow on a loaded machine, so
    no subprocess timeout applies); returns returncode, stdout and stderr."""
    from azmed.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finetune")
    cases = convert("agentclinic", str(data_file("agentclinic_medqa.jsonl")), strict=True).cases[:14]
    data = tmp / "cases.jsonl"
    write_cases(cases, data)
    with open(data, "a", encoding="utf-8") as fh:  # one bad row: skipped, counted, listed
        fh.write(json.dumps({"case": "no question", "answer": "x"}) + "\n")
    before = file_sha256(data)
    out = tmp / "run"
    r = azmed("finetune", "--data", data, "--eval-fraction", "0.25", f"run.out_dir={out}", *TINY)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert file_sha256(data) == before
    return out, r


def test_heldout_loss_falls_and_run_folder_is_complete(run):
    out, r = run
    for name in ("config.yaml", "run.json", "split.json", "heldout.jsonl", "metrics.jsonl", "samples.jsonl",
                 "report.json", "report.md", "adapter/adapter_config.json", "checkpoints/checkpoint-4"):
        assert (out / name).exists(), name
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [(m["step"], m["eval_loss"]) for m in metrics if "eval_loss" in m]
    assert [s for s, _ in evals] == [0, 2, 4]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2, 3, 4]
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "done" and report["split"] == {"train": 10, "heldout": 4, "seed": 0}
    assert report["eval_loss_start"] == pytest.approx(evals[0][1], abs=1e-5)  # metrics.jsonl rounds to 6 digits
    assert report["eval_loss_end"] == pytest.approx(min(loss for _, loss in evals[1:]), abs=1e-5)
    assert report["eval_loss_end"] < report["eval_loss_start"]
    assert report["train"]["best_step"] in (2, 4) and report["prompts_shortened"]["train"] > 0
    assert report["data"]["rows_skipped"] == 1
    assert report["data"]["first_problems"] == [{"line": 15, "field": "question", "message": "is required"}]
    assert "line 15, field `question`" in r.stderr and "1 bad rows were skipped" in r.stdout
    md = (out / "report.md").read_text()
    assert "held-out loss" in md and "## Skipped rows" in md and "line 15, field `question`: is required" in md
    assert "step 00004/00004 (100.00%)" in r.stdout


def test_adapter_loads_back_and_answers_as_scored(run):
    out, _ = run
    from azmed.eval.harness import run_suite
    from azmed.eval.real_cases import RealCaseOptions, RealCaseSuite
    from azmed.model import ModelSpec, load_policy, lora_state

    policy = load_policy(ModelSpec(), adapter=str(out / "adapter"))
    assert policy.has_adapter
    lora_b = [w for n, w in lora_state(load_policy(ModelSpec(), adapter=str(out / "adapter"), trainable=True).model)
              .items() if "lora_B" in n]
    assert lora_b and any(w.abs().sum() > 0 for w in lora_b)  # trained (peft initialises B to zero)
    records = out / "reloaded.jsonl"
    summary = run_suite(RealCaseSuite(RealCaseOptions(jsonl=str(out / "heldout.jsonl"), max_new_tokens=8)), policy,
                        limit=None, batch_size=8, max_batch_tokens=24000, progress=False, records_file=records).summary
    scored = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert summary["n"] == 4 and {s["stage"] for s in scored} == {"after"}
    reloaded = [json.loads(x) for x in records.read_text().splitlines()]
    assert [x["raw_answer"] for x in reloaded] == [s["raw_answer"] for s in scored]


def test_resume_after_a_kill_reaches_the_same_weights(run):
    out, _ = run
    from safetensors.torch import load_file

    done = load_file(str(out / "checkpoints" / "checkpoint-4" / "adapter_model.safetensors"))
    # A kill while checkpoint-4 was being written: its trainer state is missing, so it is incomplete.
    (out / "checkpoints" / "checkpoint-4" / "trainer_state.json").unlink()
    shutil.rmtree(out / "adapter")
    r = azmed("finetune", "--resume", out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from" in r.stdout and "checkpoint-2" in r.stdout
    again = load_file(str(out / "checkpoints" / "checkpoint-4" / "adapter_model.safetensors"))
    assert done.keys() == again.keys()
    assert all((done[k] - again[k]).abs().max() < 1e-5 for k in done)
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2, 3, 4]  # steps 3-4 redone, not duplicated
    assert (out / "adapter" / "adapter_config.json").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["train"]["resumed_from"].endswith("checkpoint-2") and "eval_loss_start" in report
    r = azmed("finetune", "--resume", out, "trainer.lr=1")
    assert r.returncode == 2 and "saved config" in r.stderr
