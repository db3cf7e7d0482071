"""Reading a clinical note back into a case: demographics, values with units, findings, negation.

    from simulator.notes import read_note
    case = read_note(sim, text)      # Case with the engine's label, or Rejection (reason, detail)
    facts = scan(lexicon(sim), text) # what was found, before validation

What is recognised (all names come from the registry, via `lexicon.Lexicon`):
- age and sex: "64-year-old man", "64 yo F", "64M", "Age: 64 ... Sex: F", then "Mr/Mrs/Ms" and
  pronouns for the sex when nothing else says it;
- a value: a variable's name or alias, optional linking words (":", "=", "of", "is", "was",
  "at", "measured at"), a number (thousands separators allowed) and, optionally, a unit the
  variable accepts ("Na 134", "sodium was 134 mmol/L", "creatinine 109 umol/L", "SpO2 94%");
  without a unit the number is in the canonical unit. "BP 142/88" and "blood pressure 142/88
  mmHg" give systolic and diastolic pressure. The first mention of a variable counts;
- a finding: any of its phrases. It is negated when a trigger ("no", "not", "denies",
  "without", "negative for", "never", "nor", "free of") precedes it in the same clause; a
  clause ends at ". ", ";", a line break or a word that starts a new assertion ("but",
  "however", "reports", "c/o", "presents", "has", "who"). So "Denies chest pain, SOB or
  palpitations" negates all three and "Reports cough but denies fever" negates only fever.
  A finding mentioned once without negation is present.

Values are read at the registry's precision (`Variable.round`): the precision the simulator
generates at, so a note written by `render_note` reads back to exactly its case.
Limits: serial values ("troponin 30 then 450") keep the first; a positive finding placed after a
negation in the same clause ("no fever and a cough") is read as negated.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

from simulator.case import Case, Rejection
from simulator.errors import UnitError
from simulator.notes.lexicon import Lexicon, lexicon
from simulator.variables import unit_key

_LINK = r"(?:\s*(?:[:=]|(?i:of|is|was|were|at|measured at|level)(?![A-Za-z])))*\s*"
_NUMBER = r"(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?)(?![\d])"
_BP = re.compile(r"(?<![A-Za-z0-9])(?:BP|(?i:blood pressure|B/P))" + _LINK +
                 r"(?P<sbp>\d{2,3})\s*/\s*(?P<dbp>\d{2,3})(?:\s*(?i:mm\s?Hg))?")
_UNIT_TOKENS = re.compile(r"[ \t]*(\S+)(?:[ \t]+(\S+))?")
_TRIGGER = re.compile(r"(?i)(?<![A-Za-z])(?:no|not|denies|denied|denying|without|negative for|neg for|never|"
                      r"nor|free of|absence of|ruled out)(?![A-Za-z])")
_BOUNDARY = re.compile(r"\.(?=\s|$)|[;!?\n]|(?<![A-Za-z])(?i:but|however|although|though|except|whereas|yet|"
                       r"reports|reported|complains|c/o|presents|presenting|has|who)(?![A-Za-z])")
_AGE_SEX = (
    re.compile(r"(?<!\d)(\d{2,3})[- ]?(?:year|yr)s?[- ]?old[ ,]+(?:(?:white|black|asian|hispanic)\s+)?"
               r"(man|woman|male|female|gentleman|lady|M|F)(?![A-Za-z])", re.I),
    re.compile(r"(?<!\d)(\d{2,3}) ?(?:yo|y/o|y\.o\.|yrs?|y)[ ,]*(M|F|male|female|man|woman)(?![A-Za-z])", re.I),
    re.compile(r"(?<![\d/:.])(\d{2,3})(M|F)(?![A-Za-z0-9])"),
)
_AGE = re.compile(r"(?i)(?:\bage[d:]?\s*:?\s*|\(age\s+)(\d{2,3})(?!\d)")
_SEX = re.compile(r"(?i)\bsex\s*:?\s*(M|F|male|female)(?![A-Za-z])")
_TITLE = re.compile(r"\b(Mr|Mrs|Ms|Miss)\b")
_SEXES = {"m": "M", "male": "M", "man": "M", "gentleman": "M", "f": "F", "female": "F", "woman": "F", "lady": "F",
          "mr": "M", "mrs": "F", "ms": "F", "miss": "F"}


@dataclass
class NoteFacts:
    """What a note states, before validation: values as written (number, unit or None)."""

    age: int | None = None
    sex: str | None = None
    values: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    present: list[str] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)
    unit_errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.values or self.present or self.negated or self.unit_errors
                    or self.age is not None or self.sex is not None)


def scan(lex: Lexicon, text: str) -> NoteFacts:
    """Everything `text` states, by the registry's names (no validation, no engine)."""
    facts = NoteFacts()
    masked = list(text)
    reg = lex.registry
    if "sbp" in reg.variables and "dbp" in reg.variables:
        for m in _BP.finditer(text):
            for vid in ("sbp", "dbp"):
                facts.values.setdefault(vid, (float(m.group(vid)), None))
            masked[m.start():m.end()] = " " * (m.end() - m.start())
    for m in _value_regex(lex).finditer("".join(masked)):
        vid = lex.resolve(m.group("label"))
        unit, end = _unit_after(lex, reg.variables[vid], text, m.end(), facts)
        if vid not in facts.values:
            facts.values[vid] = (float(m.group("num").replace(",", "")), unit)
        masked[m.start():end] = " " * (end - m.start())
    _findings(lex, "".join(masked), facts)
    _demographics(text, facts)
    return facts


