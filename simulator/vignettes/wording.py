"""Writing a calculator vignette as a clinical note, in any of the five note styles.

    from simulator.vignettes import calculator_case, render_vignette
    cc = calculator_case(sim, "mme", seed=4)
    note = render_vignette(sim, cc)            # Note; style drawn from the calculator and seed
    print(note.text, cc.question)

The note writer of `simulator.notes` does the writing, with the registry extended by the
calculators' inputs, so a vignette note reads like any other (abbreviations, mixed units,
pertinent negatives, filler) and its facts are read back by the same reader. `VignetteExtras`
adds what a plain case has no place for:
- prescriptions with dose, route and frequency in the medication list ("oxycodone 10 mg PO q6h",
  "methylprednisolone 125 mg IV"), in the drug's usual spellings;
- dates after a label in the history ("LMP 02/14/2024", "last menstrual period: 14 February 2024");
- facts moved to where that kind of document keeps them (a clinical judgement to the impression,
  alcohol intake to the social history, an infusion rate to the medications);
- pertinent negatives chosen among the absent items of the score, denials that must be stated
  ("no cough or coryza"), and derived values the score takes (a BMI);
- filler never names a drug a prescription of the vignette names.

Never in the note: the calculator's name or aliases, the quantity it computes, or a measured value
that stands for the answer (a measured osmolality, a GCS total); `answer_leaks` checks a text.
"""

from __future__ import annotations

import functools
import re
import zlib

from simulator import calculators
from simulator.calculators.base import fmt
from simulator.calculators.medcalc_entities import MEDCALC_NAMES
from simulator.notes.draft import NoteError, NoteExtras
from simulator.notes.lexicon import alternation, lexicon
from simulator.notes.writer import Note, render_note
from simulator.verify import normalise
from simulator.vignettes.kit import Kit
from simulator.vignettes.reading import regimen_drugs

DATE_FORMATS = ("%m/%d/%Y", "%d %B %Y", "%B %d, %Y", "%Y-%m-%d")
DATE_JOINERS = (" ", ": ", " was ", " on ")
_DENIABLE_HISTORY = re.compile(r"(?i)^(history|prior|previous|recent|family)\b|\b(use|history)$")


@functools.lru_cache(maxsize=8)
def _facts_regex(kit: Kit) -> re.Pattern:
    """Every name of the registry's values and findings (to tell a fact's name from an answer's)."""
    lex = lexicon(kit.sim)
    return re.compile(alternation([n for ns in (*lex.variable_names.values(), *lex.finding_names.values())
                                   for n in ns]))


def _mask_facts(kit: Kit, calc_id: str, text: str) -> str:
    """`text` with the names of measured values and findings blanked, but those a calculator's
    answer would be (its hidden values, derived values such as MAP or eGFR)."""
    lex, reg = lexicon(kit.sim), kit.sim.registry
    hidden = set(kit.spec.calculators[calc_id].hide)

    def blank(m: re.Match) -> str:
        fid = lex.resolve(m.group(0))
        var = reg.variables.get(fid)
        keep = var is not None and (fid in hidden or var.derive)
        return m.group(0) if keep else " " * len(m.group(0))
    return _facts_regex(kit).sub(blank, text)


class VignetteExtras(NoteExtras):
    """What a vignette's note says beyond the registry's facts (see the module docstring)."""

    def __init__(self, kit: Kit, cc):
        self.kit, self.cc = kit, cc
        calc = calculators.get(cc.calculator)
        spec = kit.spec
        sections = {}
        for name, w in spec.wording.items():
            if w.section:
                sections[name] = w.section
                sections.update({fid: w.section for fid in w.options.values()})
        self.sections = sections
        self.negatives = tuple(f for f in cc.negatives if deniable(kit, f))
        self.deny = tuple(cc.denied)
        self.show = tuple(cc.show)
        self.reasons = tuple(spec.calculators[calc.id].reasons)
        for name, w in spec.wording.items():
            if w.onset_days and name in {i.name for i in calc.inputs}:
                self.onset_days = w.onset_days.get("present" if name in cc.case.findings else "absent")
        self.prescriptions = []
        for inp in calc.inputs:
            r = spec.wording_of(inp.name).regimen
            if r is None or inp.name not in cc.details:
                continue
            drug = r.drug or str(cc.details[r.drug_from])
            per_day = cc.details.get(r.per_day) if r.per_day else None
            self.prescriptions.append((drug, cc.details[inp.name], per_day, r.frequencies))
        self.dates = [(spec.wording_of(i.name).date, cc.details[i.name]) for i in calc.inputs
                      if i.kind == "date" and spec.wording_of(i.name).date and i.name in cc.details]
        names = [n for d in regimen_drugs(kit, calc) for n in spec.drugs[d].names]
        self._drug_words = re.compile(rf"(?i)\b(?:{'|'.join(re.escape(n) for n in names)})\b") if names else None

    def items(self, section, draft, terse):
        rng = draft.rng
        if section == "medications":
            return [prescription_text(self.kit, drug, dose, per_day, frequencies, rng)
                    for drug, dose, per_day, frequencies in self.prescriptions]
        if section == "hpi":
            return [f"{rng.choice(labels)}{rng.choice(DATE_JOINERS)}{date.strftime(rng.choice(DATE_FORMATS))}"
                    for labels, date in self.dates]
        return []

    def clashes(self, text):
        return bool(self._drug_words and self._drug_words.search(text))


