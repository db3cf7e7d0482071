"""`render_note`: a case written as a clinical note in one of five styles, seeded and label-free.

    from simulator.notes import render_note
    note = render_note(sim, case, style="referral", seed=3)
    print(note.text)         # the letter; note.units: the unit each value was written in

The same case, style and seed give the same text byte for byte; without a style one is drawn
from the seed. `hide` leaves variables out (a calculation task asks for what is not shown).
Derived values (MAP, anion gap, eGFR, BMI ...) are never written: they are recomputed from their
inputs, and a note that showed them would give away calculation answers.

No note names a diagnosis of any loaded pack (checked on the whole text with the verifier's
matcher). A finding that can only be written by naming one (every name and alias of it does) is
left out when the engine reaches the same label without it (`Note.omitted`); when the engine
needs it, the case cannot be written as a note and `NoteError` says which finding and how to
fix the registry (add an alias that describes it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.errors import SimulatorError
from simulator.notes.draft import Draft, NoteError
from simulator.notes.lexicon import lexicon
from simulator.notes.styles import STYLES

ATTEMPTS = 5  # fresh wordings tried when words of two sentences happen to join into a diagnosis name


@dataclass(frozen=True)
class Note:
    """A rendered note: its text and how it was written."""

    text: str
    style: str
    units: dict[str, str] = field(default_factory=dict)   # variable -> unit its value was written in
    omitted: tuple[str, ...] = ()                         # findings left out (they name a diagnosis)
    hidden: tuple[str, ...] = ()                          # variables left out on request

    def __str__(self) -> str:
        return self.text


def render_note(sim, case, style: str | None = None, seed: int | None = None, hide=()) -> Note:
    """Write `case` as a note. `style` is one of STYLES (None: drawn from the seed); `seed`
    defaults to the case's own seed."""
    if style is not None and style not in STYLES:
        raise SimulatorError(f"unknown note style {style!r}; use one of {', '.join(STYLES)}")
    base = case.seed if seed is None else seed
    chosen = style or random.Random(f"note-style:{base}").choice(sorted(STYLES))
    lex = lexicon(sim)
    omitted = omitted_findings(sim, case)
    for attempt in range(ATTEMPTS):
        draft = Draft(sim, case, random.Random(f"note:{base}:{chosen}:{attempt}"), hide, omitted)
        text = STYLES[chosen](draft)
        if not lex.leaks(text):
            return Note(text, chosen, {v: draft.units[v] for v in draft.values}, tuple(omitted),
                        tuple(v for v in case.values if v in set(hide)))
    raise NoteError(f"every wording of this case names a diagnosis ({', '.join(lex.leaks(text))}); "
                    "reword the registry's filler or aliases")


def omitted_findings(sim, case) -> list[str]:
    """Present findings that no phrase can write without naming a diagnosis, when the engine
    reaches the same label without them; NoteError when it needs them."""
    lex = lexicon(sim)
    unnamable = [f for f in case.findings if not lex.finding_phrases(f)]
    if not unnamable:
        return []
    facts = case.facts()
    before = sim.engine.label(facts)
    for f in unnamable:
        facts.pop(f, None)
    after = sim.engine.label(facts)
    if after.label != before.label or after.reason != before.reason:
        names = ", ".join(f"'{sim.registry.findings[f].name}' ({f})" for f in unnamable)
        raise NoteError(f"this case cannot be written as a note without naming its diagnosis: the engine needs "
                        f"{names}, and every name and alias of it names a diagnosis. Fix: give the finding an "
                        "alias in the registry that describes it without the diagnosis's name")
    return unnamable
