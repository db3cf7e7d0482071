"""The clinical environment as the main run uses it: cases read as notes, free-text diagnoses,
calculations answered with a calculator call that the environment executes, next steps that
follow the case, proposals written as case specifications, and the environment's own
demonstrations."""

from __future__ import annotations

import random

import pytest

from azmed.envs.base import Rejection, Task
from azmed.envs.clinical import ClinicalEnv
from simulator import calculators

SPEC_TYPES = ("diagnosis", "calculation", "next_step")


@pytest.fixture(scope="module")
def env(sim):
    return ClinicalEnv(simulator=sim, seed_tasks_per_type=6, task_types=SPEC_TYPES)


@pytest.mark.parametrize("task_type", SPEC_TYPES)
def test_seed_tasks_are_notes_made_from_specifications(env, task_type):
    tasks = env.seed_tasks(task_type)
    assert len(tasks) == 6 and len({t.key for t in tasks}) == 6
    for task in tasks:
        assert task.meta["source"] == "seed" and task.meta["spec"]
        assert task.payload["format"] == "note" and task.payload["style"]
        prompt = env.solve_prompt(task)
        assert task.payload["text"].strip() in prompt
        if task_type == "diagnosis":
            dx = env.sim.diagnoses[task.answer]
            assert dx.id not in prompt and "Choose one" not in prompt
        if task_type == "next_step":
            assert task.answer not in prompt
        demo = env.demonstration(task)
        assert env.verify(task, demo).correct, (task_type, demo, env.verify(task, demo))
        assert not env.verify(task, "banana").correct


def test_a_calculation_is_answered_with_a_call_the_environment_runs(env):
    task = env.seed_tasks("calculation")[0]
    prompt = env.solve_prompt(task)
    assert task.payload["tools"] and "Calculators:" in prompt and task.payload["question"] in prompt
    demo = env.demonstration(task)
    assert demo.startswith(task.payload["calculator"] + "(")
    right = env.verify(task, f"I will compute it. {demo}")
    assert right.correct and right.parsed["call"] == demo
    for text, reason in [("The value is 12.", "no-call"), (f"{demo} {demo}", "two-calls"),
                         ("not_a_calculator(x=1)", "unknown-calculator"), (f"{task.payload['calculator']}(", "malformed")]:
        v = env.verify(task, text)
        assert not v.correct and not v.formatted and v.reason == reason, (text, v)


def test_settings_ask_the_same_calculation_two_ways(env):
    task = env.seed_tasks("calculation")[1]
    direct = env.in_setting(task, "direct")
    assert not direct.payload["tools"] and direct.key != task.key and direct.answer == task.answer
    assert "Calculators:" not in env.solve_prompt(direct)
    assert env.verify(direct, env.demonstration(direct)).correct  # the value written out
    assert env.in_setting(direct, "tools").payload["tools"]
    diag = env.seed_tasks("diagnosis")[0]
    assert env.in_setting(diag, "tools") is diag
    with pytest.raises(ValueError):
        env.in_setting(task, "oracle")


def test_specification_proposals_become_tasks_labelled_by_the_engine(env):
    rng = random.Random(5)
    refs = env.seed_tasks("diagnosis")[:2]
    prompt = env.propose_prompt("diagnosis", refs, rng)
    assert "Write a case specification" in prompt and refs[0].meta["spec"] in prompt
    text = "diagnosis: diabetic ketoacidosis\nseverity: severe\nage: 33\nsex: F\ntwist: style triage"
    task = env.validate("diagnosis", text, refs)
    assert isinstance(task, Task), task
    assert task.meta["source"] == "proposed" and task.answer in env.sim.diagnoses
    assert task.payload["style"] == "triage"
    again = env.validate("diagnosis", "Diagnosis: DKA\nAge: 33\nSex: F\nSeverity: severe\nTwist: style triage", refs)
    assert isinstance(again, Rejection) and again.reason == "duplicate"
    for bad, reason in [("diagnosis: dragon pox", "unknown-diagnosis"), ("hello there", "spec-parse"),
                        ("diagnosis: DKA\ntwist: juggle glucose", "unknown-twist")]:
        r = env.validate("diagnosis", bad, refs)
        assert isinstance(r, Rejection) and r.reason == reason, (bad, r)
    r = env.validate("diagnosis", "calculator: anion_gap", refs)
    assert isinstance(r, Rejection) and r.reason == "schema"
    r = env.validate("calculation", "diagnosis: sepsis", refs)
    assert isinstance(r, Rejection) and r.reason == "schema"


def test_calculation_specifications_reach_every_calculator(sim):
    env = ClinicalEnv(simulator=sim, task_types=["calculation"])  # nothing proposed or seeded yet
    made = {}
    for i, calc in enumerate(sorted(calculators.CALCULATORS)):
        task = env.validate("calculation", f"calculator: {calc}\ntwist: style referral")
        assert isinstance(task, Task), (calc, task)
        assert task.payload["calculator"] == calc
        assert env.verify(task, env.demonstration(task)).correct, calc
        made[calc] = task
    assert len(made) == len(calculators.CALCULATORS)


