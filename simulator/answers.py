"""Reading a final answer out of a model's free text: numbers, dates and durations in weeks
and days, with units, lists and hedges handled the same way for every item (no rule is
specific to a benchmark row). This is the one answer reader of AZ-Med: the self-play reward
(`simulator.verify`), the held-out simulator suite and the MedCalc-Bench grader all read
answers through it, so training and evaluation read "The eGFR is 58 mL/min/1.73 m2." alike.

    from simulator.answers import read_number, read_date, read_weeks_days
    read_number("The BMI is 23.4 kg/m2 (normal 18.5-24.9).")    # Reading(value=23.4, ...)
    read_number("Answer: 3 or 4 points").hedged                    # True: a hedge is wrong
    read_date("Answer: December 9, 2007").value                    # datetime.date(2007, 12, 9)
    read_weeks_days("(14 weeks, 1 day)").value                     # (14, 1)

Where the answer is looked for (`answer_scope`), first match wins:
1. a JSON `"answer": ...` field, or an `<answer>...</answer>` / ```answer block;
2. the text after the last "answer" marker ("Answer: 12", "the answer is 12");
3. else the last line that holds a candidate (a digit, a date...).
Inside that scope, for numbers: an enumeration marker opening it ("2. ", "3) ") is skipped; a scope that opens with a number gives that number ("3
points, low risk" gives 3); otherwise the first number after the last "=", ":", "is", "was"
or "equals" that is still followed by one ("BMI = 70 / 1.75^2 = 22.9" and "weight 70 kg,
the BMI is 22.9 kg/m2" both give 22.9). Digits that belong to a word or a unit
("CHA2DS2-VASc", "FIB-4", "kg/m2", "mL/min/1.73 m²"), and dotted labels ("1.1.1"), are not
numbers. Units are ignored:
the value is taken to be in the unit the question asked for.

Hedged answers are wrong: two different values joined by "or", "to", "-", "and" or
"between ... and" ("20-25", "3 or 4"), or two different dates.

Limits: no arithmetic is evaluated ("70/1.75^2" alone gives 70); a percentage is read as
its number; dates written with slashes are read month first (M/D/Y, as MedCalc-Bench asks),
a 4-digit year first means Y-M-D.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from simulator.calculators.dates import find_dates, parse_date, parse_weeks_days

__all__ = ["Reading", "answer_scope", "extract_block", "parse_date", "parse_weeks_days", "read_date", "read_number",
           "read_weeks_days"]

# A number: digits not glued to a word, a unit or a power ("m2", "10^9", "/1.73"), nor part of
# a dotted label such as a section number ("1.1.1").
_NUMBER = re.compile(r"(?<![\w^/.])[-+]?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?![\w^])(?!\.\d)")
_WORD = re.compile(r"[^\W\d_][\w^\-]*")  # a word, and anything glued to it: "CHA2DS2-VASc", "m2", "FIB-4"
_CLAUSE = re.compile(r"=|:|\bis\b|\bwas\b|\bequals\b|\bof approximately\b", re.I)
_HEDGE_AFTER = re.compile(r"^\s*(?:[^\W\d_][\w/^%]*\s*|%\s*)?(?:-|–|—|\bto\b|\bor\b|\band\b)\s*[-+]?\.?\d", re.I)
_MARKER = re.compile(r"\banswer\b\s*(?:is|would be)?\s*[:=]?\s*", re.I)  # no "-": it may be a sign
_LIST_ITEM = re.compile(r"^\s*\d{1,2}[.)]\s+")  # "2. ", "3) " opening an enumerated line
_JSON_ANSWER = re.compile(r'"answer"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\n]+)', re.I)


@dataclass(frozen=True)
class Reading:
    """What was read from an answer: `value` (None when nothing could be read), the text it
    was read from, and whether the answer hedged between several values (then wrong)."""

    value: Any
    scope: str
    hedged: bool = False
    others: tuple = ()


def extract_block(text: str, tag: str) -> str | None:
    """The content of the last ```tag ... ``` fenced block in `text`, else of the last
    <tag>...</tag> element, else None. Models put the part we parse in such a block.

    >>> extract_block("x ```json\\n{\\"a\\": 1}\\n``` y", "json")
    '{"a": 1}'
    >>> extract_block("<answer> 42 </answer>", "answer")
    '42'
    """
    fence = f"```{tag}"
    start = text.rfind(fence)
    if start != -1:
        body_start = start + len(fence)
        end = text.find("```", body_start)
        return text[body_start: end if end != -1 else len(text)].strip()
    open_tag, close_tag = f"<{tag}>", f"</{tag}>"
    start = text.rfind(open_tag)
    if start != -1:
        body_start = start + len(open_tag)
        end = text.find(close_tag, body_start)
        return text[body_start: end if end != -1 else len(text)].strip()
    return None


def answer_scope(text: str, has_candidate: Callable[[str], bool]) -> str:
    """The part of `text` that holds the final answer (see the module docstring)."""
    text = (text or "").replace("\u2212", "-").strip()
    found = _JSON_ANSWER.findall(text)
    if found:
        raw = found[-1].strip()
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw.strip('"')
        return str(value).strip()
    block = extract_block(text, "answer")
    if block and has_candidate(block):
        return block
    marks = list(_MARKER.finditer(text))
    if marks:
        tail = text[marks[-1].end():]
        line = tail.strip().split("\n", 1)[0]
        if has_candidate(line):
            return line.strip()
        if has_candidate(tail):
            return tail.strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if has_candidate(line):
            return line
    return ""


def _numbers(text: str) -> list[re.Match]:
    # Blank out words (same length, so positions still index `text`) before finding numbers.
    blanked = _WORD.sub(lambda m: " " * len(m.group()), text)
    return list(_NUMBER.finditer(blanked))


def _to_float(token: str) -> float:
    return float(token.replace(",", ""))


def read_number(text: str) -> Reading:
    """The number a free-text answer gives (see the module docstring).

    >>> read_number("Answer: 106.2 mL/min").value
    106.2
    >>> read_number("CHA2DS2-VASc score = 1 + 1 + 2 = 4").value
    4.0
    >>> read_number("The eGFR is 58 mL/min/1.73 m2.").value
    58.0
    >>> read_number("between 20 and 25").hedged
    True
    >>> read_number("I cannot tell.").value is None
    True
    >>> read_number("The criteria:\\n1. temperature 38.5\\n2. 12.2 mmol/L").value   # "2." numbers a list
    12.2
    """
    scope = answer_scope(text, lambda s: bool(_numbers(s)))
    if not scope:
        return Reading(None, "")
    part = scope
    item = _LIST_ITEM.match(part)
    if item and _numbers(part[item.end():]):
        part = part[item.end():]  # the number of an enumerated line is not its value
    nums = _numbers(part)
    if not nums:
        return Reading(None, scope)
    if part[:nums[0].start()].strip(" \t'\"(*"):
        # Words before the first number: the value follows the last clause marker ("=", "is",
        # ":") that is still followed by a number.
        whole = part
        for m in _CLAUSE.finditer(whole):
            if _numbers(whole[m.end():]):
                part = whole[m.end():]
        nums = _numbers(part)
    first = nums[0]
    value = _to_float(first.group())
    hedge = _HEDGE_AFTER.match(part[first.end():]) or re.search(r"\bbetween\s*$", part[:first.start()], re.I)
    if hedge and len(nums) > 1:
        other = _to_float(nums[1].group())
        if other != value:
            return Reading(value, scope, hedged=True, others=(other,))
    return Reading(value, scope)


# ---- dates and durations (parsed by simulator.calculators.dates, shared with the calculators) ----------

def read_date(text: str) -> Reading:
    """The date a free-text answer gives; several different dates are a hedge."""
    scope = answer_scope(text, lambda s: bool(find_dates(s)))
    dates = list(dict.fromkeys(d for _, d in find_dates(scope)))
    if not dates:
        return Reading(None, scope)
    return Reading(dates[0], scope, hedged=len(dates) > 1, others=tuple(dates[1:]))


def read_weeks_days(text: str) -> Reading:
    """The (weeks, days) a free-text answer gives."""
    scope = answer_scope(text, lambda s: parse_weeks_days(s) is not None)
    wd = parse_weeks_days(scope)
    return Reading(wd, scope)
