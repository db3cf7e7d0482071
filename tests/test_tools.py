"""The calculator-call grammar on hand-written completions: right, wrong, malformed, two calls,
no call, unknown calculator, wrong unit, missing input; execution that never runs anything but
the kit's calculators; signatures, relevance and demonstrations for every calculator.

    .venv/bin/python -m pytest tests/test_tools.py -q
"""

from __future__ import annotations

import builtins
import datetime as dt
import random

import pytest

from simulator import calculators
from simulator.calculators import answer_correct, within_tolerance
from simulator.calculators.base import Calculator
from simulator.calculators.inputs import SEX, finding, number
from simulator.case import Rejection
from simulator.notes import NoteError, render_note
from simulator.tools import (FAILURE_REASONS, CallGuide, GuideStep, OptionGuide, ToolCall, ToolFailure, ToolResult,
                             call_guide, demo_call, grade_call, input_differences, note_numbers,
                             describe_tools, execute_call, parse_call, relevant_calculators, signature)
from tests.conftest import walk_guide

AG = "anion_gap(sodium=140 mmol/L, chloride=104 mmol/L, bicarbonate=24 mmol/L)"


# ---- right and wrong answers -------------------------------------------------------------------

@pytest.mark.parametrize("text,answer", [
    (AG, 12),
    (f"The patient's anion gap: {AG}.", 12),
    (f"```\n{AG}\n```", 12),
    ("anion_gap(sodium=140, chloride=104, bicarbonate=24,)", 12),                 # units optional, trailing comma
    ("anion_gap(Na=140 mEq/L, Cl=104 mEq/L, HCO3=24 mEq/L)", 12),               # registry aliases and units
    ("AG(sodium=140, chloride=104, bicarbonate=24)", 12),                         # calculator alias
    ("ckd_epi_2021(age=60, sex=F, creatinine=106 umol/L)", 51.884),               # converted unit
    ("centor(temperature=101.3 °F, tonsillar_exudate=yes, cough=no)", 3),
    ("cha2ds2_vasc(age=76, sex=female, HTN=yes, diabetes=true, stroke_tia_history=present)", 7),
    ('gcs(gcs_eye=to sound, gcs_verbal=4, gcs_motor="obeys commands")', 13),
    ("map(sbp=120 mmHg, dbp=81 mm[Hg])", 94),
    ("child_pugh(total_bilirubin=2.5, albumin=30 g/L, inr=1.8, ascites_grade=slight)", 9),
])
def test_right_calls_compute_the_answer(text, answer):
    out = execute_call(text)
    assert isinstance(out, ToolResult), out
    assert out.answer == pytest.approx(answer, rel=1e-3)
    assert out.result.explanation and out.text().startswith(out.result.calculator)


def test_a_well_formed_call_with_wrong_values_runs_and_is_graded_wrong():
    out = execute_call("anion_gap(sodium=140, chloride=110, bicarbonate=24)")
    assert isinstance(out, ToolResult) and not within_tolerance(out.answer, 12, integer=False)


# ---- the call's inputs against the case's (envs.clinical.grade_inputs) -------------------------

OSMO = "serum_osmolality(sodium=129 mmol/L, bun=4.6 mmol/L, glucose=86 mg/dL)"  # the case's values


@pytest.mark.parametrize("call,differs", [
    (OSMO, []),
    ("serum_osmolality(glucose=4.77 mmol/L, sodium=129, bun=12.9 mg/dL)", []),      # other units, order, rounding
    ("serum_osmolality(sodium=129 mmol/L, bun=37, glucose=4.6 mmol/L)", ["bun", "glucose"]),  # values swapped
    ("serum_osmolality(sodium=130, bun=4.6 mmol/L, glucose=86)", []),                # 0.8 % off: within 1 %
    ("serum_osmolality(sodium=131, bun=4.6 mmol/L, glucose=86)", ["sodium"]),        # 1.6 % off
    ("anion_gap(sodium=129, chloride=100, bicarbonate=20)", []),                     # another calculator: not compared
    ("serum_osmolality(sodium=129 mmol/L, bun=4.6 mmol/L", []),                      # unparsed: not compared
])
def test_input_differences_name_each_input_entered_with_another_value(call, differs):
    found = input_differences(call, OSMO)
    assert [d.split("=")[0] for d in found] == differs, found
    for d in found:
        assert "the case:" in d


