"""Answer verification: pure functions from an answer text and the truth to a `Verdict`.

- Diagnoses: the answer is normalised (case, punctuation, leading phrases such as "The diagnosis
  is"), every known name, synonym and ICD-10 id is looked for in it, and overlapping matches keep
  the longest. Exactly one diagnosis must be named: a hedged list ("NSTEMI or unstable angina")
  is wrong even when it contains the right one.
- Numbers: the answer is read by `simulator.answers.read_number`, the reader every grader
  shares (units ignored, digits inside names and units such as "CHA2DS2-VASc" or
  "mL/min/1.73 m2" are not values, two different values are a hedge and wrong), then compared
  with the truth: exact for integer scores, +-5 % for decimals (MedCalc-Bench).
- Next step: the answer must match the diagnosis's first-line management (or a synonym) better
  than any other diagnosis's, by token overlap.

    >>> from simulator.verify import grade_number
    >>> grade_number("The eGFR is 58 mL/min/1.73 m2.", 58.4, integer=False).correct
    True
"""

from __future__ import annotations

import re
from typing import Iterable

from simulator.answers import read_number
from simulator.calculators.base import within_tolerance
from simulator.case import Verdict

_LEADS = re.compile(
    r"^(final answer|answer|diagnosis|the diagnosis is|the most likely diagnosis is|most likely diagnosis"
    r"|most likely|likely|this is|it is|dx|the answer is|probable|suspected)\s*[:\-]?\s*", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9a-z]+)?")
_HEDGES = re.compile(r"\b(or|versus|vs|vs\.|differential|either|possibly)\b")
_STOP = {"the", "a", "an", "and", "of", "with", "to", "for", "in", "on", "start", "give", "begin", "initiate",
         "administer", "patient", "immediate", "immediately", "urgent", "urgently", "is", "be", "then"}


def normalise(text: str) -> str:
    """Lower case, unify dashes/apostrophes, drop punctuation except decimal points in codes.

    >>> normalise("  Diabetic Keto-acidosis (DKA). ")
    'diabetic keto acidosis dka'
    """
    t = text.lower().replace("\u2019", "'").replace("'s", "s")
    return " ".join(_WORD.findall(t.replace("-", " ").replace("/", " ")))


class DiagnosisIndex:
    """Every name, synonym and id of a set of diagnoses, for matching inside free text."""

    def __init__(self, diagnoses: Iterable):
        self.names: dict[str, str] = {}
        for d in diagnoses:
            for n in (d.id, d.name, *d.synonyms):
                key = normalise(n)
                if key:
                    self.names.setdefault(key, d.id)
        # longest first, so "type 2 diabetes with ketoacidosis" beats "diabetes"
        self._patterns = sorted(self.names, key=len, reverse=True)
        self._regex = re.compile(r"\b(" + "|".join(re.escape(p) for p in self._patterns) + r")\b") if self._patterns else None

    def lookup(self, text: str) -> str | None:
        """The diagnosis named exactly by `text` (after normalisation), else None."""
        return self.names.get(normalise(_LEADS.sub("", text.strip())))

    def mentions(self, text: str) -> list[str]:
        """Diagnosis ids named anywhere in `text`, longest matches first, no overlaps."""
        if self._regex is None:
            return []
        norm = normalise(text)
        found, taken = [], []
        for m in self._regex.finditer(norm):  # the alternation is ordered longest-first
            span = m.span()
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            taken.append(span)
            dx = self.names[m.group(1)]
            if dx not in found:
                found.append(dx)
        return found


def grade_diagnosis(answer: str, truth_id: str, index: DiagnosisIndex, names: dict[str, str] | None = None) -> Verdict:
    """Grade a diagnosis answer against `truth_id` (one diagnosis only; synonyms count)."""
    text = (answer or "").strip()
    if not text:
        return Verdict(False, None, "empty answer", formatted=False)
    exact = index.lookup(text)
    if exact:
        return Verdict(exact == truth_id, exact, "exact name match" if exact == truth_id else
                     f"named {exact}{f' ({names[exact]})' if names else ''}, expected {truth_id}")
    found = index.mentions(text)
    if not found:
        return Verdict(False, None, "no known diagnosis named in the answer", formatted=False)
    if len(found) > 1:
        return Verdict(False, found, f"hedged answer naming {len(found)} diagnoses ({', '.join(found)}); one is required")
    dx = found[0]
    if _HEDGES.search(normalise(text)) and dx != truth_id:
        return Verdict(False, dx, f"named {dx}, expected {truth_id}")
    return Verdict(dx == truth_id, dx, "matched a synonym" if dx == truth_id else f"named {dx}, expected {truth_id}")


def answer_number(answer: str) -> float | Verdict:
    """The one number `answer` gives, or the Verdict of an answer that gives none (not
    formatted) or hedges between several (wrong), as every numeric grader treats them.

    >>> answer_number("Answer: 12 mmol/L")
    12.0
    >>> answer_number("20-25").why
    'hedged between 20 and 25; one value is required'
    """
    reading = read_number(answer or "")
    if reading.value is None:
        return Verdict(False, None, "no number in the answer", formatted=False)
    if reading.hedged:
        return Verdict(False, [reading.value, *reading.others],
                       f"hedged between {reading.value:g} and {reading.others[0]:g}; one value is required")
    return reading.value


def grade_number(answer: str, truth: float, integer: bool) -> Verdict:
    value = answer_number(answer)
    if isinstance(value, Verdict):
        return value
    ok = within_tolerance(value, truth, integer)
    rule = "exact match required" if integer else "within 5 %"
    return Verdict(ok, value, f"{value:g} vs {truth:g} ({rule})")


def _tokens(text: str) -> set[str]:
    return {w for w in normalise(text).split() if w not in _STOP}


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)
    if not common:
        return 0.0
    p, r = common / len(a), common / len(b)
    return 2 * p * r / (p + r)


def grade_next_step(answer: str, truth_id: str, diagnoses: dict) -> Verdict:
    """The answer must match `truth_id`'s first-line step better than any other diagnosis's."""
    ans = _tokens(answer or "")
    if not ans:
        return Verdict(False, None, "empty answer", formatted=False)
    best: dict[str, float] = {}
    for dx_id, d in diagnoses.items():
        phrases = [d.management.first_line, *d.management.synonyms]
        best[dx_id] = max(_overlap(ans, _tokens(p)) for p in phrases)
    top = max(best.values())
    winner = [d for d, s in best.items() if s == top]
    ok = top >= 0.5 and truth_id in winner and len({diagnoses[w].management.first_line for w in winner}) == 1
    want = diagnoses[truth_id].management.first_line
    return Verdict(ok, answer.strip(), f"matches the first-line step ({want})" if ok else f"expected: {want}")
