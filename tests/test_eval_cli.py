"""`azmed eval`: bad input gives one-line errors before any model loads; `--compare` tables;
the harness's batching and settings; and (slow) a short real run of every suite on the
embedded model, then a comparison of two runs."""

from __future__ import annotations

import json

import pytest

from azmed.cli import build_parser
from azmed.commands.eval import run
from azmed.eval.compare import compare_markdown, load_summary, summary_markdown
from azmed.config import ConfigError, apply_overrides, load_config
from azmed.eval.config import EvalConfig
from azmed.eval.harness import SUITES, plan_batches, records_path


def eval_cli(*argv, capsys):
    """Run the real parser and `azmed eval` handler; (exit code, stdout, stderr)."""
    code = run(build_parser().parse_args(["eval", *map(str, argv)]))
    out, err = capsys.readouterr()
    return code, out, err


def summary(path, model, metrics, groups=None, n=10):
    data = {"model": model, "adapter": None,
            "suites": {name: {"n": n, "metrics": m, "groups": (groups or {}).get(name, {})}
                       for name, m in metrics.items()}}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("argv, message", [
    (["--suite", "nope", "--out", "x.json"], "unknown suite(s) nope"),
    (["--out", "x.json"], "name at least one suite"),
    (["--suite", "medcalc", "--medcalc-csv", "/no/such.csv", "--out", "{tmp}/x.json"], "does not exist"),
    (["--suite", "agentclinic", "--agentclinic-jsonl", "/no/such.jsonl", "--out", "{tmp}/x.json"], "does not exist"),
    (["--suite", "medcalc", "--limit", "0", "--out", "x.json"], "limit"),
    (["--suite", "medcalc", "--out", "x.json", "medcalc.nope=3"], "unknown setting 'medcalc.nope'"),
    (["--suite", "medcalc", "--out", "x.json", "batch_size=lots"], "batch_size"),
    (["--suite", "medcalc", "--out", "x.txt"], "must name a .json file"),
    (["--suite", "medcalc", "--adapter", "/no/adapter", "--out", "x.json"], "not a LoRA adapter folder"),
    (["--compare", "/no/a.json", "/no/b.json"], "does not exist"),
])
def test_bad_input_is_one_line_without_traceback(argv, message, tmp_path, capsys):
    code, out, err = eval_cli(*[a.replace("{tmp}", str(tmp_path)) for a in argv], capsys=capsys)
    assert code == 2 and message in err, err
    assert "Traceback" not in err and err.count("\n") == 1


def test_compare_rejects_a_records_file(tmp_path, capsys):
    records = tmp_path / "run.medcalc.jsonl"
    records.write_text('{"id": 1}\n')
    code, _, err = eval_cli("--compare", records, records, capsys=capsys)
    assert code == 2 and "not a summary" in err


def test_compare_prints_both_runs_and_differences(tmp_path, capsys):
    a = summary(tmp_path / "a.json", "embedded", {"medcalc": {"accuracy": 0.1}, "humaneval": {"pass@1": 0.0}},
                {"medcalc": {"category": {"lab": {"n": 4, "accuracy": 0.25}}}})
    b = summary(tmp_path / "b.json", "embedded", {"medcalc": {"accuracy": 0.15}, "code-heldout": {"accuracy": 0.3}},
                {"medcalc": {"category": {"lab": {"n": 4, "accuracy": 0.5}}}})
    code, out, _ = eval_cli("--compare", a, b, capsys=capsys)
    assert code == 0
    assert "| medcalc | accuracy | 10 | 0.100 | 0.150 | +0.050 |" in out
    assert "| humaneval | pass@1 | 10 | 0.000 | — | — |" in out          # only in A
    assert "| code-heldout | accuracy | 10 | — | 0.300 | — |" in out     # only in B
    assert "| lab | 4 | 0.250 | 0.500 | +0.250 |" in out
    assert "A (a.json)" in out and "B (b.json)" in out                   # same model: labelled by file


