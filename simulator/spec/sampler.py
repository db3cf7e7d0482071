"""Random case specifications over the whole vocabulary, and how often they instantiate.

`sample_spec` writes a specification as a proposer would (text from the vocabulary, then
`parse_spec`), so what it returns is always a parsed `Spec` in canonical form. It is used for
seed tasks and for warm-up demonstrations of the proposer role: the environment makes them, no
person labels them. Every key and twist kind is drawn:
- diagnosis uniformly over the packs (or a given one); for a calculation, a calculator that
  pack cases carry, with one of its diagnoses named half the time;
- severity as a band (60 %), a number (15 %) or unset; age and sex from the diagnosis's prior,
  each given half the time;
- one to three twists of distinct kinds: add (a differential's finding, `confounder` or
  `comorbidity`), hide (an item of the criteria or presentation, or `give-away`), units (a value
  with another unit, the unit left to the simulator, or `any`), push (a value of the criteria,
  toward or short of its threshold, or `any`), style.

`validity(sim, n)` instantiates `n` sampled specifications per diagnosis and per calculator and
counts what became a task, what was relabelled and why the rest were rejected:

    python -m simulator.spec --n 4            # ~ 55 x 4 + 21 x 4 specifications
"""

from __future__ import annotations

import argparse
import random
from collections import Counter, defaultdict

from simulator import calculators
from simulator.case import Rejection
from simulator.notes import STYLES
from simulator.spec.format import TWIST_KINDS, Spec, parse_spec
from simulator.spec.twists import confounder_pool, give_away_candidates, near_miss_keeps_label, removable
from simulator.spec.vocabulary import SEVERITY_BANDS, Words

SAMPLE_ATTEMPTS = 20


def sample_spec(sim, rng: random.Random, kind: str = "diagnosis", diagnosis: str | None = None,
                calculator: str | None = None) -> Spec:
    """A random valid specification of `kind` ("diagnosis" or "calculation")."""
    if kind not in ("diagnosis", "calculation"):
        raise ValueError(f"kind must be 'diagnosis' or 'calculation', not {kind!r}")
    words = Words.of(sim)
    for _ in range(SAMPLE_ATTEMPTS):
        lines = []
        if kind == "calculation":
            calc = calculator or rng.choice(words.calculators)
            lines.append(f"calculator: {calc}")
            if calc not in words.feeding:  # a vignette: its patient comes from the calculator's own spec,
                lines.append(f"twist: style {rng.choice(sorted(STYLES))}")  # so the note style is the twist
                spec = parse_spec(sim, "\n".join(lines))
                if not isinstance(spec, Rejection):
                    return spec
                continue
            dx = diagnosis or rng.choice(words.feeding[calc])
            if diagnosis or rng.random() < 0.5:
                lines.append(f"diagnosis: {sim.diagnoses[dx].name}")
        else:
            calc = None
            dx = diagnosis or rng.choice(sorted(sim.diagnoses))
            lines.append(f"diagnosis: {rng.choice([sim.diagnoses[dx].name, dx, *sim.diagnoses[dx].synonyms])}")
        people = _demographics(sim, dx, rng)
        known = {k: (int(v) if k == "age" else v) for k, v in (line.split(": ") for line in people) if k in ("age", "sex")}
        lines += people + [f"twist: {t}" for t in _twists(sim, words, dx, calc, rng, known)]
        spec = parse_spec(sim, "\n".join(lines))
        if not isinstance(spec, Rejection):
            return spec
    raise RuntimeError(f"no valid specification for {diagnosis or calculator or kind} in {SAMPLE_ATTEMPTS} "
                       f"attempts; last: {spec}")


def _demographics(sim, dx: str, rng: random.Random) -> list[str]:
    prior = sim.diagnoses[dx].prior
    out = []
    r = rng.random()
    if r < 0.6:
        out.append(f"severity: {rng.choice(sorted(SEVERITY_BANDS))}")
    elif r < 0.75:
        out.append(f"severity: {rng.random():.2f}")
    if rng.random() < 0.5:
        age = round(min(prior.age.max, max(prior.age.min, rng.gauss(prior.age.mean, prior.age.sd))))
        out.append(f"age: {age}")
    if rng.random() < 0.5:
        out.append(f"sex: {'F' if rng.random() < prior.female else 'M'}")
    return out


