"""The parsed form of a case specification: `Spec` (diagnosis or calculator, severity, age,
sex, twists) and `Twist`, with the canonical text used to recognise a repeated specification.
Reading text into them is `simulator.spec.format`; applying twists is `simulator.spec.twists`.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TWISTS = 3
TWIST_KINDS = ("add", "hide", "units", "push", "style")
CONFOUNDER, COMORBIDITY, GIVE_AWAY, ANY = "confounder", "comorbidity", "give-away", "any"


@dataclass(frozen=True)
class Twist:
    """One twist: `kind` (add, hide, units, push, style); `target` a finding or variable id, a
    style, or a word the simulator resolves (CONFOUNDER, COMORBIDITY, GIVE_AWAY, ANY); `option`
    the unit of a units twist ('' = another unit of the simulator's choice) or the direction of a
    push ('toward': just meets the criterion, 'short': just misses it); `line` its canonical text."""

    kind: str
    target: str
    option: str = ""
    line: str = ""

    def __str__(self) -> str:
        return self.line


@dataclass(frozen=True)
class Spec:
    """A parsed case specification. `diagnosis` and `calculator` are ids; `severity` is a band
    ('mild', 'moderate', 'severe') or a number 0-1; unset fields are drawn by the simulator."""

    diagnosis: str | None = None
    calculator: str | None = None
    severity: str | float | None = None
    age: int | None = None
    sex: str | None = None
    twists: tuple[Twist, ...] = ()
    diagnosis_name: str = ""

    @property
    def kind(self) -> str:
        """'calculation' when a calculator is named, else 'diagnosis'."""
        return "calculation" if self.calculator else "diagnosis"

    def to_text(self) -> str:
        """The canonical text: keys in a fixed order, names as the packs write them, twists sorted.
        Parsing it gives back an equal `Spec`; two specifications that say the same thing in other
        words (synonyms, bullets, order) have the same canonical text."""
        lines = []
        if self.calculator:
            lines.append(f"calculator: {self.calculator}")
        if self.diagnosis:
            lines.append(f"diagnosis: {self.diagnosis_name or self.diagnosis}")
        if self.severity is not None:
            lines.append(f"severity: {self.severity if isinstance(self.severity, str) else f'{self.severity:g}'}")
        if self.age is not None:
            lines.append(f"age: {self.age}")
        if self.sex is not None:
            lines.append(f"sex: {self.sex}")
        lines += [f"twist: {t.line}" for t in self.twists]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def canonical_twists(twists) -> tuple[Twist, ...]:
    return tuple(sorted(twists, key=lambda t: (TWIST_KINDS.index(t.kind), t.line)))
