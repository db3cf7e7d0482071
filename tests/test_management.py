"""First management steps that depend on the case: every pack's steps are gradable (their text
and synonyms in any accepted form are right, a sibling step's are wrong), the step chosen for a
case follows its conditions on both sides, next-step tasks carry that step, and a bad condition
in a pack is an error naming the file, field, line and fix."""

from __future__ import annotations

import re

import pytest

from azmed.envs.clinical import ClinicalEnv
from simulator.case import Case
from simulator.errors import PackErrors
from simulator.packs import read_pack
from simulator.verify import ManagementIndex
from tests.conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def index(sim):
    return ManagementIndex(sim.diagnoses.values())


def _forms(phrase: str) -> list[str]:
    """Ways a solver writes an accepted phrase: as is, in capitals, inside a sentence, British."""
    british = re.sub(r"\bIV\b", "intravenous", phrase.replace("ize", "ise").replace("edema", "oedema"))
    return [phrase, phrase.upper(), f"The first step is to {phrase.lower()}.", f"Answer: {british}"]


def test_every_step_accepts_its_text_and_synonyms_and_refuses_its_siblings(sim, index):
    checked = 0
    for d in sim.diagnoses.values():
        for i, step in enumerate(d.management):
            for phrase in (step.first_line, *step.synonyms):
                for form in _forms(phrase):
                    v = index.grade(form, d.id, i)
                    assert v.correct, (d.id, i, form, v.why)
                    checked += 1
                for j, other in enumerate(d.management):
                    if j != i and other.first_line != step.first_line:
                        assert not index.grade(phrase, d.id, j).correct, (d.id, i, j, phrase)
    assert checked > 1000


@pytest.mark.parametrize("dx,answer,ok", [
    ("E11.10", "Start IV insulin infusion and give fluids", True),   # any order, extra words
    ("E11.10", "IV fluids, potassium and an insulin drip", True),
    ("E11.10", "IV fluids", False),                                  # half of the step
    ("E11.00", "IV fluids and insulin", False),                      # insulin is not HHS's first step
    ("R65.21", "Intravenous noradrenaline", True),                   # drug and route names unified
    ("I47.1", "vagal manoeuvres", True),                             # British spelling
    ("E22.2", "fluid restriction or hypertonic saline", False),      # hedged between two steps
    ("J18.9", "", False),
])
def test_free_text_answers(sim, index, dx, answer, ok):
    assert index.grade(answer, dx, len(sim.diagnoses[dx].management) - 1).correct is ok


def _case(sim, sex="M", age=60, findings=(), **values) -> Case:
    case = Case(age=age, sex=sex, values=dict(values), findings=list(findings))
    sim.add_derived(case)
    return case


@pytest.mark.parametrize("dx,case_args,expected", [
    # SIADH and hypovolaemic/hypervolaemic hyponatraemia: hypertonic saline only when symptomatic
    ("E22.2", {"findings": ["confusion"], "sodium": 118}, "hypertonic saline"),
    ("E22.2", {"findings": ["seizure"], "sodium": 118}, "hypertonic saline"),
    ("E22.2", {"findings": ["nausea"], "sodium": 118}, "restrict fluid intake"),
    ("E87.1", {"findings": ["confusion"], "sodium": 120}, "hypertonic saline"),
    ("E87.1", {"sodium": 120}, "isotonic saline"),
    ("E87.79", {"findings": ["seizure"], "sodium": 120}, "hypertonic saline"),
    ("E87.79", {"sodium": 120}, "restrict fluid intake"),
    # hyperkalaemia: calcium only with ECG changes, insulin-glucose from 6.0, else treat the cause
    ("E87.5", {"findings": ["peaked_t_waves"], "potassium": 5.8}, "calcium gluconate"),
    ("E87.5", {"potassium": 6.6}, "insulin with glucose"),
    ("E87.5", {"potassium": 5.8}, "stop potassium-raising drugs"),
    # DKA: insulin waits for potassium >= 3.5
    ("E11.10", {"potassium": 3.2}, "hold insulin"),
    ("E11.10", {"potassium": 3.5}, "insulin infusion"),
    # T2DM: insulin with glucose >= 300, HbA1c > 10 or symptoms; cardiorenal agents; else metformin
    ("E11.65", {"glucose": 320, "hba1c": 8.0}, "basal insulin"),
    ("E11.65", {"findings": ["polyuria"], "glucose": 250, "hba1c": 8.0}, "basal insulin"),
    ("E11.65", {"findings": ["vascular_disease"], "glucose": 250, "hba1c": 8.0}, "SGLT2 inhibitor"),
    ("E11.65", {"glucose": 250, "hba1c": 8.0}, "metformin"),
    # bacterial meningitis: ampicillin after age 50 or when immunocompromised
    ("G00.9", {"age": 51}, "ampicillin"),
    ("G00.9", {"age": 40, "findings": ["immunosuppression"]}, "ampicillin"),
    ("G00.9", {"age": 50}, "ceftriaxone plus vancomycin"),
    # instability changes the first step of arrhythmias and NSTE-ACS
    ("I48.91", {"sbp": 85}, "cardioversion"),
    ("I48.91", {"sbp": 110}, "rate"),
    ("I44.2", {"sbp": 80}, "transcutaneous pacing"),
    ("I44.2", {"sbp": 120}, "permanent pacemaker"),
    ("I21.4", {"sbp": 85}, "invasive coronary angiography"),
    ("I21.4", {"sbp": 130}, "aspirin"),
    # severe ARDS is proned; sepsis with hypoperfusion gets 30 mL/kg
    ("J80", {"pao2": 60, "fio2": 60}, "prone"),
    ("J80", {"pao2": 90, "fio2": 40}, "lung-protective"),
    ("A41.9", {"lactate": 4.2}, "30 mL/kg"),
    ("A41.9", {"lactate": 2.5}, "within one hour"),
    ("N30.00", {"sex": "M"}, "7 days"),
    ("N30.00", {"sex": "F"}, "nitrofurantoin"),
    ("E21.0", {"age": 60, "calcium": 11.6, "creatinine": 0.9}, "parathyroidectomy"),
    ("E21.0", {"age": 60, "calcium": 10.9, "creatinine": 0.9}, "monitor"),
    ("E16.2", {"findings": ["confusion"], "glucose": 40}, "IV dextrose"),
    ("E16.2", {"glucose": 45}, "oral glucose"),
])
def test_step_follows_the_case(sim, dx, case_args, expected):
    case = _case(sim, **case_args)
    _, step = sim.management_step(case, dx)
    assert expected.lower() in step.first_line.lower(), (dx, case_args, step.first_line)


