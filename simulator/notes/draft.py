"""What a note will say, chosen once per note and shared by every style.

A `Draft` holds one case's facts in the words the note will use: its findings grouped by kind,
the pertinent negatives, the unit each value is written in, and helpers that write a finding, a
value, a vitals line, a group of results or a filler sentence. Every choice comes from the
note's own `random.Random`, so the same seed and style give the same note byte for byte.

Rules that keep a note faithful (the reader recovers exactly the case) and label-free:
- a finding is written with a registry phrase that names no diagnosis (`Lexicon.finding_phrases`);
- each value is written in the canonical or an accepted unit, with the fewest decimals that read
  back to the same value (`simulator.render.quantity_text`); alternative units that would give
  absurd numbers (body weight in grams) are not used; a value the case reports in one of the
  variable's accepted units (`Case.units`, e.g. a specification's units twist) is written in it;
- pertinent negatives are absent findings that a diagnosis of the case's pack refers to or
  presents with; choosing them never looks at the case's label;
- filler (social history, medications, exam lines, plans) must read back as nothing: no value,
  no age or sex, no finding the case lacks, no denial of one it has, no diagnosis (`harmless`).

`NoteExtras` lets a caller add to what a note says without a new style: facts moved to another
section (a clinical judgement to the assessment, alcohol intake to the social history, an infusion
rate to the medications), sentences of its own per section (a prescription with its dose, the date
of the last menstrual period), the pertinent negatives to choose from and those that must be
stated, derived values that are facts of the case (a BMI a score uses), and words filler must not
use. Calculator vignettes (simulator/vignettes) use it; a plain case uses the defaults.
"""

from __future__ import annotations

import random
import re

from simulator import criteria as C
from simulator.errors import SimulatorError
from simulator.notes import phrases as P
from simulator.notes.lexicon import SHORT, lexicon
from simulator.notes.reader import scan
from simulator.render import quantity_text, with_unit
from simulator.unit_spelling import unit_spelling

CANONICAL_SHARE = 0.65     # share of values written in their canonical unit
MAX_SHOWN = 10000          # an alternative unit may not turn a small number into one above this
VITAL_CATEGORIES = ("vital", "bedside", "demographic")
GROUP_ORDER = ("blood_count", "chemistry", "liver", "coagulation", "inflammation", "cardiac", "endocrine",
               "blood_gas", "urine", "lung_function", "other")


class NoteError(SimulatorError):
    """A case cannot be written as a note without naming its diagnosis."""


