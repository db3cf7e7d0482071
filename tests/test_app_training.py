"""The Training runs page on the shipped main run (docs/results/clinical: config.yaml,
metrics.jsonl, samples.jsonl, status.json and heldout.json), headless through `streamlit.testing.v1.AppTest`, and
the chart specifications it draws (`apps.run_charts`).

Checked against the run's own files: the status, the result table (heldout.json), the curves
and every rejection reason (metrics.jsonl), the curriculum section (present only when records
carry `solve_sources` / `proposals`) and the samples table (samples.jsonl as the trainer writes
it). Copies of the shipped run get the extra files a test needs; the shipped folder is only read.
No model is loaded: everything here runs in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import socket

import pandas as pd
import pytest
import yaml

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from apps.run_charts import MIN_PLOT_HEIGHT, PLOT_HEIGHT, line_chart, rejection_chart, series_labels  # noqa: E402
from apps.run_folder import curriculum_tables, heldout_table, metrics_table, read_jsonl, rejections_table  # noqa: E402
from azmed.run_status import write_status  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.test_app import chart_data, ok, texts  # noqa: E402

SHIPPED = ROOT / "docs" / "results" / "clinical"
REJECTIONS = "Rejection reasons (proposals refused, all steps)"


def records(run=SHIPPED) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def configured_steps(run=SHIPPED) -> int:
    return yaml.safe_load((run / "config.yaml").read_text())["trainer"]["steps"]


@pytest.fixture
def open_page(monkeypatch):
    """Open the Training runs page of a fresh playground session on a run folder."""
    def open_run(run) -> AppTest:
        monkeypatch.setenv("AZMED_RUNS", str(run.parent))
        monkeypatch.delenv("AZMED_PACKS_DIRS", raising=False)
        at = ok(AppTest.from_file(str(ROOT / "apps" / "playground.py"), default_timeout=300).run())
        at = ok(at.switch_page("pages/training_runs.py").run())
        return ok(at.text_input(key="runs_path").set_value(str(run)).run())

    return open_run


@pytest.fixture
def shipped_copy(tmp_path):
    run = tmp_path / "runs" / "clinical"
    shutil.copytree(SHIPPED, run)
    return run


# ---- the shipped run --------------------------------------------------------------------------------

def test_shipped_run_shows_finished_status_and_its_result_on_top(open_page):
    at = open_page(SHIPPED)
    assert [m.value for m in at.metric][:2] == ["finished", f"{len(records())} of {configured_steps()}"]
    assert at.toggle(key=f"runs_refresh_{SHIPPED}").value is False  # a finished run does not refresh
    assert at.subheader[0].value == "Result: base model vs trained adapter"
    heldout = json.loads((SHIPPED / "heldout.json").read_text())["sim-heldout"]
    table = at.dataframe[0].value
    table = table[table["suite"] == "sim-heldout"]  # the run also scored other suites and settings
    assert table.iloc[0][["suite", "tasks", "n"]].tolist() == ["sim-heldout", "all", heldout["n"]]
    assert table.iloc[0]["base"] == pytest.approx(100 * heldout["base"])
    assert table.iloc[0]["adapter"] == pytest.approx(100 * heldout["adapter"])
    for name, figures in {**heldout["per_task_type"], **heldout["per_pack"]}.items():
        row = table[table["tasks"].str.endswith(f": {name}")]
        assert row["adapter"].tolist() == [pytest.approx(100 * figures["adapter"])], name
    assert len(table) == 1 + len(heldout["per_task_type"]) + len(heldout["per_pack"])
    headline = (f"**sim-heldout** (n={heldout['n']}): {100 * heldout['base']:.1f} % → **{100 * heldout['adapter']:.1f} %** "
                f"({100 * heldout['delta']:+.1f} points)")
    assert any(m.startswith(headline) for m in texts(at.markdown)), headline


def test_shipped_run_curves_hold_every_group_and_every_rejection_reason(open_page):
    at = open_page(SHIPPED)
    recs = records()
    accuracy = chart_data(at, "Solver accuracy")
    solve_groups = {g.removesuffix("/solve") for r in recs for g in r["groups"] if g.endswith("/solve")}
    assert set(accuracy["series"]) == solve_groups | {"overall"}
    last = recs[-1]
    row = accuracy[(accuracy["step"] == last["step"]) & (accuracy["series"] == "clinical/diagnosis")]
    assert row["value"].tolist() == [pytest.approx(last["groups"]["clinical/diagnosis/solve"]["accuracy"])]
    proposer = chart_data(at, "Proposer reward")
    assert set(proposer["series"]) == {g.removesuffix("/propose") for r in recs for g in r["groups"]
                                       if g.endswith("/propose")}
    reasons = chart_data(at, REJECTIONS)
    expected: dict[str, float] = {}
    for r in recs:
        for group in r["groups"].values():
            for reason, n in group.get("rejections", {}).items():
                expected[reason] = expected.get(reason, 0) + n
    assert expected  # the shipped run (guided specifications) logged its duplicates
    assert reasons.groupby("reason")["count"].sum().to_dict() == pytest.approx(expected)
    assert "Curriculum" in texts(at.subheader)  # the run logs solve_sources and proposals
    assert not any("No samples.jsonl in this run folder" in c for c in texts(at.caption))


def test_task_type_filter_applies_to_every_chart(open_page):
    at = open_page(SHIPPED)
    at = ok(at.multiselect(key=f"runs_types_{SHIPPED}").set_value(["clinical/calculation"]).run())
    for title in ("Solver accuracy", "Valid-proposal rate", "Solver reward", "Proposer reward"):
        assert set(chart_data(at, title)["series"]) <= {"clinical/calculation", "overall"}, title
    assert set(chart_data(at, REJECTIONS)["group"]) == {"clinical/calculation"}


def test_every_chart_keeps_its_plot_height_and_never_a_discrete_one(open_page):
    """Each chart fixes its plot's height in pixels and fits only the width, so a legend adds to
    the chart instead of squeezing the plot (the browser test measures the drawn plots)."""
    at = open_page(SHIPPED)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) >= 5
    for spec in specs:
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}, spec.get("title")
        assert isinstance(spec["height"], int) and spec["height"] >= PLOT_HEIGHT // 2, spec.get("title")


# ---- what a run folder may add ------------------------------------------------------------------------

def with_curriculum(record: dict) -> dict:
    """A step record with the curriculum figures the trainer logs per env/task_type (derived
    here from the record's own groups, so the expected totals are known)."""
    sources, proposals = {}, {}
    for group, figures in record["groups"].items():
        env, task_type, role = group.split("/")
        if role == "solve":
            n = figures["n"]
            sources[f"{env}/{task_type}"] = {"proposed": n - n // 4, "seed": n // 4, "simulator": 0}
        else:
            proposals[f"{env}/{task_type}"] = {"valid": figures["valid"], "in_band": figures["learnable"] or 0.0,
                                               "distinct": 1 + record["step"] % 3,
                                               "duplicates": figures["rejections"].get("duplicate", 0),
                                               "learnability_hist": figures["learnability_hist"]}
    return {**record, "solve_sources": sources, "proposals": proposals}


def test_curriculum_section_draws_the_records_curriculum(open_page, shipped_copy):
    recs = [with_curriculum(r) for r in records()]
    (shipped_copy / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    at = open_page(shipped_copy)
    assert "Curriculum" in texts(at.subheader)
    sources = chart_data(at, "Where the solver's tasks came from")
    proposed = sum(s["proposed"] for r in recs for s in r["solve_sources"].values())
    total = sum(sum(s.values()) for r in recs for s in r["solve_sources"].values())
    assert sources.loc[sources["source"] == "proposed", "count"].sum() == proposed
    assert any(c.startswith(f"Over the run, {100 * proposed / total:.0f} % of the solver's {total} tasks came from "
                            "the proposer") for c in texts(at.caption))
    in_band = chart_data(at, "Valid proposals in the learnability band (0 < p < 1)")
    assert set(in_band["series"]) == set(recs[0]["proposals"])
    heat = chart_data(at, "Solve rates of valid proposals")
    assert heat["count"].sum() == sum(n for r in recs for p in r["proposals"].values()
                                      for n in p["learnability_hist"].values())
    # the curriculum figures are not drawn a second time among the generic ones
    assert not any(g.startswith(("solve_sources", "proposals")) for g in metrics_table(recs)["group"])


def test_samples_are_shown_newest_first_when_the_file_exists(open_page, shipped_copy):
    rows = [{"step": step, "env": "clinical", "task_type": "diagnosis", "role": role, "prompt": "Patient case:\nage: 61",
             "completion": f"answer {step}\u2028second line", "reward": 1.0}
            for step in (59, 60) for role in ("propose", "solve")]
    (shipped_copy / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    at = open_page(shipped_copy)
    table = at.dataframe[-1].value
    assert table["step"].tolist() == [60, 60, 59, 59]
    assert table["completion"].iloc[0] == "answer 60\u2028second line"  # U+2028 is not a line break in JSONL
    assert not any("No samples.jsonl" in c for c in texts(at.caption))


def test_a_running_run_says_so_and_refreshes(open_page, shipped_copy):
    (shipped_copy / "heldout.json").unlink()
    write_status(shipped_copy, "running", pid=os.getpid(), host=socket.gethostname(), steps=60)
    at = open_page(shipped_copy)
    assert at.metric[0].value == "running"
    assert at.toggle(key=f"runs_refresh_{shipped_copy}").value is True
    assert any("No heldout.json yet" in i for i in texts(at.info))


def test_a_stopped_run_gives_the_reason(open_page, shipped_copy):
    (shipped_copy / "heldout.json").unlink()
    write_status(shipped_copy, "stopped", reason="interrupted (Ctrl+C)", steps=60)
    at = open_page(shipped_copy)
    assert at.metric[0].value == "stopped"
    assert any("interrupted (Ctrl+C)" in c for c in texts(at.caption))


# ---- the readers and the chart specifications ----------------------------------------------------------

def test_heldout_and_curriculum_readers_on_absent_files(tmp_path):
    assert heldout_table(tmp_path) is None
    (tmp_path / "heldout.json").write_text("{not json")
    assert heldout_table(tmp_path) is None
    older = [{k: v for k, v in r.items() if k not in ("solve_sources", "proposals")} for r in records()]
    assert curriculum_tables(older) is None  # records written before the curriculum figures


def test_legend_adds_height_instead_of_taking_it():
    """Many series lengthen the legend (two columns from five series); the plot stays PLOT_HEIGHT."""
    recs, _ = read_jsonl(SHIPPED / "metrics.jsonl")
    metrics = metrics_table(recs)
    reward = metrics[metrics["metric"] == "reward"]
    spec = line_chart(reward, "Reward", smooth_window=6).to_dict()
    assert spec["height"] == PLOT_HEIGHT and spec["autosize"]["type"] == "fit-x"
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["columns"] == 2
    labels = series_labels(reward.assign(group=reward["group"]))
    assert labels.nunique() == reward["group"].nunique()
    bars = rejection_chart(rejections_table(recs), REJECTIONS).to_dict()
    assert bars["height"] == max(MIN_PLOT_HEIGHT, 22 * rejections_table(recs)["reason"].nunique())


def test_series_labels_name_the_metric_only_when_a_group_has_several():
    table = pd.DataFrame({"group": ["c/dx/solve", "c/dx/solve", "overall"], "metric": ["accuracy", "formatted", "x"]})
    assert series_labels(table, "solve").tolist() == ["c/dx · accuracy", "c/dx · formatted", "overall"]
