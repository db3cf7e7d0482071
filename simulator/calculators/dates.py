"""Dates and durations as clinicians and MedCalc-Bench write them: reading, writing, comparing.

    from simulator.calculators.dates import parse_date, format_date, parse_weeks_days
    parse_date("12/09/2007"), parse_date("9th of Dec 2007")   # datetime.date(2007, 12, 9) twice
    format_date(datetime.date(2007, 12, 9))                    # '12/09/2007' (MedCalc-Bench's form)
    parse_weeks_days("('14 weeks', '1 days')")                 # (14, 1)

Used by the pregnancy-dating calculators (their inputs and answers), by the grading rule
(`base.answer_correct`) and by the answer readers of the evaluation, so that a date is read the
same way everywhere.

Limits: dates written with slashes are read month first (M/D/Y, as MedCalc-Bench writes them);
a 4-digit year first means Y-M-D; two-digit years are not read.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

# Month names are looked up by their first three letters ("Sept." -> "sep").
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MON = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
        r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE_PATTERNS = [
    ("ymd", re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")),
    ("mdy", re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b")),
    ("Mdy", re.compile(_MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.I)),
    ("dMy", re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MON + r",?\s+(\d{4})\b", re.I)),
]


def find_dates(text: str) -> list[tuple[int, _dt.date]]:
    """(position, date) of every valid date written in `text`, in order of position."""
    found = []
    for kind, rx in _DATE_PATTERNS:
        for m in rx.finditer(text or ""):
            g = m.groups()
            try:
                if kind == "ymd":
                    d = _dt.date(int(g[0]), int(g[1]), int(g[2]))
                elif kind == "mdy":
                    d = _dt.date(int(g[2]), int(g[0]), int(g[1]))
                elif kind == "Mdy":
                    d = _dt.date(int(g[2]), _MONTHS[g[0].lower()[:3]], int(g[1]))
                else:
                    d = _dt.date(int(g[2]), _MONTHS[g[1].lower()[:3]], int(g[0]))
            except (ValueError, KeyError):
                continue
            found.append((m.start(), d))
    return sorted(found)


def parse_date(value: Any) -> _dt.date | None:
    """A `date` from a date, a datetime or the first date written in a text (M/D/Y, Y-M-D or
    with a month name); None when there is none.

    >>> parse_date("12/09/2007"), parse_date("2007-12-09"), parse_date("9th of Dec 2007")
    (datetime.date(2007, 12, 9), datetime.date(2007, 12, 9), datetime.date(2007, 12, 9))
    >>> parse_date("02/30/2007") is None
    True
    """
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str):
        return None
    dates = find_dates(value)
    return dates[0][1] if dates else None


def format_date(d: _dt.date) -> str:
    """MedCalc-Bench's date form, MM/DD/YYYY.

    >>> format_date(_dt.date(2007, 2, 8))
    '02/08/2007'
    """
    return d.strftime("%m/%d/%Y")


# ---- durations in weeks and days -----------------------------------------------------------------

_WD_WORDS = re.compile(r"(\d+)\s*(?:weeks?|wks?|w)(?![a-z])[\s,'\"]*(?:and\s*)?(?:(\d+)\s*(?:days?|d)(?![a-z]))?",
                       re.I)
_WD_TUPLE = re.compile(r"\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*\)")
_DAYS_ONLY = re.compile(r"\b(\d+)\s*days?\b", re.I)


def parse_weeks_days(value: Any) -> tuple[int, int] | None:
    """(weeks, days) from a pair of integers, "14 weeks, 1 day", "(14, 1)", MedCalc-Bench's
    "('14 weeks', '1 days')" or "14w 1d"; "14 weeks" alone is (14, 0), "9 days" is (0, 9).

    >>> parse_weeks_days("('14 weeks', '1 days')"), parse_weeks_days("(3, 4)"), parse_weeks_days("8 weeks")
    ((14, 1), (3, 4), (8, 0))
    >>> parse_weeks_days((14, 1)), parse_weeks_days(("14 weeks", "1 days"))
    ((14, 1), (14, 1))
    """
    if isinstance(value, (tuple, list)) and len(value) == 2:
        if all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            return int(value[0]), int(value[1])
        value = " ".join(str(x) for x in value)
    if not isinstance(value, str):
        return None
    m = _WD_WORDS.search(value)
    if m:
        return int(m.group(1)), int(m.group(2) or 0)
    m = _WD_TUPLE.search(value)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _DAYS_ONLY.search(value)
    if m:
        return 0, int(m.group(1))
    return None


def format_weeks_days(weeks: int, days: int) -> str:
    """'14 weeks 1 day'.

    >>> format_weeks_days(14, 1), format_weeks_days(3, 0)
    ('14 weeks 1 day', '3 weeks 0 days')
    """
    return f"{weeks} week{'s' if weeks != 1 else ''} {days} day{'s' if days != 1 else ''}"
