"""Calculator vignettes: every calculator of the kit gets plausible patients whose notes state all its
inputs, with the answer from the calculator itself, a question and a demonstration call.

For each of the 58 calculators and 50 seeds (12 in the quick suite, 50 in the full one): the case
is made without error, its answer is the calculator's on exactly the inputs, the note (style drawn
from the seed, all five styles appear) reads back to the same inputs, names neither the calculator
nor its quantity, and the demonstration call executes to the truth; the same seed gives the same
case and note; score answers spread.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest

from simulator import calculators, tools
from simulator.calculators.base import answer_correct
from simulator.notes import STYLES, scan
from simulator.notes.lexicon import lexicon
from simulator.vignettes import answer_leaks, calculator_case, demonstration, read_inputs, render_vignette
from simulator.vignettes.kit import Kit
from tests.conftest import run_cli

QUICK_SEEDS, FULL_SEEDS = range(12), range(50)


@pytest.fixture(scope="module")
def kit(sim):
    return Kit.of(sim)


def test_every_calculator_has_a_spec_and_the_spec_checks(kit):
    assert set(kit.spec.calculators) == set(calculators.CALCULATORS)
    assert len(calculators.CALCULATORS) == 58


@pytest.mark.parametrize("cid", list(calculators.CALCULATORS))
def test_every_calculator_makes_vignettes_that_read_back(sim, kit, cid):
    check_vignettes(sim, kit, cid, QUICK_SEEDS, min_integer=2, min_other=6)


@pytest.mark.slow
@pytest.mark.parametrize("cid", list(calculators.CALCULATORS))
def test_every_calculator_over_fifty_seeds(sim, kit, cid):
    check_vignettes(sim, kit, cid, FULL_SEEDS, min_integer=3, min_other=10)
    if kit.settings(cid):  # some patients come from a pack case of a fitting diagnosis, not all
        settings = sum(calculator_case(sim, cid, s).setting is not None for s in FULL_SEEDS)
        assert 0 < settings < len(FULL_SEEDS)


def check_vignettes(sim, kit, cid, seeds, min_integer, min_other):
    calc = calculators.get(cid)
    answers, styles = [], collections.Counter()
    for seed in seeds:
        cc = calculator_case(sim, cid, seed)
        # the truth is the calculator's, on exactly what the note states
        assert cc.result == calc.compute(cc.inputs)
        assert cc.question.startswith("What is the patient's ")
        note = render_vignette(sim, cc)
        styles[note.style] += 1
        got = read_inputs(sim, cid, note.text, cc.question)
        assert calc.validate(got) == calc.validate(cc.inputs), (seed, note.text)
        assert answer_correct(calc.compute(got).answer, cc.answer, calc.kind)
        # no leak: neither the calculator, nor its quantity, nor a value standing for the answer
        assert answer_leaks(kit, cid, note.text) == [], (seed, note.text)
        hidden = set(kit.spec.calculators[cid].hide)
        assert not hidden & set(scan(lexicon(kit.sim), note.text).values), (seed, note.text)
        # the demonstration: a call in the note's units that executes to the truth
        call = demonstration(sim, cc, note)
        out = tools.execute_call(call)
        assert isinstance(out, tools.ToolResult) and answer_correct(out.answer, cc.answer, calc.kind), (call, out)
        # plausible: the registry's constraints and physiology hold
        assert kit.sim.constraint_failure(cc.case) is None
        answers.append(cc.answer)
    assert len(styles) >= min(len(STYLES), 3), styles
    distinct = len(set(map(str, answers)))
    assert distinct >= (min_integer if calc.kind == "integer" else min_other), (cid, collections.Counter(answers))


def test_same_seed_same_case_and_note(sim):
    for cid in ("mme", "gcs", "apache_ii", "gestational_age"):
        a, b = calculator_case(sim, cid, 7), calculator_case(sim, cid, 7)
        assert a.inputs == b.inputs and a.question == b.question and a.case.values == b.case.values
        assert render_vignette(sim, a).text == render_vignette(sim, b).text
        assert calculator_case(sim, cid, 8).inputs != a.inputs or calculator_case(sim, cid, 9).inputs != a.inputs


def test_vignettes_do_not_depend_on_the_hash_seed():
    cmd = [sys.executable, "-m", "azmed.cli", "simulate", "--calculator", "caprini", "--n", "4", "--format", "note",
           "--reveal"]
    outs = {subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": h}).stdout
            for h in ("1", "2")}
    assert len(outs) == 1 and outs.pop().count("# call: caprini(") == 4


def test_pack_cases_keep_their_values_and_gain_the_missing_inputs(sim):
    made = [calculator_case(sim, "curb_65", s) for s in range(40)]
    from_pack = [c for c in made if c.setting]
    assert from_pack and all(c.setting == "J18.9" for c in from_pack)
    for c in from_pack:   # pneumonia cases have no BUN in their pack's panel: the vignette adds it
        assert "bun" in c.case.values and "resp_rate" in c.case.values


def test_absorbed_pack_findings_become_the_calculators_items(sim):
    seen = 0
    for seed in range(80):
        cc = calculator_case(sim, "has_bled", seed)
        assert "stroke_tia_history" not in cc.case.findings  # HAS-BLED asks for a stroke, not 'stroke or TIA'
        seen += cc.inputs["stroke_history"]
    assert seen > 0


def test_a_question_input_is_in_the_question_not_the_note(sim):
    for seed in range(10):
        cc = calculator_case(sim, "steroid_conversion", seed)
        target = calculators.get("steroid_conversion").input("target_steroid").options[cc.inputs["target_steroid"]]
        assert target in cc.question and cc.inputs["target_steroid"] != cc.inputs["input_steroid"]
        cc = calculator_case(sim, "gestational_age", seed)
        assert cc.inputs["current_date"].strftime("%m/%d/%Y") in cc.question
        assert cc.inputs["current_date"].strftime("%m/%d/%Y") not in render_vignette(sim, cc).text


def test_denials_that_an_item_needs_are_written(sim):
    denied = 0
    for seed in range(30):
        cc = calculator_case(sim, "feverpain", seed)
        note = render_vignette(sim, cc)
        facts = scan(lexicon(Kit.of(sim).sim), note.text)
        if cc.inputs["no_cough_or_coryza"]:
            assert {"cough", "coryza"} <= set(facts.negated), note.text
            denied += 1
        else:
            assert {"cough", "coryza"} & set(facts.present)
    assert denied > 0


def test_answer_leaks_are_found(kit):
    assert "CHA2DS2-VASc" in answer_leaks(kit, "cha2ds2_vasc", "Her CHA2DS2-VASc score is 4.")
    assert answer_leaks(kit, "gcs", "O/E: GCS 13, eyes open to voice.") == ["GCS"]
    assert answer_leaks(kit, "map", "MAP 93 mmHg") == ["MAP"]
    assert answer_leaks(kit, "serum_osmolality", "Urine osmolality 400 mOsm/kg.") == []
    assert answer_leaks(kit, "heart_score", "Heart rate 80, heart sounds normal.") == []


def test_cli_writes_vignettes_as_notes_and_json():
    note = run_cli("simulate", "--calculator", "MME", "--n", "2", "--seed", "3", "--format", "note", "--reveal")
    assert note.returncode == 0, note.stderr
    assert note.stdout.count("# seed=") == 2 and note.stdout.count("Question: What is the patient's") == 2
    assert "# answer: " in note.stdout and "# call: mme(" in note.stdout
    js = run_cli("simulate", "--calculator", "25", "--n", "1", "--reveal")  # a MedCalc-Bench Calculator ID
    assert js.returncode == 0 and '"calculator": "has_bled"' in js.stdout and '"call": "has_bled(' in js.stdout


def test_cli_reveals_nothing_unless_asked_and_refuses_what_does_not_apply(capsys):
    from azmed.cli import main

    assert main(["simulate", "--calculator", "mme", "--n", "2", "--seed", "3", "--format", "note"]) == 0
    plain = capsys.readouterr().out
    assert "Question: " in plain and "# answer" not in plain and "# call" not in plain
    assert main(["simulate", "--calculator", "has_bled", "--n", "1"]) == 0
    quiet = capsys.readouterr().out
    assert '"answer"' not in quiet and '"inputs"' not in quiet and '"question"' in quiet
    assert main(["simulate", "--calculator", "nope", "--n", "1"]) == 2
    assert "no calculator named 'nope'" in capsys.readouterr().err
    assert main(["simulate", "--calculator", "bmi", "--format", "lines"]) == 2
    assert "--format note or json" in capsys.readouterr().err
    assert main(["simulate", "--calculator", "bmi", "--pack", "cardiology"]) == 2