def test_next_step_tasks_carry_the_step_of_their_case(sim):
    env = ClinicalEnv(task_types=("next_step",), simulator=sim)
    seen = {}
    for task in env.maker.from_seeds("next_step", range(400), "simulator"):
        dx = sim.diagnoses[task.meta["diagnosis"]]
        step = dx.management[task.meta["management"]]
        assert task.answer == step.first_line
        case = env.sim.check(task.payload["case"])
        assert sim.management_step(case, dx.id)[1] is step
        assert env.verify(task, step.first_line).correct
        assert env.verify(task, step.synonyms[0] if step.synonyms else step.first_line).correct
        for other in dx.management:
            if other.first_line != step.first_line:
                assert not env.verify(task, other.first_line).correct, (dx.id, other.first_line)
        seen.setdefault(len(dx.management) > 1, 0)
        seen[len(dx.management) > 1] += 1
    assert seen.get(True, 0) > 50  # severity-dependent steps are really asked


DEFAULT = "\n      - {first_line: y, ref: camaschella2015}"
BAD_WHEN = [
    ("{when: sodum < 120, first_line: x, ref: camaschella2015}" + DEFAULT, "unknown variable 'sodum'"),
    ("{when: hemoglobin < 7, first_line: x, ref: camaschella2015}", "the last management step has a 'when'"),
    ("{when: 'hemoglobin <', first_line: x, ref: camaschella2015}" + DEFAULT, "cannot parse"),
    ("{when: {all: [hemoglobin < 7, hemoglobin > 9]}, first_line: x, ref: camaschella2015}" + DEFAULT,
     "contradictory conditions"),
]


@pytest.mark.parametrize("entry,message", BAD_WHEN)
def test_bad_management_condition_names_file_field_line_and_fix(tmp_path, entry, message):
    text = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    text = text.replace("__NAME__", "demo").replace("__TITLE__", "Demo")
    old = re.search(r"    management:\n(      .*\n)+", text).group(0)
    text = text.replace(old, f"    management:\n      - {entry}\n", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    r = run_cli("packs", "validate", path)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "demo.yaml:" in r.stderr and "diagnoses[0].management" in r.stderr and "Fix:" in r.stderr


def test_a_step_without_when_before_the_last_is_an_error(tmp_path):
    text = (ROOT / "knowledge" / "templates" / "new_pack.yaml").read_text()
    text = text.replace("__NAME__", "demo").replace("__TITLE__", "Demo")
    old = re.search(r"    management:\n(      .*\n)+", text).group(0)
    text = text.replace(old, "    management:\n      - {first_line: a, ref: camaschella2015}\n"
                             "      - {first_line: b, ref: camaschella2015}\n")
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    with pytest.raises(PackErrors) as exc:
        from simulator.core import Simulator

        Simulator.load(extra_dirs=[path])
    msg = str(exc.value)
    assert "diagnoses[0].management[0]" in msg and "never used" in msg and "Fix:" in msg
    assert read_pack(path).diagnoses[0].management[1].first_line == "b"  # the schema itself reads it