def test_findings_and_sex_left_out_or_invented_are_differences():
    ref = "cha2ds2_vasc(age=76, sex=F, hypertension=yes)"
    assert input_differences("cha2ds2_vasc(age=76, sex=female, HTN=yes, diabetes=no)", ref) == []
    assert input_differences("cha2ds2_vasc(age=76, sex=F)", ref) == ["hypertension left out (no; the case: yes)"]
    assert input_differences("cha2ds2_vasc(age=76, sex=F, hypertension=yes, diabetes=yes)", ref) == \
        ["diabetes=yes (yes; the case: no)"]
    assert input_differences("cha2ds2_vasc(age=76, sex=M, hypertension=yes)", ref) == ["sex=M (M; the case: F)"]


def test_a_right_result_from_misread_inputs_is_wrong_only_against_the_cases_call():
    """The step-16 sample of the main run: BUN and glucose swapped, the result 3 % off, inside the
    5 % tolerance; graded by its result it is right, against the case's call it is wrong (not a
    format failure: the call ran)."""
    misread = "serum_osmolality(sodium=129 mmol/L, bun=37, glucose=4.6 mmol/L)"
    truth = execute_call(OSMO).answer
    assert grade_call(misread, truth, "decimal").correct
    v = grade_call(misread, truth, "decimal", reference=OSMO)
    assert not v.correct and v.formatted and v.reason == "wrong-input"
    assert "bun=37" in v.why and "glucose=4.6 mmol/L" in v.why and v.parsed["call"].startswith("serum_osmolality(")
    right = grade_call("serum_osmolality(sodium=129, bun=12.9, glucose=86)", truth, "decimal", reference=OSMO)
    assert right.correct and right.reason is None
    wrong = grade_call("serum_osmolality(sodium=150, bun=12.9, glucose=86)", truth, "decimal", reference=OSMO)
    assert not wrong.correct and wrong.reason is None and "expected" in wrong.why  # a wrong result stays so


# ---- failures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,reason,fragment", [
    ("The anion gap is about 12 mmol/L.", "no-call", "no calculator call"),
    ("", "no-call", ""),
    ("eval('1 + 1')", "no-call", ""),
    ("the gap (AG) is high", "no-call", ""),
    (f"{AG} and map(sbp=120, dbp=80)", "two-calls", "2 calls"),
    (f"First {AG}, then again {AG}", "two-calls", ""),
    ("anion_gap(140, 104, 24)", "malformed", "input=value"),
    ("anion_gap(sodium=140, chloride=104, bicarbonate=24", "malformed", "not closed"),
    ("anion_gap(sodium=140, sodium=141, chloride=104, bicarbonate=24)", "malformed", "twice"),
    ("anion_gap(sodium=140, Na=141, chloride=104, bicarbonate=24)", "malformed", "twice"),
    ("anion_gap(sodium=, chloride=104, bicarbonate=24)", "malformed", "no value"),
    ("anion_gap(sodium=140,, chloride=104, bicarbonate=24)", "malformed", "empty"),
    ("anion_gap(sodium=int(140), chloride=104, bicarbonate=24)", "malformed", "brackets"),
    ("anion_gapp(sodium=140, chloride=104, bicarbonate=24)", "unknown-calculator", "anion_gap"),
    ("wells_score_for_everything(x=1)", "unknown-calculator", "no calculator named"),
    ("anion_gap(sodium=140, chloride=104, bicarb0nate=24)", "unknown-input", "bicarbonate"),
    ("anion_gap(sodium=140 mmol/L, chloride=104 mmol/L)", "missing-input", "bicarbonate"),
    ("ckd_epi_2021(age=60, creatinine=1.1)", "missing-input", "sex"),
    ("anion_gap(sodium=140 g/dL, chloride=104, bicarbonate=24)", "bad-unit", "mmol/L"),
    ("ckd_epi_2021(age=60 furlongs, sex=F, creatinine=1.1)", "bad-unit", "years"),
    ("ckd_epi_2021(age=60 months, sex=F, creatinine=1.1)", "implausible", "18-120"),  # 5 years: adults only
    ("anion_gap(sodium=14000, chloride=104, bicarbonate=24)", "implausible", "another unit"),
    ("ckd_epi_2021(age=60, sex=F, creatinine=106)", "implausible", "another unit"),  # µmol/L number, no unit
    ("anion_gap(sodium=high, chloride=104, bicarbonate=24)", "bad-value", "sodium"),
    ("centor(temperature=38.5, cough=maybe)", "bad-value", "yes or no"),
    ("ckd_epi_2021(age=60, sex=X, creatinine=1.1)", "bad-value", "male"),
    ("delta_ratio(sodium=140, chloride=104, bicarbonate=24)", "bad-value", "undefined"),
])
def test_failures_have_a_countable_reason_and_a_sentence(text, reason, fragment):
    out = execute_call(text)
    assert isinstance(out, ToolFailure) and isinstance(out, Rejection), out
    assert out.reason == reason and out.reason in FAILURE_REASONS
    assert fragment in out.detail and len(out.detail) < 400


