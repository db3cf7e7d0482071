"""The playground, headless: every page driven through `streamlit.testing.v1.AppTest`, checked
against the simulator, the calculators and the CLI it must agree with; the run-folder reader and
the `azmed app` command's own checks.

The Training runs and Ask a model pages are checked on a real two-step self-play run (slow: it
trains the embedded model); everything else runs in seconds.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from apps.case_view import case_download, measurement_rows  # noqa: E402
from apps.pack_view import condition_text, criteria_markdown, reference_text  # noqa: E402
from apps.run_folder import find_adapters, find_runs, numeric_leaves, read_jsonl  # noqa: E402
from simulator import criteria as C  # noqa: E402
from simulator.case import Rejection  # noqa: E402
from simulator.unit_spelling import display_unit  # noqa: E402
from tests.conftest import ROOT, run_cli  # noqa: E402

APP = str(ROOT / "apps" / "playground.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A fresh playground session; the runs folder is an empty temporary one."""
    monkeypatch.setenv("AZMED_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("AZMED_PACKS_DIRS", raising=False)
    return AppTest.from_file(APP, default_timeout=600)


def ok(at: AppTest) -> AppTest:
    """The page ran without an exception (a traceback would be a bug: errors go in st.error)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def generate(at: AppTest, pack="all", diagnosis="any", seed=0) -> AppTest:
    at.selectbox(key="lab_pack").select(pack).run()
    at.selectbox(key="lab_diagnosis").select(diagnosis)
    at.number_input(key="lab_seed").set_value(seed)
    return ok(at.button(key="lab_generate").click().run())


def seed_for(sim, pack: str, start: int = 0, diagnosis: str | None = None) -> int:
    """The first seed from `start` whose case generates (a diagnosis whose presentation rarely
    meets its own criteria can fail on a seed; that is the pack report's business, not the app's)."""
    from simulator.errors import SimulatorError

    for seed in range(start, start + 50):
        try:
            sim.generate(seed, pack=pack, diagnosis=diagnosis)
            return seed
        except SimulatorError:
            continue
    pytest.fail(f"no case of pack {pack} generates from seeds {start}..{start + 49}")


def case_table(at: AppTest):
    return at.dataframe[0].value


# ---- Case lab -------------------------------------------------------------------------------------

def test_case_lab_shows_the_seeded_case_with_flags(app, sim):
    at = ok(app.run())
    assert at.title[0].value == "Case lab"
    seed = seed_for(sim, "nephrology", 11)
    at = generate(at, pack="nephrology", seed=seed)
    case = sim.generate(seed, pack="nephrology")
    assert texts(at.subheader)[0] == f"Case: {case.age}-year-old {'man' if case.sex == 'M' else 'woman'}"
    table = case_table(at)
    assert len(table) == len(case.values)
    for (_, row), (vid, value) in zip(table.iterrows(), case.values.items()):
        var = sim.registry.variables[vid]
        assert row["measurement"] == var.name
        assert float(row["value"]) == pytest.approx(var.round(value))
        lo, hi = var.normal_for(case.sex)
        assert row["flag"] == ("H" if value > hi else "L" if value < lo else "")
        assert row["computed"] == bool(var.derive)
    # the hidden label is nowhere on the page until revealed
    shown = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.success) + texts(at.code))
    assert case.label_name not in shown and case.label not in shown


def test_reveal_shows_the_engine_label(app, sim):
    seed = seed_for(sim, "cardiology", 3)
    at = generate(ok(app.run()), pack="cardiology", seed=seed)
    case = sim.generate(seed, pack="cardiology")
    assert not at.success
    at = ok(at.toggle(key="lab_reveal").set_value(True).run())
    assert texts(at.success) == [f"Hidden diagnosis: **{case.label_name}** ({case.label}), pack cardiology"]
    at = generate(at, pack="cardiology", seed=seed_for(sim, "cardiology", seed + 1))  # a new case hides its label
    assert not at.success and at.toggle(key="lab_reveal").value is False


def test_impossible_value_is_rejected_with_its_reason(app, sim):
    at = generate(ok(app.run()), pack="cardiology", seed=seed_for(sim, "cardiology", 2))
    version = at.session_state["lab_version"]
    at.selectbox(key=f"lab_edit_var_{version}").select("heart_rate").run()
    at.number_input(key=f"lab_edit_value_{version}_heart_rate").set_value(900)
    at = ok(at.button(key="lab_edit_apply").click().run())
    errors = texts(at.error)
    assert len(errors) == 1 and errors[0].startswith("Rejected (implausible): ")
    assert "physiological limits" in errors[0]
    assert not at.get("button") or "Continue with the edited case" not in [b.label for b in at.button]


def test_edited_value_is_rediagnosed_by_the_engine(app, sim):
    """Potassium raised to 6.5 mmol/L in a hypokalemia case: the engine now says hyperkalemia,
    the page says so, and the edited case can become the current one."""
    seed = seed_for(sim, "nephrology", 1, diagnosis="E87.6")
    case = sim.generate(seed, diagnosis="E87.6")
    edited = case.to_json(sim.registry)
    edited["measurements"] = {k: v for k, v in edited["measurements"].items() if not sim.registry.variables[k].derive}
    edited["measurements"]["potassium"] = {"value": 6.5, "unit": "mmol/L"}
    expected = sim.check(edited)
    assert not isinstance(expected, Rejection) and expected.label != "E87.6", f"the packs changed: {expected}"

    at = generate(ok(app.run()), pack="nephrology", diagnosis="E87.6", seed=seed)
    at = ok(at.toggle(key="lab_reveal").set_value(True).run())
    version = at.session_state["lab_version"]
    at.selectbox(key=f"lab_edit_var_{version}").select("potassium").run()
    at.number_input(key=f"lab_edit_value_{version}_potassium").set_value(6.5)
    at = ok(at.button(key="lab_edit_apply").click().run())
    assert texts(at.warning) == [f"The engine now diagnoses {expected.label_name} ({expected.label}), no longer "
                                 f"{case.label_name} (E87.6)."]
    at = ok(at.button(key="lab_edit_keep").click().run())
    table = case_table(at)
    assert float(table.loc[table["measurement"] == "Potassium", "value"].iloc[0]) == 6.5
    assert at.toggle(key="lab_reveal").value is False and not at.warning


def test_text_edit_with_an_unknown_variable_is_rejected(app, sim):
    at = generate(ok(app.run()), pack="pulmonology", seed=seed_for(sim, "pulmonology", 5))
    area = at.text_area(key=f"lab_edit_text_{at.session_state['lab_version']}")
    area.set_value(area.value + "\nblood unicorn level: 3 mg/dL")
    at = ok(at.button(key="lab_edit_text_apply").click().run())
    assert len(at.error) == 1 and at.error[0].value.startswith("Rejected (unknown-variable): ")


def test_calculator_runs_on_the_case_with_its_explanation(app, sim):
    seed = seed_for(sim, "nephrology")
    while not {"sodium", "chloride", "bicarbonate"} <= set(sim.generate(seed, pack="nephrology").values):
        seed = seed_for(sim, "nephrology", seed + 1)
    case = sim.generate(seed, pack="nephrology")
    at = generate(ok(app.run()), pack="nephrology", seed=seed)
    at = ok(at.selectbox(key="lab_calculator").select("anion_gap").run())
    gap = case.values["sodium"] - (case.values["chloride"] + case.values["bicarbonate"])
    assert float(at.metric[0].value.split()[0]) == pytest.approx(gap)
    explanation = at.code[-1].value
    assert f"{case.values['sodium']:g}" in explanation and "anion gap" in explanation.lower()


def test_calculator_with_missing_inputs_is_an_error_in_the_page(app, sim):
    from simulator import calculators

    seed = seed_for(sim, "cardiology", 1)
    case = sim.generate(seed, pack="cardiology")
    usable = {c.id for c in calculators.applicable(case.facts())}
    missing = next(cid for cid in calculators.CALCULATORS if cid not in usable)
    at = generate(ok(app.run()), pack="cardiology", seed=seed)
    at = ok(at.selectbox(key="lab_calculator").select(missing).run())
    errors = texts(at.error)
    assert len(errors) == 1 and "cannot run on this case" in errors[0] and "missing required input" in errors[0]


def test_download_is_the_simulate_schema_with_the_label_only_when_revealed(sim):
    case = sim.generate(seed_for(sim, "endocrinology", 8), pack="endocrinology")
    name, text = case_download(case, sim.registry, reveal=False)
    assert name == f"case-endocrinology-{case.seed}.json"
    hidden = json.loads(text)
    assert "diagnosis" not in hidden and hidden == case.to_json(sim.registry)
    _, text = case_download(case, sim.registry, reveal=True)
    assert json.loads(text)["diagnosis"] == {"id": case.label, "name": case.label_name}


def test_measurement_rows_convert_the_reference_interval_to_the_shown_unit(sim):
    from simulator.validation import parse_case  # validation up to the engine: no diagnosis needed

    case = parse_case(sim, {"age": 50, "sex": "M", "measurements": {
        "creatinine": {"value": 88.4, "unit": "µmol/L"}, "sodium": 140}})
    row = next(r for r in measurement_rows(case, sim.registry) if r["id"] == "creatinine")
    var = sim.registry.variables["creatinine"]
    lo, hi = var.normal_for("M")
    assert row["unit"] == "µmol/L" and row["value"] == pytest.approx(88.4)
    shown_lo, shown_hi = (float(x) for x in row["reference interval"].split("–"))
    assert shown_lo == pytest.approx(lo * 88.4, rel=1e-2) and shown_hi == pytest.approx(hi * 88.4, rel=1e-2)
    assert row["flag"] == ("H" if 1.0 > hi else "L" if 1.0 < lo else "")


# ---- Packs ----------------------------------------------------------------------------------------

def open_packs(at: AppTest) -> AppTest:
    return ok(at.switch_page("pages/packs.py").run())


def test_packs_page_lists_every_pack_with_diagnoses_and_variables(app, sim):
    at = open_packs(ok(app.run()))
    overview = at.dataframe[0].value
    assert sorted(overview["pack"]) == sorted(sim.packs)
    name = sorted(sim.packs)[0]
    at = ok(at.selectbox(key="packs_pack").select(name).run())
    pack = sim.packs[name]
    diagnoses = at.dataframe[1].value
    assert list(diagnoses["id"]) == [d.id for d in pack.diagnoses]
    # each diagnosis opens to its criteria, differentials, management and full references
    details = {e.label: e for e in at.expander}
    for d in pack.diagnoses:
        text = details[f"{d.id} · {d.name}"].markdown[0].value
        assert criteria_markdown(sim.trees[d.id], sim.registry) in text
        assert all(sim.diagnoses[x].name in text for x in d.differentials)
        assert all(m.first_line in text for m in d.management)
        assert all(reference_text(r, pack, sim.registry) in text for r in d.references)
    variables = at.dataframe[2].value.set_index("id")
    for vid in pack.panel:
        var = sim.registry.variables[vid]
        assert variables.loc[vid, "hard limits"] == f"{var.limits[0]:g}–{var.limits[1]:g}"
        assert variables.loc[vid, "LOINC"] == (var.loinc or "")
        assert variables.loc[vid, "unit"] == display_unit(var.unit) and variables.loc[vid, "UCUM"] == var.unit
        assert variables.loc[vid, "source"] == var.ref
    assert not variables["unit"].str.contains(r"[\[\]{}]").any()  # clinical spellings, UCUM in its own column


def test_criteria_read_in_clinical_words_for_every_diagnosis(sim):
    """Every variable and finding a diagnosis's criteria use is named in the page's rendering,
    with the variable's clinical unit."""
    for dx, tree in sim.trees.items():
        text = criteria_markdown(tree, sim.registry)
        variables, findings = C.names(tree)
        for vid in variables - {"age", "sex"}:
            var = sim.registry.variables[vid]
            assert f"{var.name} " in text and display_unit(var.unit) in text, (dx, vid)
        for fid in findings:
            assert sim.registry.findings[fid].name in text, (dx, fid)
    assert condition_text(C.Cond("sex", "==", "F"), sim.registry) == "sex = female"
    assert condition_text(C.Not(C.Has("fever")), sim.registry) == "no fever"
    assert condition_text(C.Cond("potassium", ">=", 6.0), sim.registry) == "Potassium ≥ 6 mmol/L"


def test_packs_page_validation_agrees_with_the_cli(app, sim):
    at = open_packs(ok(app.run()))
    name = sorted(sim.packs)[-1]
    at = ok(at.selectbox(key="packs_pack").select(name).run())
    cli = run_cli("packs", "validate", sim.packs[name].source)
    if cli.returncode == 0:
        assert cli.stdout.strip() in texts(at.success)
    else:
        assert any((cli.stdout + cli.stderr).strip().splitlines()[-1] in e for e in texts(at.error))


def test_extra_pack_folder_is_shown_validated_and_reported(app, extra_pack_dir):
    at = ok(app.run())
    at.session_state["packs_dirs"] = str(extra_pack_dir)
    at = open_packs(at)
    assert "hematology_demo" in list(at.dataframe[0].value["pack"])
    at = ok(at.selectbox(key="packs_pack").select("hematology_demo").run())
    assert any(s.startswith("ok: hematology_demo") for s in texts(at.success))
    at.slider(key="packs_report_n").set_value(10)
    at = ok(at.button(key="packs_report_run").click().run())
    assert len(at.get("vega_lite_chart")) == 2  # quality shares and label balance
    report = at.dataframe[-1].value
    assert list(report["id"]) == ["D50.9", "D63.8"] and set(report["cases"]) == {10}
    assert ((report["acceptance"] > 0) & (report["acceptance"] <= 1)).all()
    assert report["label_share"].sum() == pytest.approx(1)


def test_a_broken_pack_is_an_error_in_the_page_with_file_and_line(app, tmp_path):
    broken = tmp_path / "broken_packs"
    broken.mkdir()
    (broken / "oops.yaml").write_text("pack: oops\ntitle: Oops\ndiagnoses:\n  - id: [unclosed\n")
    at = ok(app.run())
    at.session_state["packs_dirs"] = str(broken)
    at = open_packs(at)
    assert len(at.error) == 1 and "oops.yaml:" in at.error[0].value and "do not load" in at.error[0].value
    at.session_state["packs_dirs"] = str(tmp_path / "nowhere")
    at = ok(at.run())
    assert "does not exist" in at.error[0].value


# ---- Ask a model (without a model) ----------------------------------------------------------------

def open_ask(at: AppTest) -> AppTest:
    return ok(at.switch_page("pages/ask_model.py").run())


def test_ask_model_needs_a_case_then_shows_the_solver_prompt(app, sim):
    at = ok(app.run())
    del at.session_state["case"]  # as if the Case lab had not been opened
    at = open_ask(at)
    assert any("No current case yet" in i for i in texts(at.info))
    case = sim.generate(seed_for(sim, "endocrinology", 2), pack="endocrinology")
    from simulator.render import summary, to_lines

    at.radio(key="ask_source").set_value("Paste a case")
    at = ok(at.run())
    at = ok(at.text_area(key="ask_pasted").set_value(to_lines(case, sim.registry)).run())
    prompt = at.code[0].value  # a clinical note, free answer
    assert "Choose one" not in prompt and case.label not in prompt and sim.diagnoses[case.label].name not in prompt
    at = ok(at.radio(key="ask_shown").set_value("name: value lines").run())
    at = ok(at.radio(key="ask_format").set_value("multiple choice (4 options)").run())
    prompt = at.code[0].value
    assert summary(case, sim.registry) in prompt and case.label not in prompt
    assert prompt.count(";") >= 3  # multiple choice: the label among its differentials


def test_ask_model_rejects_a_pasted_case_with_the_reason(app):
    at = open_ask(ok(app.run()))
    at.radio(key="ask_source").set_value("Paste a case")
    at = ok(at.run())
    at = ok(at.text_area(key="ask_pasted").set_value("age: 40\nsex: F\nheart rate: 900 /min").run())
    assert at.error[0].value.startswith("The pasted case is rejected (implausible)")


def test_ask_model_with_a_missing_model_is_an_error_in_the_page(app, tmp_path):
    at = ok(app.run())  # the Case lab makes a current case
    at = open_ask(at)
    at = ok(at.text_input(key="ask_model").set_value(str(tmp_path / "no-such-model")).run())
    at = ok(at.button(key="ask_run").click().run())
    assert len(at.error) == 1 and "could not answer" in at.error[0].value and "does not exist" in at.error[0].value


# ---- Training runs (without a run) ---------------------------------------------------------------

def test_training_runs_page_without_runs_says_how_to_start_one(app, tmp_path):
    at = ok(ok(app.run()).switch_page("pages/training_runs.py").run())
    assert any("No run folder with a metrics.jsonl" in i and "azmed train" in i for i in texts(at.info))
    at = ok(at.text_input(key="runs_path").set_value(str(tmp_path)).run())
    assert texts(at.error) == [f"{tmp_path} has no metrics.jsonl: choose the folder `azmed train` wrote "
                               "(it holds config.yaml and metrics.jsonl)."]


# ---- a real two-step self-play run: Training runs and Ask a model --------------------------------

def tiny_run_overrides() -> list[str]:
    """Two steps of diagnosis tasks only, few and short generations: the run is real but small."""
    from azmed.envs.clinical import TASK_TYPES

    diagnosis = "envs.clinical.task_types.diagnosis"
    return (["trainer.steps=2", "eval.at_end=false", "run.progress=false", "run.samples_per_step=2",
             "selfplay.mc_rollouts=2", "selfplay.references=1", "selfplay.warmup.steps=0", "rollout.batch_size=8",
             "selfplay.anchor.prompts=1", "selfplay.anchor.max_tokens=4",
             f"{diagnosis}.enabled=true", f"{diagnosis}.propose=2", f"{diagnosis}.solve=2",
             f"{diagnosis}.propose_tokens=24", f"{diagnosis}.solve_tokens=8"]
            + [f"envs.clinical.task_types.{t}.enabled=false" for t in TASK_TYPES if t != "diagnosis"])


@pytest.fixture(scope="session")
def two_step_run(tmp_path_factory) -> Path:
    """A run folder made by `azmed train` for two steps of the embedded model on tiny settings.
    Made once per test session (the browser test shares it)."""
    run = tmp_path_factory.getbasetemp() / "app-runs" / "two-step"
    if not (run / "adapter" / "adapter_config.json").is_file():
        r = run_cli("train", "--env", "clinical", *tiny_run_overrides(), f"run.out_dir={run}")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return run


def chart_data(at: AppTest, title: str):
    """The data behind the chart titled `title` (its Vega-Lite dataset)."""
    from streamlit import dataframe_util

    for chart in at.get("vega_lite_chart"):
        if json.loads(chart.proto.spec).get("title") == title:
            return dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    raise AssertionError(f"no chart titled {title!r}")


@pytest.mark.slow
def test_training_runs_page_on_a_real_two_step_run(app, two_step_run):
    records = [json.loads(line) for line in (two_step_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    at = ok(app.run())
    at.session_state["runs_dir"] = str(two_step_run.parent)
    at = ok(at.switch_page("pages/training_runs.py").run())
    assert at.selectbox(key="runs_pick").value == str(two_step_run)
    assert [m.value for m in at.metric][:2] == ["finished", "2 of 2"]
    for title, role in (("Solver reward", "solve"), ("Proposer reward", "propose")):
        reward = chart_data(at, title)
        for r in records:
            row = reward[(reward["step"] == r["step"]) & (reward["series"] == "clinical/diagnosis")]
            assert row["value"].tolist() == [pytest.approx(r["groups"][f"clinical/diagnosis/{role}"]["reward"])]
    accuracy = chart_data(at, "Solver accuracy")
    assert set(accuracy["series"]) == {"clinical/diagnosis", "overall"}
    valid = chart_data(at, "Valid-proposal rate")
    assert "clinical/diagnosis" in set(valid["series"])
    rejected = sum(sum(r["groups"]["clinical/diagnosis/propose"]["rejections"].values()) for r in records)
    if rejected:
        reasons = chart_data(at, "Rejection reasons (proposals refused, all steps)")
        assert reasons["count"].sum() == rejected
    samples = [json.loads(line) for line in (two_step_run / "samples.jsonl").read_text().splitlines()]
    table = at.dataframe[-1].value
    assert len(table) == len(samples) and table["step"].tolist() == [s["step"] for s in samples[::-1]]
    assert set(table["role"]) == {"propose", "solve"}
    assert at.toggle(key=f"runs_refresh_{two_step_run}").value is False


@pytest.mark.slow
def test_training_runs_page_follows_a_run_in_progress(app, two_step_run, tmp_path):
    """A copy of the real run whose trainer (this process, for the test) is writing step 3: the
    page refreshes itself, says the run is running and skips the half-written line."""
    import os
    import shutil

    from azmed.run_status import write_status

    run = tmp_path / "runs" / "live"
    shutil.copytree(two_step_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    write_status(run, "running", pid=os.getpid(), host=socket.gethostname(), steps=3)
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 3, "groups": {"clinical/diag')
    at = ok(ok(app.run()).switch_page("pages/training_runs.py").run())
    assert at.selectbox(key="runs_pick").value == str(run)
    assert at.toggle(key=f"runs_refresh_{run}").value is True
    assert [m.value for m in at.metric][:2] == ["running", "2 of 2"]
    assert any("1 line(s) of metrics.jsonl are not complete JSON objects" in c for c in texts(at.caption))


@pytest.mark.slow
def test_ask_model_with_the_run_adapter(app, two_step_run, sim):
    """The run's adapter on the embedded model answers the Case lab's case; the page shows the raw
    answer and the clinical environment's verdict on exactly that answer."""
    from azmed.envs.clinical import ClinicalEnv

    at = ok(app.run())
    case = at.session_state["case"]
    at.session_state["runs_dir"] = str(two_step_run.parent)
    at = ok(at.switch_page("pages/ask_model.py").run())
    assert "two-step/adapter" in at.selectbox(key="ask_adapter").options
    at = ok(at.selectbox(key="ask_adapter").select("two-step/adapter").run())
    at.radio(key="ask_format").set_value("free answer")
    at = ok(at.button(key="ask_run").click().run())
    assert not at.error or all(e.value.startswith("Wrong") or e.value.startswith("Unparseable") for e in at.error)
    raw = at.code[1].value  # after the prompt
    env = ClinicalEnv(simulator=sim, choices=0)
    text, style, _ = env.maker.case_text(case, case.seed or 0)
    verdict = env.verify(env.maker.diagnosis(case, text, style, "playground"), "" if raw == "(empty)" else raw)
    shown = texts(at.success) + texts(at.error)
    assert len(shown) == 1 and verdict.why in shown[0]
    assert shown[0].startswith("Correct" if verdict.correct else "Wrong" if verdict.formatted else "Unparseable")
    assert any(m.startswith("**Parsed answer:**") for m in texts(at.markdown))


def test_pages_import_no_model_stack_until_a_model_is_asked():
    """Every page opens without importing torch, transformers or peft (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({APP!r}, default_timeout=120).run()\n"
            "for page in ('pages/packs.py', 'pages/ask_model.py', 'pages/training_runs.py', 'pages/case_lab.py'):\n"
            "    at.switch_page(page).run()\n"
            "    assert not at.exception, page\n"
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


# ---- the run-folder reader ------------------------------------------------------------------------

def test_read_jsonl_skips_a_line_being_written(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "a": 0.5}\n{"step": 2, "a": 0.7}\n{"step": 3, "a"')
    records, skipped = read_jsonl(path)
    assert [r["step"] for r in records] == [1, 2] and skipped == 1
    assert read_jsonl(path, tail=2) == ([{"step": 2, "a": 0.7}], 1)
    assert read_jsonl(tmp_path / "missing.jsonl") == ([], 0)


def test_runs_and_adapters_are_found_with_their_base_model(tmp_path):
    old, new = tmp_path / "runs" / "old", tmp_path / "runs" / "new"
    for run in (old, new):  # as the trainer writes them: the steps, then the final adapter
        (run / "adapter").mkdir(parents=True)
        (run / "metrics.jsonl").write_text('{"step": 1}\n')
        (run / "adapter" / "adapter_config.json").write_text("{}")
    (new / "config.yaml").write_text("model:\n  name: embedded\n")
    past = time.time() - 3600
    import os

    os.utime(old / "metrics.jsonl", (past, past))
    os.utime(old / "adapter" / "adapter_config.json", (past, past))
    assert find_runs(tmp_path / "runs") == [new, old]
    adapters = find_adapters(tmp_path / "runs")
    assert [(a.label, a.base_model) for a in adapters] == [("new/adapter", "embedded"), ("old/adapter", None)]
    assert find_runs(tmp_path / "nothing") == [] and find_adapters(tmp_path / "nothing") == []


def test_numeric_leaves_keep_numbers_with_their_paths():
    record = {"step": 2, "ok": True, "hist": [1, 2], "clinical": {"diagnosis": {"solve": {"accuracy": 0.5}}}}
    assert numeric_leaves(record) == [(("step",), 2.0), (("clinical", "diagnosis", "solve", "accuracy"), 0.5)]


# ---- the command ----------------------------------------------------------------------------------

def test_app_command_serves_and_stops_with_its_server(tmp_path):
    """`azmed app` serves on loopback; SIGTERM to it stops Streamlit too (the port is free again)."""
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "azmed.cli", "app", "--port", str(port), "--runs", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
                time.sleep(0.5)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0]
    assert f"AZ-Med playground on http://127.0.0.1:{port}" in output
    with socket.socket() as s:  # nothing listens any more: the Streamlit child went with it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # still refused while a listener exists
        s.bind(("127.0.0.1", port))


def test_app_command_help_and_refusals(tmp_path):
    r = run_cli("app", "--help")
    assert r.returncode == 0 and "--port" in r.stdout and "--runs" in r.stdout
    r = run_cli("app", "--packs-dir", tmp_path / "nowhere")
    assert r.returncode == 2 and "is not a folder" in r.stderr and "Traceback" not in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("app", "--port", port)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr
    r = run_cli("app", "--port", 70000)
    assert r.returncode == 2 and "between 1 and 65535" in r.stderr
