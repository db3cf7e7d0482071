"""Writing a case as a clinical note: `render_note` and the five styles (triage note, admission
history and physical, ward-round (progress) note, referral letter and laboratory report).

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

Each style is a function `Draft -> str` that arranges what the draft holds (findings, negatives,
values, filler) the way that kind of document is written: terse abbreviations at triage and on
the ward round ("64M c/o CP x 2 d. Obs: HR 104, BP 152/94"), full narrative sentences in a
referral letter, a table of results with units, reference intervals and H/L flags in a lab report.

Two rules every style follows so that the reader gets the facts back: a list of present findings
never follows a negation in the same sentence ("Denies X" always stands as its own sentence or
after the positives), and each value is written as its label, then its number and unit.
What `NoteExtras` adds goes where that kind of document keeps it: history of the presenting
problem (`hpi`), the medication list, the social history and an impression (`assessment`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.errors import SimulatorError
from simulator.notes import phrases as P
from simulator.notes.draft import Draft, NoteError, NoteExtras, cap, listing
from simulator.notes.lexicon import lexicon
from simulator.render import number_text

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


def _negative_sentences(d: Draft, terse: bool, narrative_subject: str | None = None) -> list[str]:
    """'Denies SOB or cough.' / 'No JVD, no crackles.' / 'No history of DM.' / 'ECG: no STE.'"""
    out = []
    symptoms = d.negated("symptom")
    if symptoms:
        if narrative_subject:
            out.append(f"{cap(narrative_subject)} denies {listing(symptoms, 'or')}.")
        else:
            out.append(d.rng.choice((f"Denies {listing(symptoms, 'or')}.", f"No {listing(symptoms, 'or')}.")))
    signs = d.negated("sign")
    if signs:
        out.append(", ".join(f"{'N' if i == 0 else 'n'}o {s}" for i, s in enumerate(signs)) + "." if terse
                   else f"There is no {listing(signs, 'or')}.")
    history = d.negated("history")
    if history:
        out.append(f"No {listing(history, 'or')}.")
    results = d.negated("ecg", "imaging", "test")
    if results:
        out.append(f"No {listing(results, 'or')}.")
    return out


def _presentation(d: Draft, symptoms: list[str], lead: str, also: str, otherwise: str) -> list[str]:
    """'<lead> 3 days of cough and fever. She also <also> nausea.' and the negatives after them."""
    out = [otherwise]
    if symptoms:
        cut = d.rng.randint(1, min(3, len(symptoms)))
        out = [f"{lead} {d.duration()} of {listing(symptoms[:cut])}."]
        if symptoms[cut:]:
            out.append(f"{cap(d.he)} also {also} {listing(symptoms[cut:])}.")
    return out + _negative_sentences(d, terse=False, narrative_subject=d.he)


def _results(d: Draft, terse: bool) -> list[str]:
    """'ECG: ST depression.' 'Imaging: bilateral infiltrates.' 'Tests: ketonuria.'"""
    out = []
    for kind in ("ecg", "imaging", "test"):
        fids = d.kind(kind)
        if fids:
            heading = P.RESULT_HEADINGS[kind][0 if terse else 1]
            out.append(f"{heading}: {listing(d.findings(fids, terse, heading=True))}.")
    return out


def _lab_lines(d: Draft, terse: bool) -> list[str]:
    return [f"{heading}: {', '.join(d.value(v, terse) for v in vids)}." for heading, vids in d.groups(terse)]


def _obs_and_signs(d: Draft, sign_heading: str) -> list[str]:
    """'Obs: HR 104, BP 152/94, ...' and '<heading>: crackles, JVD.', tersely."""
    out = []
    vitals = d.vitals(terse=True)
    if vitals:
        out.append("Obs: " + ", ".join(vitals) + ".")
    signs = d.findings(d.kind("sign"), terse=True)
    if signs:
        out.append(f"{sign_heading}: {', '.join(signs)}.")
    return out


def _sentences(items: list[str]) -> list[str]:
    """Fragments as sentences: 'LMP 02/14/2024' -> 'LMP 02/14/2024.'"""
    return [cap(x) if x.endswith((".", "?", "!")) else cap(x) + "." for x in items if x]


def _who_terse(d: Draft) -> str:
    return d.rng.choice((f"{d.case.age}{d.case.sex}", f"{d.case.age} y/o {d.case.sex}", f"{d.case.age}-year-old {d.noun}"))


# ---- styles ------------------------------------------------------------------------------------

def triage(d: Draft) -> str:
    lines = [f"ED TRIAGE NOTE  {d.clock()}"]
    symptoms = d.findings(d.kind("symptom"), terse=True)
    if symptoms:
        lines.append(f"{_who_terse(d)} c/o {listing(symptoms)} x {d.duration(terse=True)}.")
    else:
        reason = d.reason()
        lines.append(f"{_who_terse(d)} seen for {reason}." if reason
                     else f"{_who_terse(d)} sent in by GP for review of results.")
    lines += _sentences(d.section("hpi", terse=True))
    lines += _negative_sentences(d, terse=True)
    history = d.findings(d.kind("history"), terse=True, heading=True)
    lines.append(f"PMH: {', '.join(history) or 'nil'}.")
    meds = d.section("medications", terse=True) + d.medications()
    lines.append(f"Meds: {', '.join(meds) or 'nil regular'}. Allergies: {d.rng.choice(P.ALLERGIES)}.")
    social = d.section("social", terse=True)
    if social:
        lines.append("SH: " + " ".join(_sentences(social)))
    lines += _obs_and_signs(d, "O/E")
    lines += _results(d, terse=True)
    labs = _lab_lines(d, terse=True)
    if labs:
        lines.append("Labs: " + " ".join(labs))
    impression = d.section("assessment", terse=True)
    if impression:
        lines.append(f"Imp: {'; '.join(impression)}.")
    return "\n".join(lines)


def admission(d: Draft) -> str:
    case = d.case
    name = f"{d.title} {d.surname}"
    lines = ["ADMISSION HISTORY AND PHYSICAL", f"Team: {d.rng.choice(P.SPECIALTIES)}",
             f"Patient: {d.title} {d.first} {d.surname}, {case.age}-year-old {d.noun}"]
    symptoms = d.findings(d.kind("symptom"))
    history = d.findings(d.kind("history"), heading=True)
    reason = None if symptoms else d.reason()
    lines.append(f"CC: {cap(symptoms[0]) if symptoms else cap(reason or 'abnormal blood results')}.")
    background = f" with a background of {listing(history)}" if history else ""
    hpi = [f"{name} is a {case.age}-year-old {d.noun}{background}."]
    hpi += _presentation(d, symptoms, f"{cap(d.he)} presents with", "reports",
                         f"{cap(d.he)} attends for {reason}." if reason
                         else f"{cap(d.he)} was referred after routine blood tests.")
    hpi += _sentences(d.section("hpi"))
    lines.append("HPI: " + " ".join(hpi))
    lines.append(f"PMH: {', '.join(history) or 'none'}.")
    meds = d.section("medications") + d.medications()
    lines.append(f"Medications: {', '.join(meds) or 'none'}.")
    lines.append(f"Allergies: {d.rng.choice(P.ALLERGIES)}.")
    social = _sentences(d.section("social")) + d.filler(P.SOCIAL, 2)
    if social:
        lines.append("Social history: " + " ".join(social))
    lines.append(f"Family history: {d.rng.choice(P.FAMILY)}.")
    lines.append("Examination:")
    vitals = d.vitals(terse=d.rng.random() < 0.5)
    if vitals:
        lines.append("  Vitals: " + ", ".join(vitals) + ".")
    signs = d.findings(d.kind("sign"))
    exam = [f"Notable for {listing(signs)}."] if signs else []
    exam += d.filler(P.GENERAL_EXAM, 2)
    if exam:
        lines.append("  " + " ".join(exam))
    labs = _lab_lines(d, terse=False) + _results(d, terse=False)
    if labs:
        lines.append("Investigations:")
        lines += [f"  {line}" for line in labs]
    impression = d.section("assessment")
    if impression:
        lines.append(f"Assessment: {cap(listing(impression))}.")
    return "\n".join(lines)


def ward_round(d: Draft) -> str:
    case = d.case
    lines = [f"WARD ROUND NOTE - {d.rng.choice(P.WARDS)}, day {d.rng.randint(1, 6)} of admission",
             f"{d.title} {d.surname}, {case.age}{case.sex}"]
    subjective = d.filler(P.SUBJECTIVE, 1)
    symptoms = d.findings(d.kind("symptom"), terse=True)
    if symptoms:
        subjective.append(f"C/o {listing(symptoms)}.")
    subjective += _sentences(d.section("hpi", terse=True))
    negatives = _negative_sentences(d, terse=True)
    subjective += negatives[:1]
    lines.append("S: " + (" ".join(subjective) or "No new complaints."))
    objective = _obs_and_signs(d, "Exam") + negatives[1:]
    objective += _lab_lines(d, terse=True) + _results(d, terse=True)
    lines.append("O: " + "\n   ".join(objective or ["Nil new."]))
    history = d.findings(d.kind("history"), terse=True, heading=True)
    lines.append(f"PMH: {', '.join(history) or 'nil of note'}.")
    meds = d.section("medications", terse=True) + d.medications()
    if meds:
        lines.append(f"Regular meds: {', '.join(meds)}.")
    social = d.section("social", terse=True)
    if social:
        lines.append("SH: " + " ".join(_sentences(social)))
    impression = d.section("assessment", terse=True)
    lines.append("A: " + (f"{cap('; '.join(impression))}. " if impression else "") + d.rng.choice(P.ASSESSMENT))
    lines.append("P: " + " ".join(d.filler(P.PLAN, 2)))
    return "\n".join(lines)


def referral(d: Draft) -> str:
    case = d.case
    he, his = d.he, d.his
    lines = [d.rng.choice(P.PRACTICES), "", f"Dear Dr {d.rng.choice([s for s in P.SURNAMES if s != d.surname])},", "",
             f"Re: {d.title} {d.first} {d.surname}, aged {case.age}", ""]
    opening = f"Thank you for seeing this {case.age}-year-old {d.noun}, whom I saw today"
    symptoms = d.findings(d.kind("symptom"))
    reason = None if symptoms else d.reason()
    body = _presentation(d, symptoms, f"{opening} with", "mentions",
                         f"{opening} for {reason}." if reason else f"{opening} to discuss some blood results.")
    body += _sentences(d.section("hpi"))
    history = d.findings(d.kind("history"), heading=True)
    body.append(f"{cap(his)} past history includes {listing(history)}." if history
                else f"{cap(he)} has no significant past medical history.")
    meds = d.section("medications") + d.medications()
    body.append(f"{cap(he)} takes {listing(meds)}." if meds else f"{cap(he)} takes no regular medication.")
    body += _sentences(d.section("social")) + d.filler(P.SOCIAL, 1)
    vitals = d.vitals(terse=False)
    if vitals:
        body.append(f"On examination {his} observations were {listing(vitals)}.")
    signs = d.findings(d.kind("sign"))
    if signs:
        body.append(f"I noted {listing(signs)}.")
    groups = d.groups(terse=False)
    if groups:
        values = [d.value(v, joiners=(" ", " of ")) for _, vids in groups for v in vids]
        body.append(f"{d.rng.choice(('Blood tests showed', 'Recent results include', 'Investigations showed'))} "
                    f"{listing(values)}.")
    for kind, lead in (("ecg", "An ECG showed"), ("imaging", "Imaging showed"), ("test", "Bedside testing showed")):
        fids = d.kind(kind)
        if fids:
            body.append(f"{lead} {listing(d.findings(fids, heading=True))}.")
    impression = d.section("assessment")
    if impression:
        body.append(f"My impression: {listing(impression)}.")
    body.append(d.rng.choice(P.REFERRAL_ASKS).format(obj="him" if d.male else "her"))
    lines += [" ".join(body), "", "Yours sincerely,", "", d.rng.choice(P.CLINICIANS), "General Practitioner"]
    return "\n".join(lines)


def lab_report(d: Draft) -> str:
    case = d.case
    lines = ["LABORATORY REPORT - Clinical Chemistry and Haematology",
             f"Patient: {d.surname.upper()}, {d.first}    Age: {case.age} y    Sex: {case.sex}",
             f"Location: {d.rng.choice(P.WARDS)}    Requested by: {d.rng.choice(P.CLINICIANS)}    "
             f"Collected: {d.clock()}"]
    details = []
    symptoms = d.findings(d.kind("symptom"), terse=True)
    if symptoms:
        details.append(f"c/o {', '.join(symptoms)}")
    history = d.findings(d.kind("history"), terse=True, heading=True)
    if history:
        details.append(f"PMH {', '.join(history)}")
    signs = d.findings(d.kind("sign"), terse=True)
    if signs:
        details.append(f"O/E {', '.join(signs)}")
    details += d.section("hpi", terse=True)
    meds = d.section("medications", terse=True)
    if meds:
        details.append(f"meds {', '.join(meds)}")
    details += d.section("social", terse=True)
    impression = d.section("assessment", terse=True)
    if impression:
        details.append(f"impression {', '.join(impression)}")
    text = "; ".join(details) + "." if details else "Routine bloods."
    negatives = _negative_sentences(d, terse=True)
    lines.append("Clinical details: " + " ".join([text, *negatives]))
    vitals = d.vitals(terse=True)
    if vitals:
        lines.append("Observations at collection: " + ", ".join(vitals) + ".")
    lines += _results(d, terse=False)
    table = [f"{'TEST':<34}{'RESULT':>8}  {'UNITS':<15}{'REFERENCE':<16}FLAG"]
    for heading, vids in d.groups(terse=False):
        table.append(heading)
        for vid in vids:
            table.append(_table_row(d, vid))
    if len(table) > 1:
        lines += ["-" * 78, *table, "-" * 78]
    lines.append(f"Comment: {d.rng.choice(P.LAB_COMMENTS)}")
    lines.append(f"Authorised by: {d.rng.choice(P.CLINICIANS)}, Consultant Clinical Scientist")
    return "\n".join(lines)


def _table_row(d: Draft, vid: str) -> str:
    var = d.reg.variables[vid]
    unit = d.units[vid]
    number = d.number(vid)
    decimals = len(number.split(".")[1]) if "." in number else 0
    lo, hi = var.normal_for(d.case.sex)
    ref = "-".join(number_text(var.from_canonical(x, unit), max(decimals, 1 if abs(x) < 10 else 0)) for x in (lo, hi))
    value = d.case.values[vid]
    flag = "L" if value < lo else "H" if value > hi else ""
    name = d.lex.variable_labels(vid)[0]
    return f"  {name:<32}{number:>8}  {d.spelling(vid):<15}{ref:<16}{flag}".rstrip()


STYLES = {"triage": triage, "admission": admission, "ward_round": ward_round, "referral": referral,
          "lab_report": lab_report}


# ---- rendering -------------------------------------------------------------------------------

def render_note(sim, case, style: str | None = None, seed: int | None = None, hide=(),
                extras: NoteExtras | None = None) -> Note:
    """Write `case` as a note. `style` is one of STYLES (None: drawn from the seed); `seed`
    defaults to the case's own seed."""
    if style is not None and style not in STYLES:
        raise SimulatorError(f"unknown note style {style!r}; use one of {', '.join(STYLES)}")
    base = case.seed if seed is None else seed
    chosen = style or random.Random(f"note-style:{base}").choice(sorted(STYLES))
    lex = lexicon(sim)
    omitted = omitted_findings(sim, case)
    for attempt in range(ATTEMPTS):
        draft = Draft(sim, case, random.Random(f"note:{base}:{chosen}:{attempt}"), hide, omitted, extras)
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
