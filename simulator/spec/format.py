"""Case specifications as text: `parse_spec` reads what a proposer wrote into a `Spec`, and
`Spec.to_text()` writes its canonical form (used to find repeated specifications).

    diagnosis: diabetic ketoacidosis       # a name, synonym or ICD-10 id the packs know
    severity: moderate                     # mild | moderate | severe, or a number 0-1
    age: 45
    sex: F
    twist: hide kussmaul breathing
    twist: add fever
    twist: units glucose mmol/L
    twist: push potassium toward threshold

A calculation task names `calculator: <id or name>` instead of (or with) `diagnosis:`.

Lenient about form: keys in any case, with bullets, numbering, bold or `=`; key synonyms (dx,
condition, calc, score, gender, twists); several twists on one line separated by ';'; a twist
line without its key ("- add fever", "units: glucose mmol/L"); headings such as
"Specification:" are skipped. Strict about words: a name the packs do not know is a `Rejection`
whose `reason` is one of

    spec-parse           no diagnosis or calculator, an unknown key, a line that is not 'key: value'
    unknown-diagnosis    unknown-calculator    unknown-finding    unknown-variable
    unknown-twist        the twist does not start with add, hide, units, push or style
    unknown-style        a note style that does not exist
    bad-value            age outside 18-105, sex not M/F, severity not a word or a number 0-1
    bad-unit             a unit the value does not accept, or the same number under another name
    no-threshold         push on a value that no diagnostic criterion compares with a number
    too-many-twists      more than three
    conflict             two values for one key, the same twist twice, two styles, hide and add
                         (or push, or units) of the same thing, hiding a calculator's input, a
                         diagnosis whose cases do not carry the calculator's inputs
    absent               a twist on something the diagnosis's cases never show
                         (hide troponin in a DKA case); see simulator/spec/twists.py

and whose `detail` tells a person what to write instead. The full twist grammar is in
docs/specifications.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.case import Rejection
from simulator.notes import STYLES
from simulator.spec.vocabulary import SEVERITY_WORDS, Words, suggest
from simulator.validation import _SEX as SEXES
from simulator.verify import normalise

MAX_TWISTS = 3
TWIST_KINDS = ("add", "hide", "units", "push", "style")
CONFOUNDER, COMORBIDITY, GIVE_AWAY, ANY = "confounder", "comorbidity", "give-away", "any"
KEYS = {"diagnosis": "diagnosis", "dx": "diagnosis", "disease": "diagnosis", "condition": "diagnosis",
        "diagnosis name": "diagnosis", "calculator": "calculator", "calc": "calculator", "score": "calculator",
        "formula": "calculator", "severity": "severity", "sev": "severity", "age": "age", "age years": "age",
        "sex": "sex", "gender": "sex", "twist": "twist", "twists": "twist", "modifier": "twist",
        "modifiers": "twist", "change": "twist", "changes": "twist"}
STYLE_KEYS = {"style", "note style", "note", "note type", "format", "note format"}
VERBS = {"add": "add", "adds": "add", "with": "add", "plus": "add", "include": "add", "introduce": "add",
         "hide": "hide", "remove": "hide", "omit": "hide", "drop": "hide", "without": "hide", "mask": "hide",
         "conceal": "hide", "units": "units", "unit": "units", "convert": "units", "push": "push",
         "nudge": "push", "move": "push", "style": "style", "format": "style"}
_LEADS = {"change", "present", "presented", "write", "written", "make", "use", "show", "it", "its", "the", "a", "an"}
_ARTICLES = ("a", "an", "the", "some", "one")
_CONFOUNDER_WORDS = {"confounder", "confounding finding", "confounding", "confounding feature", "distractor",
                     "a confounder", "confounding factor", "red herring"}
_COMORBIDITY_WORDS = {"comorbidity", "comorbid condition", "a comorbidity", "comorbidities"}
_GIVE_AWAY_WORDS = {"give away", "giveaway", "give away finding", "clue", "key finding", "giveaway finding",
                    "a give away", "the give away", "give away value", "key clue"}
_FILLERS = re.compile(r"^(?:(?:a|an|the|confounding|confounder|comorbidity|comorbid|finding|condition|of|value|"
                      r"feature)\b[\s:]*)+", re.I)
# the end of a push twist: an optional direction, then an optional "threshold" word ("potassium just
# short of the cutoff"); only "short of", "shy of" and "missing" mean short, any other direction
# word (to, toward, near, across, above, below ...) means toward
_PUSH_END = re.compile(r"(?:\s+(?P<dir>(?:just\s+)?(?:short\s+of|shy\s+of|missing|misses|miss|towards?|to|near|"
                       r"across|over|past|at|close\s+to|up\s+to|into|beyond|above|below|under)))?"
                       r"(?:\s+(?:the\s+|its\s+|a\s+)?(?:threshold|cut\s*-?\s*off|criterion|limit|boundary)s?)?\s*$",
                       re.I)
_KEYED = re.compile(r"^([A-Za-z][A-Za-z _\-]*?)\s*\d*\s*[:=]\s*(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•+>]+|\(?\d+[.)])\s*")
_AGE = re.compile(r"^(\d{1,3})(?:\.0+)?\s*(?:y|yr|yrs|years?|years?\s+old|yo|y/o|-year-old)?$", re.I)


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


# ---- reading lines -------------------------------------------------------------------------------

def _clean(line: str) -> str:
    line = _BULLET.sub("", line.strip())
    return line.replace("**", "").replace("__", "").replace("`", "").strip()


def _split_twists(value: str) -> list[str]:
    """'add fever; hide polyuria' and 'add fever, hide polyuria' -> two twists."""
    verbs = "|".join(sorted({*VERBS, "present", "change", "write", "as"}, key=len, reverse=True))
    parts = re.split(rf";|,\s*(?=(?:{verbs})\b)", value, flags=re.I)
    return [p.strip() for p in parts if p.strip()]


def _lines(text: str) -> list[tuple[int, str, str]] | Rejection:
    """(line number, key, value) for every line that says something; twist lines get key 'twist'."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _clean(raw)
        if not line or line.startswith(("```", "~~~")) or not re.search(r"[A-Za-z0-9]", line):
            continue
        m = _KEYED.match(line)
        if m:
            key, value = normalise(m.group(1)), m.group(2).strip().strip("*").strip().rstrip(".").strip()
            if key in STYLE_KEYS:   # "note style: referral"
                out += [(n, "twist", f"style {value}")] if value else []
                continue
            if key in KEYS:
                if value:
                    out += [(n, KEYS[key], v) for v in (_split_twists(value) if KEYS[key] == "twist" else [value])]
                continue
            if _verb(m.group(1)):  # "units: glucose mmol/L", "change units: glucose mmol/L"
                out += [(n, "twist", f"{m.group(1)} {v}") for v in _split_twists(value)]
                continue
            if not value:
                continue  # a heading ("Specification:")
            return Rejection("spec-parse", f"line {n}: unknown key '{m.group(1).strip()}'; the keys are diagnosis, "
                             "calculator, severity, age, sex and twist")
        if _verb(line):
            out += [(n, "twist", v) for v in _split_twists(line)]
            continue
        return Rejection("spec-parse", f"line {n}: '{line[:60]}' is not a 'key: value' line; write e.g. "
                         "'diagnosis: <name>' or 'twist: add <finding>'")
    return out