def test_summary_table_of_one_run(tmp_path):
    s = load_summary(summary(tmp_path / "a.json", "embedded", {"agentclinic": {"exact": 0.5, "known_to_pack": 1}}))
    table = summary_markdown(s)
    assert "| agentclinic | exact | 10 | 0.500 |" in table and "| agentclinic | known_to_pack | 10 | 1 |" in table


def test_config_overrides_and_batches():
    cfg = apply_overrides(EvalConfig(), ["batch_size=4", "humaneval.timeout=9", "medcalc.csv=123"])
    assert (cfg.batch_size, cfg.humaneval.timeout, cfg.medcalc.csv) == (4, 9.0, "123")
    with pytest.raises(ConfigError, match="is not key=value"):
        apply_overrides(cfg, ["batch_size"])
    with pytest.raises(ConfigError, match="medcalc has csv, max_new_tokens"):
        load_config(EvalConfig, overrides=["medcalc.nope=1"])
    with pytest.raises(ConfigError, match="medcalc.csv is a single value"):
        load_config(EvalConfig, overrides=["medcalc.csv.deeper=1"])
    assert set(SUITES) == {"sim-heldout", "medcalc", "agentclinic", "code-heldout", "humaneval", "real-cases"}
    assert all(cfg.suite_options(name) is not None for name in SUITES)
    # Longest prompt x batch stays under the token cap; every index is planned once.
    lengths = [900, 10, 300, 2000, 40, 40, 700]
    batches = plan_batches(lengths, batch_size=3, max_batch_tokens=1500)
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert all(len(b) <= 3 and (len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 1500) for b in batches)
    assert records_path(__import__("pathlib").Path("runs/base.json"), "medcalc").name == "base.medcalc.jsonl"


@pytest.mark.slow
def test_every_suite_runs_on_the_embedded_model_and_compares(tmp_path, capsys):
    out = tmp_path / "base.json"
    cases = tmp_path / "cases.jsonl"  # the real-cases suite scores a file of one's own
    cases.write_text(json.dumps({"case": "A 30-year-old woman with ptosis and diplopia worse in the evening.",
                                 "question": "What is the most likely diagnosis?", "answer": "Myasthenia gravis",
                                 "task_type": "diagnosis"}) + "\n" +
                     json.dumps({"findings": {"sodium": "140 mmol/L", "chloride": "104 mmol/L",
                                              "bicarbonate": "24 mmol/L"}, "question": "What is the anion gap?",
                                 "answer": "12", "answer_type": "number", "task_type": "calculation"}) + "\n")
    code, table, err = eval_cli(*[x for s in SUITES for x in ("--suite", s)], "--model", "embedded",
                                "--limit", "2", "--batch-size", "2", "--out", out, f"real_cases.jsonl={cases}",
                                "humaneval.max_new_tokens=96", "progress=false", capsys=capsys)
    assert code == 0, err
    result = json.loads(out.read_text())
    assert list(result["suites"]) == list(SUITES)
    for name, s in result["suites"].items():
        assert s["n"] == 2 and s["metrics"], name
        assert result[name] == {"n": 2, **s["metrics"], "records": s["records"]}  # headline figures
        records = [json.loads(line) for line in records_path(out, name).read_text().splitlines()]
        assert len(records) == 2
        for r in records:
            assert {"prompt", "raw_answer", "parsed", "correct", "formatted", "reason", "truth"} <= set(r)
            assert r["prompt"] and isinstance(r["correct"], bool) and r["reason"]
    assert out.with_suffix(".md").read_text() == table
    assert "| medcalc | accuracy | 2 |" in table
    code, compared, _ = eval_cli("--compare", out, out, capsys=capsys)
    assert code == 0 and "B − A" in compared and compare_markdown(load_summary(out), load_summary(out)) == compared
