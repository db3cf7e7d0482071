"""How calculator inputs are written and read: the registry extension's names, its units, the
prescription, date and question readers, the sections every note style gives them, and the errors
a malformed vignette spec gets."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from simulator import calculators
from simulator.calculators.inputs import to_canonical
from simulator.errors import PackErrors
from simulator.notes import STYLES
from simulator.notes.lexicon import lexicon
from simulator.vignettes import calculator_case, read_inputs, render_vignette
from simulator.vignettes.kit import Kit
from simulator.vignettes.reading import read_dates, read_prescriptions, read_question
from simulator.vignettes.schema import SPEC_DIR, check_spec, load_spec


@pytest.fixture(scope="module")
def kit(sim):
    return Kit.of(sim)


def test_every_added_finding_and_variable_has_its_own_names_and_names_no_diagnosis(kit):
    extra, _ = load_spec()
    lex = lexicon(kit.sim)
    for fid, finding in extra.findings.items():
        phrases = lex.finding_phrases(fid)
        assert phrases, f"{fid}: every name of it names a diagnosis"
        for name in [finding.name, *finding.aliases]:  # none is taken by another finding or variable
            assert lex.resolve(name) == fid, (fid, name, lex.resolve(name))
    for vid, var in extra.variables.items():
        for name in [var.name, *var.aliases]:
            assert lex.resolve(name) == vid, (vid, name, lex.resolve(name))
            assert not lex.leaks(name)


def test_added_units_convert_as_the_calculators_do(kit):
    """A note in mmol/L and a call in mmol/L must mean the same cholesterol."""
    extra, _ = load_spec()
    for vid, var in extra.variables.items():
        inputs = [i for c in calculators.CALCULATORS.values() for i in c.inputs if i.name == vid and i.kind == "number"]
        for inp in inputs[:1]:
            for unit in var.units:
                assert to_canonical(inp, 10.0, unit) == pytest.approx(kit.sim.registry.variables[vid].to_canonical(10.0, unit)), \
                    (vid, unit)


def test_prescriptions_are_read_with_dose_route_and_frequency(kit):
    drugs = list(kit.spec.drugs)
    text = ("Meds: OxyContin 20 mg PO q12h, tramadol 50 milligrams tds, transdermal fentanyl 25 mcg/h, "
            "buccal fentanyl 200 micrograms BID, dexamethasone 4 mg IV every 6 hours and methylprednisolone 16 mg "
            "by mouth daily.")
    got = read_prescriptions(kit, drugs, text)
    assert ("oxycodone", 20.0, 2) in got and ("tramadol", 50.0, 3) in got
    assert ("fentanyl_patch", 25.0, None) in got and ("fentanyl_buccal", 200.0, 2) in got
    assert ("dexamethasone_iv", 4.0, 4) in got and ("methylprednisolone_po", 16.0, 1) in got
    # a name shared by two drugs with no route is not guessed
    assert read_prescriptions(kit, drugs, "dexamethasone 4 mg daily") == []


def test_mme_and_steroid_inputs_from_a_hand_written_note(sim):
    note = "62M with chronic low back pain. Meds: morphine sulfate 30 mg every 12 hours and oxycodone 5 mg q6h."
    assert read_inputs(sim, "mme", note) == {"morphine_dose": 30.0, "morphine_doses_per_day": 2,
                                             "oxycodone_dose": 5.0, "oxycodone_doses_per_day": 4}
    q = "What is the patient's steroid dose converted to the equivalent dose of dexamethasone IV in mg?"
    got = read_inputs(sim, "steroid_conversion", "Takes prednisone 40 mg orally once daily.", q)
    assert got == {"input_steroid": "prednisone_po", "steroid_dose": 40.0, "target_steroid": "dexamethasone_iv"}
    assert calculators.evaluate("steroid_conversion", got).answer == 6.0


def test_dates_are_read_after_their_label_in_any_common_form(kit):
    calc = calculators.get("due_date")
    for text in ("LMP 02/14/2024.", "Last menstrual period: 14 February 2024", "her LMP was February 14, 2024",
                 "First day of her last period on 2024-02-14."):
        assert read_dates(kit, calc, f"Seen 03/01/2024. {text}") == {"last_menstrual_date": dt.date(2024, 2, 14)}, text
    assert read_dates(kit, calc, "Seen 03/01/2024 for a booking visit.") == {}


def test_question_inputs_are_read_from_the_question(kit):
    calc = calculators.get("gestational_age")
    q = "What is the patient's gestational age on 05/23/2024, in weeks and days?"
    assert read_question(kit, calc, q) == {"current_date": dt.date(2024, 5, 23)}
    calc = calculators.get("target_weight")
    assert read_question(kit, calc, "What is the patient's target weight for a BMI of 22 kg/m2 in kg?") == \
        {"target_bmi": 22.0}


def test_each_style_writes_the_sections_a_vignette_needs(sim):
    mme = calculator_case(sim, "mme", 3)
    heart = next(c for c in (calculator_case(sim, "heart_score", s) for s in range(20)))
    lmp = calculator_case(sim, "due_date", 2)
    for style in STYLES:
        text = render_vignette(sim, mme, style=style).text
        drug = next(k for k in mme.inputs if k.endswith("_dose") or k == "fentanyl_patch_rate")
        assert read_inputs(sim, "mme", text)[drug] == mme.inputs[drug], (style, text)
        text = render_vignette(sim, heart, style=style).text
        assert read_inputs(sim, "heart_score", text)["history_suspicion"] == heart.inputs["history_suspicion"], text
        text = render_vignette(sim, lmp, style=style).text
        assert read_inputs(sim, "due_date", text)["last_menstrual_date"] == lmp.inputs["last_menstrual_date"], text


def test_a_feverpain_onset_item_keeps_the_written_duration_consistent(sim):
    import re

    for seed in range(40):
        cc = calculator_case(sim, "feverpain", seed)
        text = render_vignette(sim, cc, style="admission").text
        m = re.search(r"presents with (\d+ (?:hours|days?)|a week|2 weeks) of", text)
        if not m:
            continue
        days = {"a week": 7, "2 weeks": 14}.get(m.group(1)) or float(m.group(1).split()[0]) / (
            24 if "hour" in m.group(1) else 1)
        assert (days <= 3) == cc.inputs["rapid_attendance"], text


def copy_spec(tmp_path):
    for f in ("inputs.yaml", "vignettes.yaml"):
        shutil.copy(SPEC_DIR / f, tmp_path / f)
    return tmp_path


def test_a_spec_with_a_mistake_names_the_field_and_the_fix(tmp_path, kit):
    d = copy_spec(tmp_path)
    text = (d / "vignettes.yaml").read_text()
    text = text.replace("ascites_grade: {options: {2: slight_ascites,", "ascites_grade: {options: {2: slightly_ascitic,")
    text = text.replace("  sofa:\n", "  sofa_renamed:\n")
    text = text.replace('troponin_level: {expr: "0 if hs_troponin_i', 'troponin_level: {expr: "0 if hs_troponin')
    (d / "vignettes.yaml").write_text(text)
    load_spec.cache_clear()
    try:
        _, spec = load_spec(str(d))
        with pytest.raises(PackErrors) as err:
            check_spec(spec, kit.sim.registry, str(d / "vignettes.yaml"))
    finally:
        load_spec.cache_clear()
    message = str(err.value)
    assert "wording.ascites_grade.options.2: unknown finding 'slightly_ascitic'" in message
    assert "no vignette spec for sofa" in message and "'sofa_renamed' is not a calculator id" in message
    assert "troponin_level.expr: unknown name(s) hs_troponin" in message
    assert "Fix:" in message


def test_a_malformed_spec_file_names_the_line(tmp_path):
    d = copy_spec(tmp_path)
    (d / "vignettes.yaml").write_text((d / "vignettes.yaml").read_text().replace("  bmi: &body\n", "  bmi: &body\n   x: [\n"))
    load_spec.cache_clear()
    try:
        with pytest.raises(Exception) as err:
            load_spec(str(d))
    finally:
        load_spec.cache_clear()
    assert "vignettes.yaml" in str(err.value) and "YAML" in str(err.value)
