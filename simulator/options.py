"""Fair multiple-choice options for a diagnosis question: the label and distractors that are wrong
on this case, yet not trivially so.

A distractor must not fire on the case (the durable-rules engine decides, on the case's facts)
and must not be nested with the label through `supersedes` in either direction (septic shock is
never offered beside sepsis, nor sepsis beside the pneumonia it supersedes): otherwise a correct
answer could be graded wrong. Among the rest, distractors with partial evidence in the case (some
of the positive items of their criteria hold: `criteria.support`) come first, the label's declared
differentials before other diagnoses, then the label's pack, then any diagnosis.

    sim.options(case, 4, random.Random(7))      # ['E11.10', 'E87.2', 'E11.00', 'E11.65'] shuffled

Limits: evidence counts criteria items, not their diagnostic weight; age and sex items do not count.
"""

from __future__ import annotations

import random
from simulator import criteria as C
from simulator.case import Case


def nesting(sim) -> dict[str, set[str]]:
    """Per diagnosis, those linked to it by a chain of `supersedes`, either way (itself excluded)."""
    down = {d: set(x.supersedes) for d, x in sim.diagnoses.items()}
    up: dict[str, set[str]] = {d: set() for d in sim.diagnoses}
    for d, beaten in down.items():
        for b in beaten:
            up.setdefault(b, set()).add(d)

    def reach(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for x in edges.get(todo.pop(), ()):
                if x not in seen:
                    seen.add(x)
                    todo.append(x)
        return seen

    return {d: (reach(d, down) | reach(d, up)) - {d} for d in sim.diagnoses}


def evidence(sim, case: Case) -> dict[str, float]:
    """Per diagnosis, the share of its criteria's positive items that hold on the case (0-1)."""
    facts = case.facts()
    return {dx: C.support(tree, facts) for dx, tree in sim.trees.items()}


def fair_options(sim, case: Case, n: int, rng: random.Random) -> list[str]:
    """`n` diagnosis ids (fewer if the packs hold fewer), the case's label among them, shuffled."""
    label = case.label
    fired = set(sim.engine.fired(case.facts()))
    excluded = fired | sim.nesting[label] | {label}
    support = evidence(sim, case)
    differentials = set(sim.diagnoses[label].differentials)
    pack = sim.pack_of[label]
    candidates = [d for d in sim.diagnoses if d not in excluded]
    rng.shuffle(candidates)  # ties are broken at random, the same way for the same seed

    def rank(d: str):
        partial = support[d] > 0
        return (not partial, d not in differentials, -support[d] if partial else 0, sim.pack_of[d] != pack)

    picks = [label, *sorted(candidates, key=rank)[: max(0, n - 1)]]
    rng.shuffle(picks)
    return picks