# ---- values --------------------------------------------------------------------------------------

def _severity(value: str) -> str | float | Rejection:
    key = normalise(value)
    if key in SEVERITY_WORDS or (key and key.split()[0] in SEVERITY_WORDS):
        return SEVERITY_WORDS.get(key) or SEVERITY_WORDS[key.split()[0]]
    m = re.match(r"^\s*(\d*\.?\d+)\s*(%?)\s*$", value)
    if m:
        x = float(m.group(1)) / (100 if m.group(2) else 1)
        if 0 <= x <= 1:
            return round(x, 2)
    return Rejection("bad-value", f"severity '{value}' is not mild, moderate, severe or a number from 0 to 1")


def _age(value: str) -> int | Rejection:
    m = _AGE.match(value.strip())
    if not m:
        return Rejection("bad-value", f"age '{value}' is not a number of years; write e.g. 'age: 64'")
    age = int(m.group(1))
    if not 18 <= age <= 105:
        return Rejection("bad-value", f"age {age} is outside the adult range 18-105 the packs cover")
    return age


def _sex(value: str) -> str | Rejection:
    sex = SEXES.get(value.strip().lower())
    return sex if sex else Rejection("bad-value", f"sex '{value}' is not M or F")


# ---- twists --------------------------------------------------------------------------------------