def _twists(sim, words: Words, dx: str, calc: str | None, rng: random.Random, known: dict) -> list[str]:
    """One to three twists of distinct kinds that apply to cases of `dx` and do not collide."""
    inputs = {i.name for i in calculators.get(calc).inputs} if calc else set()
    measured = words.measured(dx)
    criteria_values = sorted(v for v in words.criteria_names(dx)[0] & measured if v in words.thresholds)
    used: set[str] = set()
    out = []
    for kind in rng.sample(TWIST_KINDS, rng.randint(1, 3)):
        if kind == "add":
            pool = confounder_pool(sim, dx)
            r = rng.random()
            if pool and r < 0.5:
                f = rng.choice(pool)
                used.add(f)
                out.append(f"add {words.label(f).lower()}")
            else:
                out.append("add confounder" if r < 0.75 else "add comorbidity")
        elif kind == "hide":
            pool = [x for x in removable(sim, dx) if x not in inputs | used]
            if pool and rng.random() < 0.5:
                x = rng.choice(pool)
                used.add(x)
                out.append(f"hide {words.label(x).lower()}")
            elif give_away_candidates(sim, dx) - inputs:
                out.append("hide give-away")
        elif kind == "units":
            pool = [v for v in sorted(measured - used) if words.real_units(v) and not sim.registry.variables[v].derive]
            r = rng.random()
            if pool and r < 0.85:
                v = rng.choice([x for x in pool if x in criteria_values] or pool) if r < 0.5 else rng.choice(pool)
                used.add(v)
                unit = rng.choice(sorted(words.real_units(v).values()))
                out.append(f"units {words.label(v).lower()} {unit}" if r < 0.7 else f"units {words.label(v).lower()}")
            else:
                out.append("units any")
        elif kind == "push" and criteria_values:
            direction = "toward" if rng.random() < 0.7 else "short of"
            pool = [v for v in criteria_values if v not in used
                    and (direction == "toward" or near_miss_keeps_label(sim, dx, v, known))]
            if pool and rng.random() < 0.7:
                v = rng.choice(pool)
                used.add(v)
                out.append(f"push {words.label(v).lower()} {direction} threshold")
            elif direction == "toward":
                out.append("push any toward threshold")
        elif kind == "style":
            out.append(f"style {rng.choice(sorted(STYLES))}")
    if not out:  # the kinds drawn did not apply to this diagnosis
        out.append(f"style {rng.choice(sorted(STYLES))}")
    return out


# ---- validity report -------------------------------------------------------------------------------

def validity(sim, n: int = 4, seed: int = 0) -> dict:
    """Instantiate `n` sampled specifications per diagnosis (diagnosis kind) and per calculator
    (calculation kind). Returns counts: overall, per diagnosis, per calculator, per twist kind
    (valid share of specifications carrying it), and rejection reasons."""
    from simulator.spec.instantiate import instantiate

    words = Words.of(sim)
    rng = random.Random(seed)
    rows = []
    jobs = [("diagnosis", dx, None) for dx in sorted(sim.diagnoses) for _ in range(n)]
    jobs += [("calculation", None, c) for c in sorted(words.feeding) for _ in range(n)]
    for i, (kind, dx, calc) in enumerate(jobs):
        spec = sample_spec(sim, rng, kind, diagnosis=dx, calculator=calc)
        inst = instantiate(sim, spec, seed=seed * 100_000 + i)
        rows.append((spec, inst))
    report = {"specs": len(rows), "valid": 0, "relabelled": 0, "reasons": Counter(), "by_diagnosis": defaultdict(Counter),
              "by_calculator": defaultdict(Counter), "by_twist": defaultdict(Counter), "failures": []}
    for spec, inst in rows:
        ok = not isinstance(inst, Rejection)
        report["valid"] += ok
        report["relabelled"] += ok and inst.relabelled
        group = report["by_calculator"][spec.calculator] if spec.calculator else report["by_diagnosis"][spec.diagnosis]
        group["specs"] += 1
        group["valid"] += ok
        group["relabelled"] += ok and inst.relabelled
        for t in spec.twists:
            report["by_twist"][t.kind]["specs"] += 1
            report["by_twist"][t.kind]["valid"] += ok
        if not ok:
            report["reasons"][inst.reason] += 1
            report["failures"].append((spec.to_text(), str(inst)))
    return report


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="How often sampled case specifications instantiate.")
    p.add_argument("--n", type=int, default=4, help="specifications per diagnosis and per calculator")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--show", type=int, default=5, help="rejected specifications to print")
    args = p.parse_args(argv)
    from simulator.core import Simulator

    sim = Simulator.load()
    r = validity(sim, args.n, args.seed)
    print(f"valid {r['valid']}/{r['specs']} ({r['valid'] / r['specs']:.1%}), relabelled {r['relabelled']}")
    for kind in TWIST_KINDS:
        c = r["by_twist"][kind]
        print(f"  twist {kind:<6} valid {c['valid']}/{c['specs']}")
    weak = [(k, c) for k, c in {**r["by_diagnosis"], **r["by_calculator"]}.items() if c["valid"] < c["specs"]]
    for key, c in sorted(weak, key=lambda kc: kc[1]["valid"] / kc[1]["specs"]):
        name = sim.diagnoses[key].name if key in sim.diagnoses else key
        print(f"  {key} {name}: valid {c['valid']}/{c['specs']}")
    print("rejections:", dict(r["reasons"].most_common()))
    for text, why in r["failures"][: args.show]:
        print("---\n" + text + "\n=> " + why)


if __name__ == "__main__":
    main()
