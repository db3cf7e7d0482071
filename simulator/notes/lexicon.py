"""The words clinical notes are written and read with, all taken from the loaded registry.

One `Lexicon` per simulator serves both sides, so a note's writer and its reader can never
disagree on a name:
- every variable is found by its id, display name and aliases ("Sodium", "Na", "serum sodium");
  every finding by its name, aliases and two derived forms: a history item without its
  "history of " ("hypertension"), and an ECG/imaging finding without its trailing
  " on <modality>" ("T-wave inversion", from "T-wave inversion on ECG");
- phrases of up to three characters ("T", "K", "SOB", "HTN") match with their case as written,
  longer ones in any case; spaces and hyphens are interchangeable ("T wave" = "T-wave");
- `leaks(text)` names the diagnoses a text would give away: any name, synonym or ICD-10 id of
  any loaded pack (the verifier's own `DiagnosisIndex`), so notes are checked with the same
  matcher that grades free-text answers;
- `finding_phrases(fid)` lists the ways to write a finding that name no diagnosis, preferring,
  for ECG/imaging/test results, those that describe rather than name a disease
  ("visible pleural line" over "pneumothorax on chest imaging").

    lex = lexicon(Simulator.load())
    lex.resolve("SOB")                    # 'dyspnea'
    lex.finding_phrases("pleural_effusion")   # descriptive aliases only

Limits: a finding whose every name and alias names a diagnosis has no phrase; the writer then
leaves it out when the engine does not need it and refuses the case otherwise (see writer.py).
"""

from __future__ import annotations

import re
from functools import cached_property

from simulator.verify import normalise

RESULT_KINDS = ("ecg", "imaging", "test")
_MODALITY_SUFFIX = re.compile(r"^(.+?) on (?:an? )?(?:ECG|EKG|chest X-ray|chest imaging|ultrasound|CT\b.*|HRCT|"
                              r"echocardiography.*|imaging)$", re.I)
# A disease noun phrase ends in its head word ("primary spontaneous pneumothorax"); these heads are
# too general for a result that shares them to be taken as naming a diagnosis.
_GENERIC_HEADS = {"disease", "syndrome", "state", "infection", "injury", "crisis", "failure", "deficiency",
                  "emergency", "urgency", "exacerbation", "attack", "flare", "throat", "sugar", "potassium",
                  "sodium", "magnesium", "deficit", "hypo", "mi"}
_SMALL_WORDS = {"as", "of", "in", "on", "to", "at", "and", "or", "with", "by", "an"}
SHORT = 3  # phrases of at most this many characters match case-sensitively


def phrase_key(text: str) -> str:
    """Lookup key of a phrase: hyphens and runs of spaces unified; lower case unless short."""
    t = re.sub(r"[\s\-]+", " ", text.strip())
    return t if len(t) <= SHORT else t.lower()


def spellings(phrase: str) -> list[str]:
    """A short phrase is also matched capitalised at the start of a line ('Plt' for 'PLT')."""
    p = phrase.strip()
    return list(dict.fromkeys([p, p.capitalize()])) if len(p) <= SHORT else [p]


def _pattern(phrase: str) -> str:
    body = r"[\s\-]+".join(re.escape(w) for w in re.split(r"[\s\-]+", phrase.strip()))
    return body if len(phrase.strip()) <= SHORT else f"(?i:{body})"


def alternation(phrases) -> str:
    """One regex alternative per phrase, longest first, bounded by non-alphanumerics."""
    ordered = sorted({s for p in phrases for s in spellings(p)}, key=lambda p: (-len(p), p))
    return r"(?<![A-Za-z0-9])(?:" + "|".join(_pattern(p) for p in ordered) + r")(?![A-Za-z0-9])"