def _strip_articles(text: str) -> str:
    words = text.split()
    while words and words[0].lower() in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def _verb(text: str) -> tuple[str, str] | None:
    """(twist kind, the rest) when `text` starts, after lead words such as 'change' or 'present',
    with a twist verb ('as' introduces a style: "present as a referral letter")."""
    tokens = text.replace(":", " ").split()
    while tokens and tokens[0].lower() in _LEADS and len(tokens) > 1:
        tokens = tokens[1:]
    verb = tokens[0].lower() if tokens else ""
    if verb == "as" and len(tokens) > 1:
        return "style", " ".join(tokens[1:])
    if verb in VERBS:
        return VERBS[verb], " ".join(tokens[1:])
    return None


def parse_twist(words: Words, text: str) -> Twist | Rejection:
    """One twist from its text ('add fever', 'units glucose mmol/L', 'push K short of threshold')."""
    found = _verb(text)
    if found is None:
        return Rejection("unknown-twist", f"'{text}' is not a twist; start it with add, hide, units, push or style")
    kind, rest = found
    return {"add": _add, "hide": _hide, "units": _units, "push": _push, "style": _style}[kind](words, rest.strip())


def _add(words: Words, rest: str) -> Twist | Rejection:
    key = normalise(rest)
    if key in _CONFOUNDER_WORDS:
        return Twist("add", CONFOUNDER, line="add confounder")
    if key in _COMORBIDITY_WORDS:
        return Twist("add", COMORBIDITY, line="add comorbidity")
    target = words.name(rest) or words.name(_FILLERS.sub("", rest))
    if target in words.reg.variables:
        return Rejection("unknown-finding", f"'{rest}' is a measured value, not a finding; to change a value write "
                         f"'push {rest} toward threshold'")
    if target is None:
        return Rejection("unknown-finding", f"'{rest}' is not a known finding{suggest(rest, words.lex.targets)}; "
                         "write a symptom, sign, test result or history item, or 'add confounder'")
    return Twist("add", target, line=f"add {words.label(target)}")


def _hide(words: Words, rest: str) -> Twist | Rejection:
    if normalise(rest) in _GIVE_AWAY_WORDS or normalise(_strip_articles(rest)) in _GIVE_AWAY_WORDS:
        return Twist("hide", GIVE_AWAY, line="hide give-away")
    target = words.name(rest) or words.name(_FILLERS.sub("", rest))
    if target is None:
        return Rejection("unknown-finding", f"'{rest}' is not a known finding or value{suggest(rest, words.lex.targets)}; "
                         "write one the case shows, or 'hide give-away'")
    return Twist("hide", target, line=f"hide {words.label(target)}")


def _variable(words: Words, text: str, twist: str) -> str | Rejection:
    vid = words.name(text)
    if vid is None:
        return Rejection("unknown-variable", f"'{text}' is not a known value{suggest(text, words.lex.targets)}; "
                         f"write a lab or vital sign, e.g. '{twist} glucose ...'")
    if vid not in words.reg.variables:
        return Rejection("unknown-variable", f"'{text}' is a finding, not a measured value; {twist} applies to "
                         "values such as glucose or potassium")
    return vid


def _units(words: Words, rest: str) -> Twist | Rejection:
    tokens = rest.split()
    while tokens and tokens[0].lower() in ("of", "for", "the"):
        tokens = tokens[1:]
    if not tokens or normalise(" ".join(tokens)) in ("any", "a value", "one value", "values"):
        return Twist("units", ANY, line="units any")
    for i in range(len(tokens), 0, -1):
        vid = words.name(" ".join(tokens[:i]))
        if vid is not None:
            unit_words = tokens[i:]
            break
    else:
        return _variable(words, " ".join(tokens), "units")
    if vid not in words.reg.variables:
        return _variable(words, " ".join(tokens[:i]), "units")
    var = words.reg.variables[vid]
    while unit_words and unit_words[0].lower() in ("to", "in", "into", "as"):
        unit_words = unit_words[1:]
    real = words.real_units(vid)
    if var.derive:
        return Rejection("bad-unit", f"{var.name} is computed from other values and never written; change the "
                         "unit of a value it is computed from")
    if not real:
        return Rejection("bad-unit", f"{var.name} has no other unit that changes its number; choose a value such as "
                         "glucose, creatinine or temperature")
    label = words.label(vid)
    if not unit_words:
        return Twist("units", vid, line=f"units {label}")
    unit = words.unit(vid, " ".join(unit_words))
    if unit is None:
        return Rejection("bad-unit", f"{var.name} is not reported in '{' '.join(unit_words)}'; use {', '.join(real.values())}")
    if unit == var.unit:
        return Rejection("bad-unit", f"'{' '.join(unit_words)}' is the usual unit of {var.name} (the same number); "
                         f"use {', '.join(real.values())}")
    return Twist("units", vid, unit, f"units {label} {real[unit]}")