def test_parse_call_gives_the_call_as_written():
    call = parse_call(f"Let me compute it. {AG} That is all.")
    assert isinstance(call, ToolCall) and call.name == "anion_gap" and call.text == AG
    assert call.args == (("sodium", "140 mmol/L"), ("chloride", "104 mmol/L"), ("bicarbonate", "24 mmol/L"))


# ---- nothing but the kit's calculators ever runs -----------------------------------------------

ATTACKS = [
    "os.system('touch {sentinel}')",
    "__import__('os').system('touch {sentinel}')",
    "eval(\"open('{sentinel}', 'w')\")",
    "exec(\"open('{sentinel}', 'w').write('x')\")",
    "subprocess.run(['touch', '{sentinel}'])",
    "open(file='{sentinel}', mode='w')",
    "```python\nimport os\nos.system('touch {sentinel}')\n```",
    "anion_gap(sodium=__import__('os').system('touch {sentinel}'), chloride=104, bicarbonate=24)",
    "anion_gap(sodium=\"__import__('os').system('touch {sentinel}')\", chloride=104, bicarbonate=24)",
    "print(x=open('{sentinel}', 'w'))",
    "get(name='os.system')",
    "compute(values=1)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_calls_naming_code_are_failures_and_never_run(attack, tmp_path, monkeypatch):
    sentinel = tmp_path / "ran"

    def refuse(*args, **kwargs):
        raise AssertionError("a tool call reached eval/exec/compile")

    for fn in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, fn, refuse)
    out = execute_call(attack.format(sentinel=sentinel))
    assert isinstance(out, ToolFailure) and out.reason in FAILURE_REASONS
    assert not sentinel.exists()


# ---- signatures, relevance, demonstrations -----------------------------------------------------

def test_signature_is_compact_and_names_units():
    assert signature(calculators.get("anion_gap")) == "anion_gap(sodium mmol/L, chloride mmol/L, bicarbonate mmol/L)"
    assert signature(calculators.get("map")) == "map(sbp mmHg, dbp mmHg)"
    sig = signature(calculators.get("cha2ds2_vasc"))
    assert sig.startswith("cha2ds2_vasc(age years, sex M/F, congestive_heart_failure? yes/no")
    assert "gcs_eye spontaneous|to sound|to pain|none" in signature(calculators.get("gcs"))


def test_describe_tools_keeps_to_the_budget():
    calcs = list(calculators.CALCULATORS.values())
    full = describe_tools(calcs)
    assert full.count("\n") == len(calcs) - 1
    short = describe_tools(calcs, max_chars=200)
    assert len(short) <= 200 and short and full.startswith(short)


@pytest.mark.parametrize("question,first", [
    ("What is the patient's anion gap in mmol/L?", "anion_gap"),
    ("Compute the albumin-corrected anion gap.", "albumin_corrected_anion_gap"),
    ("What is this patient's CHA2DS2-VASc score?", "cha2ds2_vasc"),
    ("Calculate the corrected QT interval with Fridericia's formula.", "qtc_fridericia"),
    ("What is her mean arterial pressure?", "map"),
    ("Estimate creatinine clearance by Cockcroft-Gault.", "cockcroft_gault"),
    ("What is the CURB-65 score?", "curb_65"),
    ("Give the MELD Na.", "meld_na"),
])
def test_relevant_calculators_by_name(question, first):
    found = relevant_calculators(question, k=4)
    assert found and found[0].id == first and len(found) <= 4
    assert relevant_calculators(question, k=4, named=True)[0].id == first


