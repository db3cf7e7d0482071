"""Answer verification: pure functions from an answer text and the truth to a `Verdict`.

- Diagnoses: the answer is normalised (case, punctuation, leading phrases such as "The diagnosis
  is"), every known name, synonym and ICD-10 id is looked for in it, and overlapping matches keep
  the longest. Exactly one diagnosis must be named: a hedged list ("NSTEMI or unstable angina")
  is wrong even when it contains the right one.
- Numbers: the number in the answer (the one after "answer", else the last one; units ignored)
  is compared with the truth: exact for integer scores, +-5 % for decimals (MedCalc-Bench).
- Calculator answers of every kind (`grade_calculation`): numbers as above, a date as the same
  day in any notation (several different dates are a hedge), a gestational age as the same
  number of days ("14 weeks 1 day", "(14, 1)").
- Next step: the answer must contain one accepted phrase of the right management step (its text
  or a synonym, as content words: any order, spelling, route or drug name) and no other step
  (`grade_next_step`); a diagnosis's step can depend on the case (simulator/packs.py).

    >>> from simulator.verify import extract_number
    >>> extract_number("The anion gap is 12 mmol/L.")
    12.0
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from simulator.calculators.base import AnswerKind, answer_correct, within_tolerance
from simulator.calculators.dates import find_dates, format_date, parse_weeks_days
from simulator.case import Verdict

_LEADS = re.compile(
    r"^(final answer|answer|diagnosis|the diagnosis is|the most likely diagnosis is|most likely diagnosis"
    r"|most likely|likely|this is|it is|dx|the answer is|probable|suspected)\s*[:\-]?\s*", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9a-z]+)?")
_HEDGES = re.compile(r"\b(or|versus|vs|vs\.|differential|either|possibly)\b")
_NUMBER = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?")


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


def extract_number(text: str) -> float | None:
    """The number an answer gives: after 'answer' if present, else the last number in the text."""
    if not text:
        return None
    t = text.replace("\u2212", "-")
    tail = re.split(r"answer\s*(?:is)?\s*[:=]?", t, flags=re.I)
    scope = tail[-1] if len(tail) > 1 and _NUMBER.search(tail[-1]) else t
    nums = _NUMBER.findall(scope)
    if not nums:
        return None
    pick = nums[0] if scope is not t else nums[-1]
    try:
        return float(pick.replace(",", ""))
    except ValueError:
        return None


def grade_number(answer: str, truth: float, integer: bool) -> Verdict:
    value = extract_number(answer or "")
    if value is None:
        return Verdict(False, None, "no number in the answer", formatted=False)
    ok = within_tolerance(value, truth, integer)
    rule = "exact match required" if integer else "within 5 %"
    return Verdict(ok, value, f"{value:g} vs {truth:g} ({rule})")


def grade_calculation(answer: str, truth, kind: AnswerKind) -> Verdict:
    """Grade a calculator answer of any kind (see the module docstring)."""
    if kind in ("integer", "decimal"):
        return grade_number(answer, truth, kind == "integer")
    text = answer or ""
    tail = re.split(r"answer\s*(?:is)?\s*[:=]?", text, flags=re.I)[-1]
    if kind == "date":
        dates = list(dict.fromkeys(d for _, d in find_dates(tail) or find_dates(text)))
        if not dates:
            return Verdict(False, None, "no date in the answer", formatted=False)
        if len(dates) > 1:
            return Verdict(False, [format_date(d) for d in dates], "several different dates; one is required")
        ok = answer_correct(dates[0], truth, "date")
        return Verdict(ok, format_date(dates[0]), f"{format_date(dates[0])} {'==' if ok else '!='} {truth}")
    wd = parse_weeks_days(tail) or parse_weeks_days(text)
    if wd is None:
        return Verdict(False, None, "no weeks and days in the answer", formatted=False)
    ok = answer_correct(wd, truth, "weeks_days")
    return Verdict(ok, list(wd), f"{wd[0]} weeks {wd[1]} days {'matches' if ok else 'does not match'} {truth}")


# ---- next step: management steps as sets of content words --------------------------------------
_FILLER = frozenset("""a an the and or of with to for in on at by as then plus also is be should would will can i we
    patient patients first next step steps management manage treat treatment therapy care start starting begin
    initiate commence give giving administer perform arrange use using immediate immediately urgent urgently now
    recommend recommended appropriate best most likely answer final please this that it such eg e g via""".split())
_SAME = {"intravenous": "iv", "intravenously": "iv", "intramuscular": "im", "intramuscularly": "im",
         "subcutaneous": "sc", "subcutaneously": "sc", "po": "oral", "orally": "oral", "noradrenaline": "norepinephrine",
         "adrenaline": "epinephrine", "salbutamol": "albuterol", "frusemide": "furosemide", "cefalexin": "cephalexin",
         "paracetamol": "acetaminophen", "dextrose": "glucose", "drip": "infusion", "abx": "antibiotic",
         "maneuvre": "maneuver", "sulphate": "sulfate", "proning": "prone", "kcl": "potassium chloride"}
_SPELLING = ((re.compile(r"\bi\.\s?v\b\.?"), "iv"), (re.compile(r"\bp\.\s?o\b\.?"), "po"),
             (re.compile(r"ae|oe"), "e"), (re.compile(r"is(e|ed|es|ing|ation|ations)\b"), r"iz\1"),
             (re.compile(r"yse\b"), "yze"), (re.compile(r"sulph"), "sulf"))


def step_tokens(text: str) -> frozenset[str]:
    """The content words of a management phrase or answer: lower case, US spelling, singular, common
    drug and route names unified (noradrenaline = norepinephrine, intravenous = IV), filler
    words ("give", "start", "the first step is") dropped.

    >>> sorted(step_tokens("Give IV fluids and start an insulin infusion"))
    ['fluid', 'infusion', 'insulin', 'iv']
    >>> step_tokens("Intravenous noradrenaline") == step_tokens("IV norepinephrine")
    True
    """
    t = (text or "").lower()
    for pattern, repl in _SPELLING:
        t = pattern.sub(repl, t)
    out = set()
    for w in _WORD.findall(t.replace("-", " ").replace("/", " ")):
        if len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
        for x in _SAME.get(w, w).split():
            if x not in _FILLER:
                out.add(x)
    return frozenset(out)


def grade_next_step(answer: str, accepted: Sequence[str], others: Sequence[str] = ()) -> Verdict:
    """Grade a free-text first management step.

    Correct when the answer contains every content word of one `accepted` phrase (the step's
    text or a synonym; the answer may say more, in any order, spelling or common drug name) and
    names no other step: a phrase of `others` (the other steps of every diagnosis) counts as named
    when all its words are in the answer and are not all words of the right step, so "hypertonic
    saline or fluid restriction" is wrong for either and "IV fluids and insulin" is right for DKA
    although "IV fluids" alone is another diagnosis's step.

    >>> grade_next_step("Start an IV insulin infusion with fluids", ["IV fluids and insulin infusion"]).correct
    True
    """
    return _grade_step(answer, accepted, [step_tokens(p) for p in accepted], [(p, step_tokens(p)) for p in others])


def _grade_step(answer: str, accepted: Sequence[str], accepted_tokens, others) -> Verdict:
    words = step_tokens(answer)
    if not (answer or "").strip():
        return Verdict(False, None, "empty answer", formatted=False)
    want = accepted[0]
    matched = [t for t in accepted_tokens if t and t <= words]
    if not matched:
        return Verdict(False, answer.strip(), f"expected: {want}")
    vocabulary = frozenset().union(*accepted_tokens)
    for phrase, t in others:
        if t and t <= words and not t <= vocabulary:
            return Verdict(False, answer.strip(), f"also names another step ({phrase}); expected only: {want}")
    return Verdict(True, answer.strip(), f"matches the first step ({want})")


class ManagementIndex:
    """Every diagnosis's management steps, tokenised once, for grading next-step answers."""

    def __init__(self, diagnoses: Iterable):
        self.steps: dict[tuple[str, int], tuple[list[str], list[frozenset[str]]]] = {}
        self._all: list[tuple[str, str, frozenset[str]]] = []  # (step text, phrase, tokens)
        for d in diagnoses:
            for i, m in enumerate(d.management):
                phrases = [m.first_line, *m.synonyms]
                self.steps[(d.id, i)] = (phrases, [step_tokens(p) for p in phrases])
                self._all += [(m.first_line, p, step_tokens(p)) for p in phrases]

    def grade(self, answer: str, diagnosis: str, step: int) -> Verdict:
        phrases, tokens = self.steps[(diagnosis, step)]
        others = [(p, t) for first, p, t in self._all if first != phrases[0]]
        return _grade_step(answer, phrases, tokens, others)