class Lexicon:
    """Names of a registry's variables and findings, and the diagnoses of its packs (`index`, a
    `simulator.verify.DiagnosisIndex`), for writing and reading notes."""

    def __init__(self, registry, index):
        self.registry, self.index = registry, index
        reg = registry
        self.targets: dict[str, str] = {}
        self.variable_names: dict[str, list[str]] = {}
        self.finding_names: dict[str, list[str]] = {}
        for vid, var in reg.variables.items():
            names = [var.name, *var.aliases] + ([vid] if "_" in vid else [])
            self.variable_names[vid] = self._claim(vid, names)
        for fid, f in reg.findings.items():
            self.finding_names[fid] = self._claim(fid, [f.name, *f.aliases, *_derived_forms(f)])

    def _claim(self, target: str, names: list[str]) -> list[str]:
        """Register `names` for `target` (a name already taken by another target stays theirs);
        returns the names that resolve to `target`."""
        mine = []
        for n in names:
            if not n or not n.strip():
                continue
            if self.targets.setdefault(phrase_key(n), target) == target and n not in mine:
                mine.append(n)
                for variant in spellings(n)[1:]:
                    self.targets.setdefault(phrase_key(variant), target)
        return mine

    # ---- lookups ---------------------------------------------------------------------------------
    def resolve(self, text: str) -> str | None:
        """The variable or finding id a phrase names, else None."""
        k = phrase_key(text)
        return self.targets.get(k) or self.targets.get(k.lower())

    def leaks(self, text: str) -> list[str]:
        """Ids of the diagnoses that `text` names (name, synonym or ICD-10 id of any loaded pack)."""
        return self.index.mentions(text)

    @cached_property
    def _heads(self) -> set[str]:
        heads = set()
        for key in self.index.names:
            words = key.split()
            if len(words) >= 2 and words[-1] not in _GENERIC_HEADS and re.search("[a-z]{2}", words[-1]) \
                    and words[-1] not in _SMALL_WORDS:
                heads.add(words[-1])
        return heads

    def describes(self, text: str) -> bool:
        """False when `text` contains the head word of a diagnosis name ('pneumothorax',
        'fibrillation'): it names a disease rather than describing what was seen."""
        return not (set(normalise(text).split()) & self._heads)

    @cached_property
    def _finding_choices(self) -> dict[str, list[str]]:
        out = {}
        reg = self.registry
        for fid, names in self.finding_names.items():
            safe = [n for n in names if not self.leaks(n)]
            if reg.findings[fid].kind in RESULT_KINDS and any(self.describes(n) for n in safe):
                safe = [n for n in safe if self.describes(n)]
            out[fid] = safe
        return out

    def finding_phrases(self, fid: str) -> list[str]:
        """Ways to write finding `fid` that name no diagnosis (may be empty), best first."""
        return self._finding_choices[fid]

    def variable_labels(self, vid: str) -> list[str]:
        """Names of variable `vid` that resolve back to it and name no diagnosis."""
        return [n for n in self.variable_names[vid] if not self.leaks(n)]

    # ---- regular expressions for the reader ------------------------------------------------------
    @cached_property
    def variable_regex(self) -> str:
        return alternation(n for names in self.variable_names.values() for n in names)

    @cached_property
    def finding_regex(self) -> re.Pattern:
        return re.compile(alternation(n for names in self.finding_names.values() for n in names))

    @cached_property
    def unit_keys(self) -> set[str]:
        """Every unit spelling any variable accepts (normalised), to tell a wrong unit from a word."""
        from simulator.variables import unit_key

        return {unit_key(u) for var in self.registry.variables.values() for u in var.accepted_units()}


def _derived_forms(finding) -> list[str]:
    """'history of hypertension' -> 'hypertension'; 'T-wave inversion on ECG' -> 'T-wave inversion'."""
    out = []
    name = finding.name
    if finding.kind == "history" and name.lower().startswith("history of "):
        out.append(name[len("history of "):])
    if finding.kind in ("ecg", "imaging"):
        m = _MODALITY_SUFFIX.match(name)
        if m and len(m.group(1).split()) >= 2:
            out.append(m.group(1))
    return out


def lexicon(sim) -> Lexicon:
    """The lexicon of `sim`'s registry and packs, built once per simulator."""
    return sim.memo("lexicon", lambda s: Lexicon(s.registry, s.diagnosis_index))