def test_named_relevance_makes_no_guess_from_shared_words():
    values = "The sodium was 140 mmol/L and glucose 300 mg/dL."
    assert relevant_calculators(values) and relevant_calculators(values, named=True) == []
    assert [c.id for c in relevant_calculators("Calculate the Anion gap from: sodium = 140", named=True)] == ["anion_gap"]


def test_relevant_calculators_returns_nothing_for_an_unrelated_question():
    assert relevant_calculators("What is the capital of France?") == []


def random_values(calc: Calculator, rng: random.Random) -> dict:
    """Inputs inside each calculator's own limits, findings and options at random."""
    from simulator.variables import registry

    values = {}
    for inp in calc.inputs:
        if inp.kind == "number":
            try:
                var = registry().get(inp.name)
                lo, hi = var.normal_for("M")
                lo, hi = lo - (hi - lo) / 2, hi + (hi - lo) / 2
                x = var.round(min(inp.high, max(inp.low, rng.uniform(lo, hi))))
            except KeyError:
                x = round(rng.uniform(max(inp.low, 18), min(inp.high, 90)))
            values[inp.name] = x
        elif inp.kind == "bool":
            values[inp.name] = rng.random() < 0.5
        elif inp.kind == "date":
            values[inp.name] = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2000, 2024)}"
        else:  # any option a clinician can score ("not testable" GCS components cannot be totalled)
            values[inp.name] = rng.choice([o for o in inp.options if o != "NT"])
    if "current_date" in values:  # gestational age: the visit follows the last period
        values["current_date"] = (calculators.get("gestational_age").input("last_menstrual_date")
                                  .coerce(values["last_menstrual_date"]) + dt.timedelta(days=rng.randint(0, 290)))
    if values.get("sex") == "M":  # the women-only items of Caprini
        values.update({n: False for n in ("estrogen_use", "pregnancy_or_postpartum", "pregnancy_loss_history")
                       if n in values})
    return values


@pytest.mark.parametrize("cid", list(calculators.CALCULATORS))
def test_demo_call_reads_back_to_the_same_answer(cid):
    calc = calculators.get(cid)
    rng = random.Random(cid)
    done = 0
    for _ in range(30):
        values = random_values(calc, rng)
        try:
            truth = calc.compute(values).answer
        except calculators.CalculatorInputError:
            continue  # e.g. a delta ratio at bicarbonate 24
        out = execute_call(demo_call(calc, values))
        assert isinstance(out, ToolResult), (demo_call(calc, values), out)
        assert answer_correct(out.answer, truth, calc.kind), (demo_call(calc, values), out.answer, truth)
        done += 1
    assert done >= 20


def test_demo_call_writes_values_in_the_notes_units(sim):
    checked = other_units = 0
    for seed in range(60):
        case = sim.generate(seed)
        try:
            note = render_note(sim, case, "admission")
        except NoteError:
            continue
        values = case.facts()
        for calc in calculators.applicable(values):
            try:
                calc.compute(values)
            except calculators.CalculatorInputError:
                continue  # e.g. a delta ratio at bicarbonate 24
            call = demo_call(calc, values, note.units)
            out = execute_call(call)
            assert isinstance(out, ToolResult), (call, out)
            assert within_tolerance(out.answer, calc.compute(values).answer, calc.integer), call
            other_units += any(u != sim.registry.variables[v].unit and f"{v}=" in call for v, u in note.units.items())
            checked += 1
    assert checked > 100 and other_units > 20