def test_proposal_demonstrations_are_valid_specifications(env):
    rng = random.Random(11)
    for task_type in SPEC_TYPES:
        ok = 0
        for _ in range(10):
            text = env.proposal_demonstration(task_type, rng)
            ok += isinstance(env.validate(task_type, text), Task)
        assert ok >= 9, (task_type, ok)


def test_heldout_calculations_cycle_through_every_calculator(env):
    n = 2 * len(calculators.CALCULATORS)
    tasks = env.heldout_tasks(n, task_types=("calculation",))
    assert len(tasks) == n
    assert {t.payload["calculator"] for t in tasks} == set(calculators.CALCULATORS)
    assert [t.key for t in tasks] == [t.key for t in env.heldout_tasks(n, task_types=("calculation",))]
    assert all(t.meta["source"] == "heldout" for t in tasks)
    train = env.sample_tasks("calculation", 20, random.Random(0))
    assert all(t.meta["source"] == "simulator" for t in train)
    assert not {t.key for t in tasks} & {t.key for t in train}


def test_shares_of_direct_calculations_and_free_text_diagnoses(sim):
    """`direct_share` / `free_text_share`: a fixed share of the tasks is asked the other way (a
    number instead of a call, a name with no options), each task always the same way, and the
    environment's demonstration answers it as asked."""
    mixed = ClinicalEnv(simulator=sim, task_types=list(SPEC_TYPES), choices=4, direct_share=0.5,
                        free_text_share=0.5)
    rng = random.Random(3)
    calcs = mixed.sample_tasks("calculation", 40, rng)
    direct = [t for t in calcs if not t.payload["tools"]]
    assert 8 <= len(direct) <= 32
    for task in calcs:
        prompt, demo = mixed.solve_prompt(task), mixed.demonstration(task)
        assert ("Calculators:" in prompt) == task.payload["tools"]
        assert mixed.verify(task, demo).correct, (task.payload["tools"], demo)
        if not task.payload["tools"]:
            assert "(" not in demo
    diagnoses = mixed.sample_tasks("diagnosis", 40, rng)
    free = [t for t in diagnoses if "options" not in t.payload]
    assert 8 <= len(free) <= 32
    for task in diagnoses:
        assert ("Choose one" in mixed.solve_prompt(task)) == ("options" in task.payload)
        assert (mixed.solve_guide(task) is None) == ("options" not in task.payload)
        assert mixed.verify(task, mixed.demonstration(task)).correct
    again = ClinicalEnv(simulator=sim, task_types=list(SPEC_TYPES), choices=4, direct_share=0.5, free_text_share=0.5)
    rng = random.Random(3)
    assert [t.payload["tools"] for t in again.sample_tasks("calculation", 40, rng)] == [t.payload["tools"] for t in calcs]
    # the default asks every calculation with tools and every diagnosis with options
    plain = ClinicalEnv(simulator=sim, task_types=list(SPEC_TYPES), choices=4)
    rng = random.Random(3)
    assert all(t.payload["tools"] for t in plain.sample_tasks("calculation", 10, rng))
    assert all("options" in t.payload for t in plain.sample_tasks("diagnosis", 10, rng))


def _written_through(guide, demo: str) -> str:
    """`demo` written through `guide`, taking at each choice the longest piece the demo goes on
    with (a free value: the demo's text up to its ',' or ')'); stops where the guide cannot follow."""
    text = ""
    while True:
        step = guide.next(text)
        rest = demo[len(text):]
        if step.kind == "stop":
            return text
        if step.kind == "force":
            piece = step.text if rest.startswith(step.text) else None
        elif step.kind == "choose":
            piece = max((c for c in step.choices if rest.startswith(c)), key=len, default=None)
        else:
            cut = min((i for i in (rest.find(","), rest.find(")")) if i > 0), default=len(rest))
            piece = rest[:cut]
        if not piece:
            return text
        text += piece


def test_guided_values_demonstrations_copy_the_notes_numbers(sim):
    """With `guided_values`, a call's numbers are the note's (or the question's), and a tool task's
    demonstration is written as the guide lets the solver write it: the same call, right."""
    copying = ClinicalEnv(simulator=sim, task_types=["calculation"], tools=["calculation"], guided_values=True)
    tasks = copying.sample_tasks("calculation", 60, random.Random(5))
    inside = 0
    for task in tasks:
        demo, guide = copying.demonstration(task), copying.solve_guide(task)
        assert guide.numbers and copying.verify(task, demo).correct, demo
        inside += _written_through(guide, demo) == demo
    assert inside >= 0.9 * len(tasks), inside
    plain = ClinicalEnv(simulator=sim, task_types=["calculation"], tools=["calculation"])
    assert plain.solve_guide(tasks[0]).numbers is None


