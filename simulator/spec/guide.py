"""Guided specifications: a proposer too small to keep to the specification format writes inside
it. The model still designs the case (which diagnosis or calculator, severity, age, sex, which
twists); the guide only keeps each line a known key with a known value.

    from simulator.spec.guide import SpecGuide
    guide = SpecGuide.of(sim, "calculation")
    guide.next("")                     # GuideStep(kind='force', text='calculator: ')
    guide.next("calculator: bm")       # choose among the continuations of known ids ('i', ...)

Given a prompt's listed names (`SpecGuide.of(sim, kind, names)`), the first line chooses among
those only: each prompt lists a different sample, which spreads the proposals over the packs.

Lines come in the canonical order (`Spec.to_text`): the diagnosis or calculator first, then any of
severity, age and sex (each at most once, in that order, each optional; with `patient` all three
are required), then up to MAX_TWISTS twists; after any complete line (with `patient`, after sex)
the model may end the specification. Values are chosen among
the words the packs know: diagnosis names, calculator ids, mild/moderate/severe, ages 18-105, M/F,
and the twists every case can take (add confounder, add comorbidity, hide give-away, units any,
push any toward threshold, style <note style>); a twist is not repeated and one style at most.
Twists that name a case's own finding or value (hide fever, units glucose mmol/L) are the unguided
format's: free text is where a small model's proposals fail.

The same `GuideStep`s as `simulator.tools.CallGuide`, decoded by `azmed.generation`. No state:
the guide reads only the text written so far.
"""

from __future__ import annotations

from typing import Sequence

from simulator.notes import STYLES
from simulator.spec.model import MAX_TWISTS
from simulator.tools import GuideStep, choice

OPTIONAL = (("severity", ("mild", "moderate", "severe")), ("age", tuple(str(a) for a in range(18, 106))),
            ("sex", ("M", "F")))
GENERIC_TWISTS = ("add confounder", "add comorbidity", "hide give-away", "units any", "push any toward threshold",
                  *(f"style {s}" for s in STYLES))


class SpecGuide:
    """Guide for one specification whose first line is `first: <one of names>`."""

    def __init__(self, first: str, names: Sequence[str], patient: bool = False):
        self.first = first
        self.names = tuple(names)
        self.patient = patient  # severity, age and sex are required (in that order), not optional

    @classmethod
    def of(cls, sim, kind: str, names: Sequence[str] | None = None, patient: bool = False) -> "SpecGuide":
        """The guide of a `kind` ('diagnosis' or 'calculation') specification over `sim`'s packs;
        the first line chooses among `names` (a prompt's listed diagnoses or calculator ids, see
        `simulator.spec.vocabulary.listed_names`), else among all of them."""
        if kind == "calculation":
            from simulator import calculators

            known = sorted(calculators.CALCULATORS)
        else:
            known = sorted(d.name for d in sim.diagnoses.values())
        allowed = set(known)
        chosen = [n for n in names or () if n in allowed]
        return cls("calculator" if kind == "calculation" else "diagnosis", chosen or known, patient)

    def next(self, text: str) -> GuideStep:
        *done, cur = text.split("\n")
        keys = [line.split(":", 1)[0] for line in done]
        left = [k for k, _ in OPTIONAL if k not in keys] if self.patient else []  # required lines not yet written
        missing = bool(left)  # the end must wait
        if not done:
            return self._line(cur, f"{self.first}: ", self.names, more=True, end=not self.patient)
        twists = [line.split(": ", 1)[1] for line in done if line.startswith("twist: ")]
        heads = self._heads(keys, twists)
        for head, values in heads:
            if cur.startswith(head):
                last_missing = len(left) == 1
                return self._line(cur, head, values, more=len(heads) > 1 or head != "twist: " or
                                  len(twists) + 1 < MAX_TWISTS or last_missing, end=not missing or last_missing)
        if not heads:
            return GuideStep("stop")
        if missing:
            return GuideStep("force", heads[0][0][len(cur):])
        return choice(cur, [h for h, _ in heads], set(), end=False) if cur else \
            GuideStep("choose", choices=tuple(h for h, _ in heads), end=True)

    def sample(self, rng, end: float = 0.35) -> str:
        """A random specification the guide lets a model write: whole values at every choice, the
        end taken with probability `end` wherever it is allowed (a warm-up demonstration)."""
        text = ""
        while True:
            step = self.next(text)
            if step.kind == "stop" or (step.end and rng.random() < end):
                return text.rstrip("\n")
            text += step.text if step.kind == "force" else rng.choice(step.choices)

    def _heads(self, keys: list[str], twists: list[str]) -> list[tuple[str, Sequence[str]]]:
        """The lines that may come next: optional keys after the last one written, then twists."""
        heads: list[tuple[str, Sequence[str]]] = []
        if self.patient and any(k not in keys for k, _ in OPTIONAL):  # the next required line only
            k, values = next((k, v) for k, v in OPTIONAL if k not in keys)
            return [(f"{k}: ", values)]
        if "twist" not in keys:
            last = max((i for i, (k, _) in enumerate(OPTIONAL) if k in keys), default=-1)
            heads += [(f"{k}: ", values) for k, values in OPTIONAL[last + 1:]]
        if len(twists) < MAX_TWISTS:
            styled = any(t.startswith("style ") for t in twists)
            left = [t for t in GENERIC_TWISTS if t not in twists and not (styled and t.startswith("style "))]
            if left:
                heads.append(("twist: ", left))
        return heads

    @staticmethod
    def _line(cur: str, head: str, values: Sequence[str], more: bool, end: bool = True) -> GuideStep:
        """Within one line: its key (forced), then its value chosen among `values`; after a whole
        value, a new line (if `more` lines may follow) or (if `end`) the end."""
        if len(cur) < len(head):
            return GuideStep("force", head[len(cur):])
        step = choice(cur[len(head):], values, {"\n"} if more else set(), end=end)
        return GuideStep("stop") if step.kind == "choose" and not step.choices else step
