"""Guided specifications (simulator.spec.guide): whatever a model chooses inside the guide, the
text is a specification of known words; the guide's own samples instantiate."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from simulator.case import Rejection
from simulator.spec import instantiate, parse_spec
from simulator.spec.guide import GENERIC_TWISTS, SpecGuide
from simulator.spec.model import MAX_TWISTS
from simulator.tools import GuideStep
from tests.conftest import walk_guide


def _walk(guide, rng):
    """Random token-like pieces: a random prefix of a random choice, or the end where allowed."""
    def pick(step):
        option = rng.choice(list(step.choices) + ([None] if step.end else []))
        return None if option is None else option[:rng.randint(1, len(option))]
    return walk_guide(guide, pick)


@pytest.mark.parametrize("kind", ["diagnosis", "calculation"])
def test_guided_specifications_always_parse(sim, kind):
    guide = SpecGuide.of(sim, kind)
    reasons, keys = Counter(), Counter()
    for seed in range(300):
        text = _walk(guide, random.Random(seed))
        spec = parse_spec(sim, text)
        assert not isinstance(spec, Rejection), (text, spec)
        assert len(spec.twists) <= MAX_TWISTS
        keys.update(line.split(":")[0] for line in text.strip().split("\n"))
        inst = instantiate(sim, spec, seed=seed)
        reasons["ok" if not isinstance(inst, Rejection) else inst.reason] += 1
    assert set(reasons) <= {"ok", "conflict"}  # a twist combination a calculator's cases cannot take
    assert reasons["ok"] >= 270
    assert {"severity", "age", "sex", "twist"} <= set(keys)  # every key is reachable


def test_guide_steps_on_hand_written_prefixes(sim):
    g = SpecGuide.of(sim, "calculation")
    assert g.next("") == GuideStep("force", "calculator: ")
    assert set(g.next("calculator: anion_").choices) >= {"gap"}
    step = g.next("calculator: anion_gap")
    assert step.kind == "choose" and step.end and "\n" in step.choices  # end, or another line
    assert g.next("calculator: anion_gap\n") == GuideStep("choose", choices=("severity: ", "age: ", "sex: ", "twist: "),
                                                          end=True)
    assert g.next("calculator: anion_gap\nsex: M\n") == GuideStep("choose", choices=("twist: ",), end=True)
    assert g.next("calculator: anion_gap\nage: 4").choices == tuple(str(d) for d in range(10))  # 40-49
    assert "\n" in g.next("calculator: anion_gap\nage: 45").choices
    twisted = "calculator: anion_gap\ntwist: style triage\ntwist: add confounder\n"
    left = g.next(twisted + "twist: ").choices
    assert "add confounder" not in left and not any(t.startswith("style ") for t in left)
    assert g.next(twisted + "twist: hide give-away") == GuideStep("stop") or \
        g.next(twisted + "twist: hide give-away").choices == ()
    full = twisted + "twist: hide give-away"
    assert g.next(full).kind in ("stop", "choose") and "\n" not in g.next(full).choices  # three twists at most


def test_guided_samples_are_valid_specifications(sim):
    for kind in ("diagnosis", "calculation"):
        guide = SpecGuide.of(sim, kind)
        rng = random.Random(0)
        texts = [guide.sample(rng) for _ in range(50)]
        assert all(not isinstance(parse_spec(sim, t), Rejection) for t in texts)
        assert len(set(texts)) > 40 and all(not t.endswith("\n") for t in texts)
    assert all(not isinstance(parse_spec(sim, f"diagnosis: Sepsis\ntwist: {t}"), Rejection) for t in GENERIC_TWISTS)


def test_the_environment_guides_specifications_and_demonstrates_what_the_guide_writes():
    from azmed.envs.clinical import ClinicalEnv

    env = ClinicalEnv()
    assert isinstance(env.propose_guide("calculation"), SpecGuide) and env.propose_guide("calculation").first == "calculator"
    assert env.propose_guide("next_step").first == "diagnosis"
    assert ClinicalEnv(guided_specs=False).propose_guide("diagnosis") is None
    assert ClinicalEnv(proposals="edit").propose_guide("diagnosis") is None
    rng = random.Random(1)
    for tt in ("diagnosis", "calculation", "next_step"):
        demo = env.proposal_demonstration(tt, rng)
        guide = env.propose_guide(tt)
        text = ""
        for ch in demo:  # the demonstration is a path through the guide
            step = guide.next(text)
            assert step.kind in ("force", "choose"), (demo, text)
            assert (step.kind == "force" and step.text.startswith(ch)) or any(c.startswith(ch) for c in step.choices)
            text += ch
        assert not isinstance(env.validate(tt, demo), Rejection)


def test_a_guided_proposer_chooses_among_the_names_its_prompt_lists():
    """Guided, the prompt offers only its sampled diagnoses (calculators), the guide lets the
    proposer write only those, and the warm-up's demonstration picks among them too."""
    from azmed.envs.clinical import ClinicalEnv
    from simulator.spec.vocabulary import listed_names

    env = ClinicalEnv()
    for tt, kind in (("diagnosis", "diagnosis"), ("calculation", "calculation"), ("next_step", "diagnosis")):
        seen: set[str] = set()
        for seed in range(6):
            prompt = env.propose_prompt(tt, [], random.Random(seed))
            names = listed_names(prompt, kind)
            assert names and len(names) == 8 and "any diagnosis" not in prompt and "any calculator" not in prompt
            guide = env.propose_guide(tt, prompt)
            assert sorted(guide.names) == sorted(names)
            first = guide.next(guide.next("").text)
            assert sorted(first.choices) == sorted(names)  # the first line's whole values: the listed ones
            demo = env.proposal_demonstration(tt, random.Random(seed), prompt)
            value = demo.split("\n", 1)[0].split(": ", 1)[1]
            assert value in names and not isinstance(env.validate(tt, demo), Rejection)
            seen.update(names)
        assert len(seen) > 20  # different prompts list different samples
    unguided = ClinicalEnv(guided_specs=False).propose_prompt("diagnosis", [], random.Random(0))
    assert listed_names(unguided) is None and "any diagnosis of the packs" in unguided
    assert SpecGuide.of(env.sim, "diagnosis", ["Not a diagnosis"]).names == SpecGuide.of(env.sim, "diagnosis").names