def read_note(sim, text: str) -> Case | Rejection:
    """The case a note describes, validated and labelled by the engine like a proposed case."""
    from simulator.validation import validate_case

    reg = sim.registry
    facts = scan(lexicon(sim), text)
    if facts.unit_errors:
        return Rejection("unit", "; ".join(facts.unit_errors))
    if facts.age is None or facts.sex is None:
        missing = "age" if facts.age is None else "sex"
        return Rejection("schema", f"the note does not give the patient's {missing}; write e.g. "
                         "'64-year-old man' or 'Age: 64  Sex: M'")
    measurements, shown = {}, {}
    for vid, (number, unit) in facts.values.items():
        var = reg.variables[vid]
        measurements[vid] = var.round(var.to_canonical(number, unit))
        if unit and unit_key(unit) != unit_key(var.unit):
            shown[vid] = (unit, number)
    case = validate_case(sim, {"age": facts.age, "sex": facts.sex, "findings": facts.present,
                               "measurements": measurements})
    if isinstance(case, Case):
        for vid, (unit, number) in shown.items():
            case.units[vid], case.shown[vid] = unit, number
    return case


# ---- pieces ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _compiled_values(variable_regex: str) -> re.Pattern:
    return re.compile(f"(?P<label>{variable_regex}){_LINK}{_NUMBER}")


def _value_regex(lex: Lexicon) -> re.Pattern:
    return _compiled_values(lex.variable_regex)


def _accepts(var, unit: str) -> bool:
    try:
        var.to_canonical(1.0, unit)
    except UnitError:
        return False
    return True


def _unit_after(lex: Lexicon, var, text: str, pos: int, facts: NoteFacts) -> tuple[str | None, int]:
    """The unit written right after a number at `pos` (two words tried before one), and where it
    ends. A word that is some variable's unit but not this one's is recorded as a unit error."""
    m = _UNIT_TOKENS.match(text, pos)
    if not m:
        return None, pos
    first = m.group(1)
    tries = [(f"{first} {m.group(2)}", m.end(2))] if m.group(2) else []
    tries.append((first, m.end(1)))
    for i, (raw, end) in enumerate(tries):
        cand = raw.lstrip("(").rstrip(",;.)")
        if not cand:
            return None, pos
        if _accepts(var, cand):
            return cand, end - (len(raw) - len(raw.rstrip(",;.)")))
        if i == len(tries) - 1 and unit_key(cand) in lex.unit_keys:
            facts.unit_errors.append(f"{var.name}: unit {cand!r} is not accepted; use one of "
                                     f"{', '.join(var.accepted_units())}")
    return None, pos


def _findings(lex: Lexicon, text: str, facts: NoteFacts) -> None:
    """Present and negated findings. Words inside a matched phrase ('... without visible P
    waves') neither negate nor end a clause."""
    matches = [(m, lex.resolve(m.group(0))) for m in lex.finding_regex.finditer(text)]
    plain = list(text)
    for m, _ in matches:
        plain[m.start():m.end()] = " " * (m.end() - m.start())
    plain = "".join(plain)
    bounds = [m.end() for m in _BOUNDARY.finditer(plain)]
    present, negated = [], []
    for m, fid in matches:
        if fid is None:
            continue
        i = bisect.bisect_right(bounds, m.start())
        start = bounds[i - 1] if i else 0
        (negated if _TRIGGER.search(plain, start, m.start()) else present).append(fid)
    facts.present = list(dict.fromkeys(present))
    facts.negated = [f for f in dict.fromkeys(negated) if f not in facts.present]


def _demographics(text: str, facts: NoteFacts) -> None:
    for rx in _AGE_SEX:
        m = rx.search(text)
        if m:
            facts.age, facts.sex = int(m.group(1)), _SEXES[m.group(2).lower()]
            return
    m = _AGE.search(text)
    if m:
        facts.age = int(m.group(1))
    m = _SEX.search(text) or _TITLE.search(text)
    if m:
        facts.sex = _SEXES[m.group(1).lower()]
    elif facts.age is not None:
        he = len(re.findall(r"\b(?:he|him|his)\b", text, re.I))
        she = len(re.findall(r"\b(?:she|her|hers)\b", text, re.I))
        facts.sex = "M" if he > she else "F" if she > he else None