def test_any_calculator_declared_the_standard_way_works(monkeypatch):
    shock_index = Calculator(
        id="shock_index", name="Shock index", aliases=("SI", "shock index"), integer=False, unit="",
        reference="Allgower M, Burri C. Dtsch Med Wochenschr. 1967;92:1947-1950.",
        inputs=(number("heart_rate"), number("sbp"), SEX, finding("hypertension", "history of hypertension")),
        formula=lambda v: (v["heart_rate"] / v["sbp"], [f"HR / SBP = {v['heart_rate']} / {v['sbp']}"]))
    monkeypatch.setitem(calculators.CALCULATORS, "shock_index", shock_index)
    for name in ("shockindex", "si"):
        monkeypatch.setitem(calculators._NAMES, name, "shock_index")
    assert signature(shock_index) == "shock_index(heart_rate /min, sbp mmHg, sex M/F, hypertension? yes/no)"
    out = execute_call("shock_index(heart_rate=120 bpm, sbp=100 mmHg, sex=M, hypertension=no)")
    assert isinstance(out, ToolResult) and out.answer == pytest.approx(1.2)
    assert demo_call(shock_index, {"heart_rate": 120, "sbp": 100, "sex": "M"}) == \
        "shock_index(heart_rate=120/min, sbp=100 mmHg, sex=M)"
    assert relevant_calculators("What is the shock index?")[0].id == "shock_index"


# ---- the guide that keeps a call inside the grammar while it is written ------------------------

@pytest.mark.parametrize("calc_id", sorted(calculators.CALCULATORS))
def test_a_guided_call_always_parses_and_names_every_required_input(calc_id):
    """Whatever is chosen and written, a guided answer is one closed call of the listed calculator
    with each required input once (values may still be wrong: that is the model's part)."""
    import random

    calc = calculators.get(calc_id)
    guide = CallGuide([calc])
    for seed in range(5):
        rng = random.Random(seed)
        text = walk_guide(guide, lambda s: rng.choice(s.choices), lambda s: rng.choice(["7", "1.2 mg/dL", ",", ")", "12"]))
        call = parse_call(text)
        assert not isinstance(call, ToolFailure) or call.reason not in ("no-call", "two-calls", "malformed", "unknown-calculator",
                                                                        "unknown-input", "missing-input"), (text, call)
        if isinstance(call, ToolFailure):
            continue
        assert call.name == calc.id and text == call.text
        given = [k for k, _ in call.args]
        assert len(given) == len(set(given)) and {i.name for i in calc.inputs if i.required} <= set(given)


def test_guide_steps_on_hand_written_prefixes():
    g = CallGuide([calculators.get("anion_gap"), calculators.get("cha2ds2_vasc")])
    assert g.next("") == GuideStep("choose", choices=("anion_gap", "cha2ds2_vasc"))
    assert g.next("anion_gap") == GuideStep("force", "(")
    assert g.next("anion_gap(") == GuideStep("choose", choices=("bicarbonate", "chloride", "sodium"))
    assert g.next("anion_gap(chl") == GuideStep("choose", choices=("oride",))
    assert g.next("anion_gap(chloride") == GuideStep("force", "=")
    assert g.next("anion_gap(chloride=104") == GuideStep("free")
    assert g.next("anion_gap(chloride=104,") == GuideStep("choose", choices=(" bicarbonate", " sodium"))
    # a value ends at ',' ')' a newline or the end; ',' follows while a required input is missing
    assert g.check("anion_gap(chloride=104", " mmol") is None
    assert g.check("anion_gap(chloride=104", ")") == ","
    assert g.check("anion_gap(chloride=104", "", end=True) == ","
    assert g.check("anion_gap(chloride=", ",") == g.check("anion_gap(chloride= ", "", end=True) == ""  # not empty
    assert g.check("anion_gap(chloride=104, sodium=140, bicarbonate=2", "4\n") == "4)"
    assert g.check("anion_gap(chloride=104, sodium=140, bicarbonate=2", "4 mmol/L is") is None
    assert g.check("anion_gap(chloride=104, sodium=140, bicarbonate=", "2" * 30) == "2" * 30 + ")"
    assert g.next("anion_gap(chloride=104, sodium=140, bicarbonate=24)").kind == "stop"
    # findings, sex and graded inputs are chosen among their words; optional inputs may close the call
    assert g.next("cha2ds2_vasc(age=70, sex=") == GuideStep("choose", choices=("F", "M"))
    assert g.next("cha2ds2_vasc(age=70, sex=F") == GuideStep("choose", choices=(")", ","))
    assert g.next("cha2ds2_vasc(sex=F, hypertension=") == GuideStep("choose", choices=("no", "yes"))
    assert g.next("cha2ds2_vasc(sex=F, hypertension=yes") == GuideStep("force", ",")  # age is still missing
    assert g.check("cha2ds2_vasc(sex=F, age=70", ", diab") == ","
    heart = CallGuide([calculators.get("heart_score")])
    assert "slightly suspicious" in heart.next("heart_score(history_suspicion=").choices