def listing(items: list[str], conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def cap(text: str) -> str:
    """First letter upper case ('c/o' -> 'C/o'); abbreviations are left alone."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def abbreviation(phrase: str, longest: int = 5) -> bool:
    """'SOB', 'HTN', 'SpO2', 'HCO3': short, one word, with a capital letter."""
    return len(phrase) <= longest and " " not in phrase and any(ch.isupper() for ch in phrase)


def mid_sentence(name: str) -> str:
    """'Sodium' -> 'sodium', 'Arterial pH' -> 'arterial pH'; 'Glasgow Coma Scale', 'D-dimer' kept."""
    first = re.match(r"[A-Za-z]+", name)
    later_titles = [w for w in re.split(r"[\s\-]+", name)[1:] if w[:1].isupper() and w[1:].islower()]
    if first and len(first.group(0)) > SHORT and first.group(0)[1:].islower() and not later_titles:
        return name[0].lower() + name[1:]
    return name


class NoteExtras:
    """What a note adds to a case's facts (see the module docstring); the defaults add nothing.

    `sections`: finding or variable id -> section ("hpi", "medications", "social", "assessment")
    where it is written instead of its usual place; `negatives`: finding ids to choose pertinent
    negatives from (None: those of the case's pack); `deny`: findings every note denies; `show`:
    derived variables written like measured ones; `onset_days`: the range of symptom durations a
    note may write (a score item such as 'seen within 3 days of onset' fixes it); `reasons`: why a
    patient without symptoms is seen ('medication review'), instead of a review of blood results."""

    sections: dict[str, str] = {}
    negatives: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    show: tuple[str, ...] = ()
    onset_days: tuple[float, float] | None = None
    reasons: tuple[str, ...] = ()

    def items(self, section: str, draft: "Draft", terse: bool) -> list[str]:
        """Fragments of the caller's own for `section` (a prescription, a dated event)."""
        return []

    def clashes(self, text: str) -> bool:
        """True when filler `text` would contradict or blur the caller's facts (another dose of a
        drug a prescription states)."""
        return False


SECTIONS = ("hpi", "medications", "social", "assessment")


class Draft:
    def __init__(self, sim, case, rng: random.Random, hide=(), omitted=(), extras: NoteExtras | None = None):
        self.sim, self.case, self.rng = sim, case, rng
        self.extras = extras or NoteExtras()
        self.lex = lexicon(sim)
        self.reg = sim.registry
        self.male = case.sex == "M"
        self.he, self.his = ("he", "his") if self.male else ("she", "her")
        self.noun = "man" if self.male else "woman"
        self.title = "Mr" if self.male else rng.choice(("Mrs", "Ms"))
        self.first = rng.choice(P.FIRST_NAMES[case.sex])
        self.surname = rng.choice(P.SURNAMES)
        self.shown = [f for f in case.findings if f not in set(omitted)]
        self.kinds: dict[str, list[str]] = {}
        sections = self.extras.sections
        for fid in self.shown:
            self.kinds.setdefault(sections.get(fid) or self.reg.findings[fid].kind, []).append(fid)
        for fids in self.kinds.values():
            rng.shuffle(fids)
        self.negatives = self._pick_negatives()
        shown_derived = set(self.extras.show)
        self.values = [v for v in case.values if (not self.reg.variables[v].derive or v in shown_derived)
                       and v not in set(hide)]
        self.units = {vid: self._pick_unit(vid) for vid in self.values}

    # ---- choices made once -----------------------------------------------------------------------
    def _pick_unit(self, vid: str) -> str:
        var, value = self.reg.variables[vid], self.case.values[vid]
        reported = self.case.units.get(vid)  # a value the case reports in a unit is written in it
        if reported in var.units and unit_spelling(var, reported) is not None \
                and quantity_text(var, value, reported) is not None:
            return reported
        options = []
        for unit in var.units:
            text = quantity_text(var, value, unit) if unit_spelling(var, unit) is not None else None
            if text is not None and not (abs(float(text)) >= MAX_SHOWN and abs(value) < MAX_SHOWN):
                options.append(unit)
        if options and (unit_spelling(var, var.unit) is None or self.rng.random() >= CANONICAL_SHARE):
            return self.rng.choice(options)
        return var.unit

    def _pick_negatives(self) -> dict[str, list[str]]:
        pool = set(self.extras.negatives) if self.extras.negatives is not None else set()
        pack = self.sim.packs.get(self.case.pack)
        if self.extras.negatives is None or pack is not None:
            diagnoses = pack.diagnoses if pack else list(self.sim.diagnoses.values())
            for d in diagnoses:
                tree = self.sim.trees.get(d.id)
                if tree is not None:
                    pool |= C.names(tree)[1]
                pool |= set(d.presentation.symptoms) | set(d.presentation.history)
        must = [f for f in self.extras.deny if f not in self.case.findings and self._negation(f) is not None]
        candidates = sorted(f for f in pool if f in self.reg.findings and f not in self.case.findings
                            and f not in must and f not in self.extras.sections and self._negation(f) is not None)
        chosen = must + self.rng.sample(candidates, min(len(candidates), self.rng.randint(2, 5)))
        out: dict[str, list[str]] = {}
        for fid in chosen:
            out.setdefault(self.reg.findings[fid].kind, []).append(fid)
        return out

    # ---- findings --------------------------------------------------------------------------------
    def kind(self, *kinds: str) -> list[str]:
        return [f for k in kinds for f in self.kinds.get(k, [])]

    def finding(self, fid: str, terse: bool = False, heading: bool = False) -> str:
        """A phrase for finding `fid`: mostly its name, abbreviations in terse notes, and under a
        heading ('PMH:', 'ECG:') preferably without 'history of' / 'on ECG'."""
        options = self.lex.finding_phrases(fid)
        weights = []
        for i, p in enumerate(options):
            w = 3.0 if i == 0 else 0.6
            if abbreviation(p):
                w = 3.0 if terse else 0.3
            if heading and (p.lower().startswith("history of ") or " on " in p):
                w *= 0.1
            weights.append(w)
        return self.rng.choices(options, weights)[0]

    def findings(self, fids: list[str], terse: bool = False, heading: bool = False) -> list[str]:
        return [self.finding(f, terse, heading) for f in fids]

    def _negation(self, fid: str) -> list[str] | None:
        """How finding `fid` can be denied: phrases that fit 'no <phrase>', best first (None if
        none do). A history item is denied as written ('no prior stroke or TIA', 'no tobacco
        use') or as 'history of <its name>'."""
        phrases = self.lex.finding_phrases(fid)
        if not phrases:
            return None
        if self.reg.findings[fid].kind == "history":
            direct = [p for p in phrases if re.match(r"(?i)(history|prior|previous|recent|family)\b", p)
                      or re.search(r"(?i)\b(use|history)$", p)]
            if direct:
                return direct
            name = phrases[0]
            return None if name.lower().endswith("er") else [f"history of {name}"]
        return [p for p in phrases if "positive" not in p.lower()] or None

    def negated(self, *kinds: str) -> list[str]:
        """Phrases for the pertinent negatives of these kinds (to follow 'no' / 'denies')."""
        out = []
        for k in kinds:
            for fid in self.negatives.get(k, []):
                options = self._negation(fid)
                out.append(self.rng.choices(options, [3.0] + [0.6] * (len(options) - 1))[0])
        return out

    # ---- values ----------------------------------------------------------------------------------
    def label(self, vid: str, terse: bool = False) -> str:
        names = [n for n in self.lex.variable_labels(vid) if "_" not in n]
        short = [n for n in names if abbreviation(n, 7)]
        plain = [n for n in names if n not in short and "(" not in n] or names
        if terse and short and self.rng.random() < 0.85:
            return self.rng.choice(short)
        if self.rng.random() < 0.8:
            return mid_sentence(plain[0])
        return mid_sentence(self.rng.choice(plain + short))

    def number(self, vid: str) -> str:
        var = self.reg.variables[vid]
        return quantity_text(var, self.case.values[vid], self.units[vid])

    def spelling(self, vid: str) -> str:
        return unit_spelling(self.reg.variables[vid], self.units[vid]) or ""

    def quantity(self, vid: str, terse: bool = False) -> str:
        """'134 mmol/L'; in terse notes a canonical unit is often left out ('HR 104')."""
        if terse and self.units[vid] == self.reg.variables[vid].unit and self.spelling(vid) != "%" \
                and self.rng.random() < 0.5:
            return self.number(vid)
        return with_unit(self.number(vid), self.spelling(vid))

    def value(self, vid: str, terse: bool = False, joiners=(" ",)) -> str:
        text = f"{self.label(vid, terse)}{self.rng.choice(joiners)}{self.quantity(vid, terse)}"
        if vid == "spo2" and self._room_air():
            text += " on RA" if terse else " on room air"
        elif vid == "spo2" and "fio2" in self.values:
            text += f" on {self.value('fio2', terse)}"
        return text

    def _room_air(self) -> bool:
        return "fio2" not in self.case.values or self.case.values["fio2"] == 21

    def vitals(self, terse: bool = False, joiners=(" ",)) -> list[str]:
        """Vital signs, bedside scores and body measures, in a shuffled order."""
        vids = [v for v in self.values if self.reg.variables[v].category in VITAL_CATEGORIES
                and v not in self.extras.sections]
        items = []
        if "sbp" in vids and "dbp" in vids:
            bp = f"{self.number('sbp')}/{self.number('dbp')}"
            items.append(f"BP {bp}" if terse else f"blood pressure{self.rng.choice(joiners)}{bp} mmHg")
            vids = [v for v in vids if v not in ("sbp", "dbp")]
        items += [self.value(v, terse, joiners) for v in vids]
        self.rng.shuffle(items)
        return items

    def in_vitals(self, vid: str) -> bool:
        cat = self.reg.variables[vid].category
        return cat in VITAL_CATEGORIES or (vid == "fio2" and "spo2" in self.values and not self._room_air())

    def groups(self, terse: bool = False) -> list[tuple[str, list[str]]]:
        """Results other than vitals, by registry category: [(heading, [vid, ...]), ...]."""
        by_cat: dict[str, list[str]] = {}
        for vid in self.values:
            if not self.in_vitals(vid) and vid not in self.extras.sections:
                by_cat.setdefault(self.reg.variables[vid].category, []).append(vid)
        out = []
        for cat in sorted(by_cat, key=lambda c: GROUP_ORDER.index(c) if c in GROUP_ORDER else len(GROUP_ORDER)):
            vids = by_cat[cat]
            self.rng.shuffle(vids)
            heading = P.LAB_GROUPS.get(cat, P.LAB_GROUPS["other"])[0 if terse else 1]
            if terse and cat == "chemistry" and set(vids) <= P.BMP:
                heading = "BMP"
            out.append((heading, vids))
        return out

    # ---- sections of a caller's own (NoteExtras) ---------------------------------------------------
    def section(self, name: str, terse: bool = False) -> list[str]:
        """What the extras place in section `name`: findings, values and the extras' own fragments."""
        items = self.findings(self.kind(name), terse)
        # outside a list of results a number always carries its unit ("alcohol intake 14/wk")
        items += [self.value(v) for v in self.values if self.extras.sections.get(v) == name]
        return items + self.extras.items(name, self, terse)

    # ---- filler ----------------------------------------------------------------------------------
    def harmless(self, sentence: str) -> bool:
        """True when `sentence` states nothing: no value, no age or sex, no finding the case does
        not have, no denial of one it has, no diagnosis, nothing the extras' facts forbid."""
        facts = scan(self.lex, sentence)
        if facts.values or facts.unit_errors or facts.age is not None or facts.sex is not None:
            return False
        if not set(facts.present) <= set(self.shown) or set(facts.negated) & set(self.case.findings):
            return False
        return not self.lex.leaks(sentence) and not self.extras.clashes(sentence)

    def filler(self, pool, k: int = 1) -> list[str]:
        """Up to `k` sentences from `pool` (strings or (text, unless) pairs) that are harmless."""
        job = self.rng.choice(P.JOBS)
        fills = {"partner": self.rng.choice(P.PARTNERS), "obj": "him" if self.male else "her",
                 "occupation": f"Retired {job}" if self.case.age >= 65 else f"Works as a {job}"}
        options = []
        stated = set(self.shown) | set(self.values)
        for entry in pool:
            text, unless = (entry, ()) if isinstance(entry, str) else entry
            if set(unless) & stated:
                continue
            text = text.format(**fills)
            if self.harmless(text):
                options.append(text)
        return self.rng.sample(options, min(k, len(options)))

    def medications(self) -> list[str]:
        """One drug for each history item the case has that a drug goes with."""
        meds = []
        for fid in self.kind("history"):
            drugs = [d for d in P.MEDICATIONS.get(fid, ()) if d not in meds and self.harmless(d)]
            if drugs:
                meds.append(self.rng.choice(drugs))
        return meds

    def reason(self) -> str | None:
        """Why a patient without symptoms is seen, when the extras say ('pre-operative assessment')."""
        return self.rng.choice(self.extras.reasons) if self.extras.reasons else None

    def duration(self, terse: bool = False) -> str:
        """How long the symptoms have lasted ('3 days', '2 wk'), within the extras' onset window."""
        options = P.TRIAGE_DURATIONS if terse else P.DURATIONS
        if self.extras.onset_days is not None:
            lo, hi = self.extras.onset_days
            options = [o for o in options if lo <= P.DURATION_DAYS[o] <= hi] or options
        return self.rng.choice(options)

    def clock(self) -> str:
        return f"{self.rng.randint(0, 23):02d}:{self.rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50)):02d}"