def test_next_step_choices_offer_the_cases_step_and_steps_wrong_for_it(sim):
    """`step_choices`: a next-step task offers its case's first step among first steps of other
    diagnoses, each graded wrong for the case; the solver picks one whole option."""
    mc = ClinicalEnv(simulator=sim, task_types=["next_step"], step_choices=4)
    tasks = mc.sample_tasks("next_step", 30, random.Random(2))
    for task in tasks:
        options = task.payload["options"]
        assert len(options) == len(set(options)) == 4 and task.answer in options
        assert [o for o in options if mc.verify(task, o).correct] == [task.answer]
        assert "Choose one: " + "; ".join(options) in mc.solve_prompt(task)
        assert mc.solve_guide(task).options == tuple(options)
        assert mc.verify(task, mc.demonstration(task)).correct
    assert len({tuple(t.payload["options"]).index(t.answer) for t in tasks}) > 1  # not always first
    again = ClinicalEnv(simulator=sim, task_types=["next_step"], step_choices=4)
    assert [t.payload["options"] for t in again.sample_tasks("next_step", 30, random.Random(2))] == \
        [t.payload["options"] for t in tasks]
    free = ClinicalEnv(simulator=sim, task_types=["next_step"]).sample_tasks("next_step", 3, random.Random(2))
    assert all("options" not in t.payload for t in free)


def test_least_proposed_listing_shows_the_names_proposed_least(sim):
    """`spec_listing: least_proposed`: a diagnosis proposed (validly) is not listed again in later
    proposer prompts while others were proposed less; calculators likewise; 'uniform' ignores the
    counts."""
    from simulator.spec.vocabulary import listed_names

    def listed(env, task_type, name, n=150):
        rng = random.Random(5)
        return sum(name in listed_names(env.propose_prompt(task_type, [], rng), SPEC_KIND[task_type]) for _ in range(n))

    from azmed.envs.clinical.config import SPEC_KIND
    for listing in ("uniform", "least_proposed"):
        env = ClinicalEnv(simulator=sim, task_types=list(SPEC_TYPES), spec_listing=listing)
        made = {tt: next(t for t in env.seed_tasks(tt) if t.meta.get("spec")) for tt in ("diagnosis", "calculation")}
        dx, calc = made["diagnosis"].answer, made["calculation"].payload["calculator"]
        dx_name = sim.diagnoses[dx].name
        before = listed(env, "diagnosis", dx_name), listed(env, "calculation", calc)
        assert all(b > 0 for b in before)  # 8 of 55 diagnoses, 8 of 58 calculators: about 22 of 150
        for tt, task in made.items():   # the same target proposed (validly) 20 times
            env.remember([Task(task.env, tt, task.payload, task.answer, f"{task.key}:{i}",
                               {**task.meta, "source": "proposed"}) for i in range(20)])
        after = listed(env, "diagnosis", dx_name), listed(env, "calculation", calc)
        if listing == "uniform":
            assert after == before
        else:
            assert after[0] < before[0] / 3 and after[1] < before[1] / 3, (before, after)
            assert after == (0, 0)  # names never proposed come first, while any remains


def test_least_proposed_weights_rank_by_count_once_every_name_was_proposed(sim):
    """Once every diagnosis was proposed, the least proposed are again those listed first."""
    env = ClinicalEnv(simulator=sim, task_types=["diagnosis"], spec_listing="least_proposed")
    env._proposed["diagnosis"].update({d: 1 for d in sim.diagnoses})
    twice = sorted(sim.diagnoses)[0]
    env._proposed["diagnosis"][twice] += 1
    weights = env.listing_weights("diagnosis")
    assert weights[twice] < 1e-3 and all(w == 1.0 for d, w in weights.items() if d != twice)


@pytest.mark.parametrize("guided_values", [False, True])
def test_grade_inputs_rewards_a_call_only_when_it_reads_the_note_right(sim, guided_values):
    """`grade_inputs`: the environment's own demonstration is right; the same call with one number
    misread by 3 % (a result still within the 5 % tolerance, so right by its result alone) is
    wrong, with reason wrong-input; without the option it stays right."""
    import re

    from simulator.tools import parse_call

    strict = ClinicalEnv(simulator=sim, task_types=["calculation"], tools=["calculation"], grade_inputs=True,
                         guided_values=guided_values)
    plain = ClinicalEnv(simulator=sim, task_types=["calculation"], tools=["calculation"], guided_values=guided_values)
    tasks = strict.sample_tasks("calculation", 60, random.Random(11))
    caught = 0
    for task in tasks:
        demo = strict.demonstration(task)
        assert strict.verify(task, demo).correct, demo
        call = parse_call(demo)
        for key, value in call.args:
            m = re.match(r"^(\d+(?:\.\d+)?)(.*)$", value)
            if not m or float(m.group(1)) == 0:
                continue
            misread = demo.replace(f"{key}={value}", f"{key}={float(m.group(1)) * 1.03:.4g}{m.group(2)}", 1)
            if plain.verify(task, misread).correct:
                v = strict.verify(task, misread)
                assert not v.correct and v.formatted and v.reason == "wrong-input" and key in v.why, (misread, v)
                caught += 1
            break
    assert caught >= 20, caught  # 40 of 60 for seed 11