NOTE = "BP 145/90 mmHg, HR 88/min. Na 141 mEq/L, Cl 104 mmol/L, HCO3 24; creatinine 106 \u00b5mol/L; a 42-year-old"


def test_with_a_note_a_calls_numbers_are_copied_from_it():
    """`guided_values`: a number is chosen among the note's that the input reads as plausible,
    alone or with the unit the note writes after it; a unit the input does not read, or an
    implausible value, is not offered; with no plausible number the value is written freely."""
    assert note_numbers(NOTE) == ["145", "90", "90 mmHg", "88", "141", "141 mEq/L", "104", "104 mmol/L", "24",
                                  "106", "106 \u00b5mol/L", "42"]
    g = CallGuide([calculators.get("anion_gap"), calculators.get("map")], note=NOTE)
    sodium = g.next("anion_gap(sodium=")
    assert sodium.kind == "choose" and {"141", "141 mEq/L", "104 mmol/L"} <= set(sodium.choices)
    assert "24" not in sodium.choices and "42" not in sodium.choices and "106 \u00b5mol/L" not in sodium.choices
    assert g.next("anion_gap(sodium=141") == GuideStep("choose", choices=(" mEq/L", ","))  # the unit, or on
    sbp = g.next("map(sbp=").choices
    assert {"145", "90", "90 mmHg"} <= set(sbp) and "141 mEq/L" not in sbp
    assert CallGuide([calculators.get("bmi")], note="no numbers at all").next("bmi(weight=").kind == "free"
    # a demonstration is rewritten as the guide lets a model write it: the note's numbers, same values
    demo = "anion_gap(sodium=141 mmol/L, chloride=104 mmol/L, bicarbonate=24 mmol/L)"
    assert g.copied(demo) == "anion_gap(sodium=141 mEq/L, chloride=104 mmol/L, bicarbonate=24)"
    assert execute_call(g.copied(demo)).answer == execute_call(demo).answer
    assert CallGuide([calculators.get("map")]).copied("map(sbp=120, dbp=80)") == "map(sbp=120, dbp=80)"  # no note
    # whatever is chosen, every number of the call is one the note wrote
    import random

    for seed in range(20):
        rng = random.Random(seed)
        text = walk_guide(g, lambda s: rng.choice(s.choices))
        call = parse_call(text)
        assert not isinstance(call, ToolFailure), text
        assert all(v.split()[0] in note_numbers(NOTE) for _, v in call.args), text


def test_call_guide_lists_the_prompts_calculators():
    assert list(call_guide("What is the patient's CHA2DS2-VASc score?").calcs) == \
        [c.id for c in relevant_calculators("What is the patient's CHA2DS2-VASc score?", k=3)]
    assert len(call_guide("What is the answer?").calcs) == len(calculators.CALCULATORS)  # nothing listed: any


def test_a_multiple_choice_diagnosis_is_answered_with_one_whole_option():
    """With `choices`, the solver writes one of the task's options (`OptionGuide`), whichever
    pieces it takes; the answer is graded like any other, and free text stays unguided."""
    from azmed.envs.clinical import ClinicalEnv

    env = ClinicalEnv(choices=4)
    tasks = env.sample_tasks("diagnosis", 6, random.Random(3))
    for i, task in enumerate(tasks):
        guide = env.solve_guide(task)
        assert isinstance(guide, OptionGuide) and list(guide.options) == task.payload["options"]
        rng = random.Random(i)
        answer = walk_guide(guide, lambda step: rng.choice(step.choices[:1] + tuple(c[:2] for c in step.choices)))
        assert answer in task.payload["options"]
        assert env.verify(task, answer).correct == (answer == env.sim.diagnoses[task.answer].name)
        assert walk_guide(guide, lambda step: min(step.choices, key=len) if not step.end else None) in guide.options
    assert ClinicalEnv(choices=4, guided_options=False).solve_guide(tasks[0]) is None
    assert ClinicalEnv().solve_guide(ClinicalEnv().sample_tasks("diagnosis", 1, random.Random(3))[0]) is None