def deniable(kit: Kit, fid: str) -> bool:
    """True when a note can deny finding `fid` in plain words ('No history of stroke'; not
    'No nursing home resident')."""
    finding = kit.sim.registry.findings.get(fid)
    if finding is None:
        return False
    if finding.kind != "history":
        return True
    return any(_DENIABLE_HISTORY.search(p) for p in lexicon(kit.sim).finding_phrases(fid))


def prescription_text(kit: Kit, drug_id: str, dose: float, per_day, frequencies, rng) -> str:
    """'oxycodone 10 mg PO q6h': a name of the drug, the dose, its route (always when the name is
    shared by drugs that differ in route) and the frequency."""
    spec = kit.spec
    drug = spec.drugs[drug_id]
    name = rng.choice(drug.names)
    shared = any(other != drug_id and name in d.names for other, d in spec.drugs.items())
    routes = spec.routes.get(drug.route, [])
    route = rng.choice(routes) if routes and (shared or rng.random() < 0.6) else ""
    if per_day is None and frequencies:
        per_day = rng.choice(frequencies)
    frequency = rng.choice(spec.frequencies[int(per_day)]) if per_day else ""
    parts = [name, f"{fmt(dose)} {rng.choice(spec.unit_spellings[drug.unit])}", route, frequency]
    return " ".join(p for p in parts if p)


def render_vignette(sim, cc, style: str | None = None, seed: int | None = None) -> Note:
    """The vignette `cc` as a note; the same case, style and seed give the same text."""
    kit = Kit.of(sim)
    note_seed = zlib.crc32(f"{cc.calculator}:{cc.seed if seed is None else seed}".encode())
    note = render_note(kit.sim, cc.case, style=style, seed=note_seed, extras=VignetteExtras(kit, cc))
    leaks = answer_leaks(kit, cc.calculator, note.text)
    if leaks:
        raise NoteError(f"the note of {cc.calculator} seed {cc.seed} names its answer ({', '.join(leaks)}); "
                        "reword the phrases of knowledge/calculators/inputs.yaml")
    return note


def answer_leaks(kit: Kit, calculator: str, text: str) -> list[str]:
    """Names of the calculator (id, name, aliases, MedCalc-Bench name) or of the quantity it
    computes that `text` contains. Short acronyms (GCS, MAP, EDD) match in their own case. Names of
    other measured facts are not leaks ('urine osmolality' for a calculated serum osmolality)."""
    calc = calculators.get(calculator)
    cs = kit.spec.calculators[calc.id]
    names = {calc.id.replace("_", " "), calc.name, *calc.aliases, re.sub(r"\{[^}]*\}", "", cs.quantity).strip()}
    if calc.medcalc_id is not None:
        names.add(MEDCALC_NAMES[calc.medcalc_id])
    found = _names_in(names, text)
    return _names_in(found, _mask_facts(kit, calc.id, text)) if found else []


def _names_in(names, text: str) -> list[str]:
    plain = f" {normalise(text)} "
    found = []
    for name in sorted(names):
        if re.fullmatch(r"[A-Z0-9\-]{2,6}", name.strip()):
            if re.search(rf"(?<![A-Za-z0-9]){re.escape(name.strip())}(?![A-Za-z0-9])", text):
                found.append(name)
        elif len(normalise(name)) > 3 and f" {normalise(name)} " in plain:
            found.append(name)
    return found