def _push(words: Words, rest: str) -> Twist | Rejection:
    m = _PUSH_END.search(" " + rest)
    name = " ".join((" " + rest)[:m.start()].split())
    short = bool(m.group("dir")) and re.match(r"(?i)(?:just\s+)?(?:short|shy|miss)", m.group("dir")) is not None
    direction, phrase = ("short", "short of threshold") if short else ("toward", "toward threshold")
    if normalise(name) in ("", "any", "a value", "value", "one value"):
        return Twist("push", ANY, direction, f"push any {phrase}")
    vid = _variable(words, name, "push")
    if isinstance(vid, Rejection):
        return vid
    if vid not in words.thresholds:
        return Rejection("no-threshold", f"no diagnostic criterion compares {words.reg.variables[vid].name} with a "
                         "number; push a value the diagnosis's criteria use (e.g. glucose, potassium, pH)")
    return Twist("push", vid, direction, f"push {words.label(vid)} {phrase}")


def _style(words: Words, rest: str) -> Twist | Rejection:
    style = words.style(rest)
    if style is None:
        return Rejection("unknown-style", f"'{rest}' is not a note style; use one of {', '.join(STYLES)}")
    return Twist("style", style, line=f"style {style}")


# ---- the whole specification ---------------------------------------------------------------------

def parse_spec(sim, text: str) -> Spec | Rejection:
    """Read a specification (see the module docstring) -> `Spec`, or `Rejection` with a reason."""
    from simulator.spec.twists import check_twists

    words = Words.of(sim)
    lines = _lines(text or "")
    if isinstance(lines, Rejection):
        return lines
    readers = {"diagnosis": words.diagnosis, "calculator": words.calculator, "severity": _severity,
               "age": _age, "sex": _sex}
    fields: dict[str, object] = {}
    twists: list[Twist] = []
    for n, key, value in lines:
        got = parse_twist(words, value) if key == "twist" else readers[key](value)
        if isinstance(got, Rejection):
            return got
        if key == "twist":
            twists.append(got)
        elif key in fields and fields[key] != got:
            return Rejection("conflict", f"line {n}: a second {key} ('{value}'); give one")
        else:
            fields[key] = got
    if "diagnosis" not in fields and "calculator" not in fields:
        return Rejection("spec-parse", "a specification needs a 'diagnosis:' line (or 'calculator:' for a "
                         "calculation task)")
    if len(twists) > MAX_TWISTS:
        return Rejection("too-many-twists", f"{len(twists)} twists; give at most {MAX_TWISTS}")
    problem = _conflict(twists)
    if problem:
        return Rejection("conflict", problem)
    dx = fields.get("diagnosis")
    spec = Spec(diagnosis=dx, calculator=fields.get("calculator"), severity=fields.get("severity"),
                age=fields.get("age"), sex=fields.get("sex"), twists=canonical_twists(twists),
                diagnosis_name=sim.diagnoses[dx].name if dx else "")
    if dx:
        rejection = check_twists(sim, spec, dx)
        if rejection is not None:
            return rejection
    return spec


def _conflict(twists: list[Twist]) -> str | None:
    """Why twists cannot go together, else None."""
    lines = [t.line for t in twists]
    for line in lines:
        if lines.count(line) > 1:
            return f"'{line}' is given twice; give each twist once"
    if sum(t.kind == "style" for t in twists) > 1:
        return "two note styles; give one"
    by_target: dict[str, list[Twist]] = {}
    for t in twists:
        if t.target not in (CONFOUNDER, COMORBIDITY, GIVE_AWAY, ANY) and t.kind != "style":
            by_target.setdefault(t.target, []).append(t)
    for target, ts in by_target.items():
        kinds = sorted({t.kind for t in ts})
        if "hide" in kinds and len(kinds) > 1:
            return f"'{ts[0].line}' and '{ts[1].line}' both name {target}: a hidden item cannot also be " \
                   "added, pushed or shown in another unit"
        if len(ts) > len(kinds):
            return f"two '{ts[0].kind}' twists on {target}; give one"
    return None