def test_with_patient_lines_a_guided_specification_always_names_severity_age_and_sex(sim):
    """`spec_patient`: the guide writes each of severity, age and sex (the model chooses their
    values) before the specification may end; twists stay optional."""
    from azmed.envs.clinical import ClinicalEnv

    for kind in ("diagnosis", "calculation"):
        guide = SpecGuide.of(sim, kind, patient=True)
        rng = random.Random(5)
        texts = [guide.sample(rng, end=0.9) for _ in range(60)]
        for t in texts:
            keys = [line.split(":", 1)[0] for line in t.split("\n")]
            assert keys[:4] == [guide.first, "severity", "age", "sex"], t
            assert not isinstance(parse_spec(sim, t), Rejection)
        assert any("twist: " in t for t in texts) and any("twist: " not in t for t in texts)
        first = f"{guide.first}: {guide.names[0]}"
        assert guide.next(first).kind == "force" and guide.next(first).text == "\n"  # no end after the name
        assert guide.next(first + "\n") == GuideStep("force", "severity: ")
        assert not guide.next(first + "\nseverity: mild\nage: 40").end
        assert guide.next(first + "\nseverity: mild\nage: 40\nsex: F").end
    env = ClinicalEnv(spec_patient=True)
    demo = env.proposal_demonstration("diagnosis", random.Random(0), env.propose_prompt("diagnosis", [], random.Random(0)))
    assert "\nseverity: " in demo and "\nage: " in demo and "\nsex: " in demo
    assert not ClinicalEnv().propose_guide("diagnosis").patient
