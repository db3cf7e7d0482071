"""Pregnancy dating from the last menstrual period: estimated due date, estimated date of
conception and gestational age.

    from simulator.calculators import evaluate
    evaluate("due_date", {"last_menstrual_date": "02/28/2007", "cycle_length": 28}).answer   # '12/05/2007'
    evaluate("conception_date", {"last_menstrual_date": "11/20/2020"}).answer             # '12/04/2020'
    evaluate("gestational_age", {"last_menstrual_date": "02/14/2024",
                                 "current_date": "05/23/2024"}).answer                    # (14, 1)

Dates are read as MM/DD/YYYY (or YYYY-MM-DD, or with a month name) and answered as MM/DD/YYYY,
MedCalc-Bench's form; gestational age is answered as (weeks, days).

Conventions and where MedCalc-Bench differs:
- Due date: Naegele's rule, 280 days after the first day of the last menstrual period (ACOG
  Committee Opinion 700), moved by the cycle's difference from 28 days because ovulation comes
  about 14 days before the next period (the "modified Naegele's rule", Baskett & Nagele 2000):
  EDD = LMP + 280 + (cycle length - 28). MedCalc-Bench 1.7 adds |cycle length - 28|, so for a
  cycle shorter than 28 days its due date is 2 x (28 - cycle length) days too late (its own
  explanation says it subtracts).
- Conception: ovulation, and so conception, about 14 days before the next expected period:
  LMP + (cycle length - 14) days; LMP + 14 days for a 28-day cycle (ACOG Committee Opinion 700;
  luteal phase length, Lenton et al. 1984). MedCalc-Bench 1.7 always adds 14 days, whatever the
  cycle length.
- Gestational age: whole days from the LMP to the current date, as (weeks, days). A current
  date before the LMP is refused (MedCalc-Bench takes the absolute difference).
"""

from __future__ import annotations

import datetime as _dt

from simulator.calculators.base import Calculator, Values, fmt
from simulator.calculators.dates import format_date, format_weeks_days
from simulator.calculators.inputs import CalculatorInputError, date, number

NAEGELE_DAYS = 280        # 40 weeks from the first day of the LMP (ACOG CO 700)
STANDARD_CYCLE = 28       # days
LUTEAL_PHASE = 14         # days from ovulation to the next period (Lenton 1984)

LMP = date("last_menstrual_date", "first day of the last menstrual period (LMP)")
CYCLE = number("cycle_length", required=False, default=STANDARD_CYCLE,
               description="usual menstrual cycle length in days (default 28)")


def _cycle_days(v: Values) -> int:
    cycle = v["cycle_length"]
    if not float(cycle).is_integer():
        raise CalculatorInputError(f"cycle_length={fmt(cycle)} must be a whole number of days")
    return int(cycle)


def _due_date(v: Values):
    lmp, cycle = v["last_menstrual_date"], _cycle_days(v)
    base = lmp + _dt.timedelta(days=NAEGELE_DAYS)
    shift = cycle - STANDARD_CYCLE
    edd = base + _dt.timedelta(days=shift)
    steps = ["Naegele's rule: EDD = LMP + 280 days + (cycle length - 28 days)",
             f"LMP {format_date(lmp)} + 280 days = {format_date(base)}"]
    if shift:
        steps.append(f"cycle of {cycle} days: {'+' if shift > 0 else '-'} {abs(shift)} days "
                     f"(ovulation {'later' if shift > 0 else 'earlier'} than in a 28-day cycle)")
    steps.append(f"EDD = {format_date(edd)}")
    return format_date(edd), steps


def _conception_date(v: Values):
    lmp, cycle = v["last_menstrual_date"], _cycle_days(v)
    days = cycle - LUTEAL_PHASE
    d = lmp + _dt.timedelta(days=days)
    return format_date(d), [
        "Estimated conception = LMP + (cycle length - 14) days (ovulation about 14 days before the next period)",
        f"= {format_date(lmp)} + ({cycle} - 14) days = {format_date(lmp)} + {days} days = {format_date(d)}",
    ]


def _gestational_age(v: Values):
    lmp, today = v["last_menstrual_date"], v["current_date"]
    days = (today - lmp).days
    if days < 0:
        raise CalculatorInputError(f"current_date {format_date(today)} is before last_menstrual_date "
                                   f"{format_date(lmp)}; check the two dates")
    weeks, rest = divmod(days, 7)
    steps = ["Gestational age = days from the first day of the LMP to the current date, in weeks and days",
             f"{format_date(today)} - {format_date(lmp)} = {days} days = {weeks} x 7 + {rest}",
             f"Gestational age = {format_weeks_days(weeks, rest)}"]
    if weeks >= 42:
        steps.append("42 weeks or more: post-term, or the dates are wrong; check them")
    return (weeks, rest), steps


ACOG_700 = ("American College of Obstetricians and Gynecologists. Committee Opinion No. 700: Methods for "
            "estimating the due date. Obstet Gynecol 2017;129:e150-4.")

CALCULATORS = [
    Calculator(
        id="due_date", name="Estimated due date (Naegele's rule)", unit="date", integer=False, output="date",
        medcalc_id=13,
        aliases=("Estimated Due Date", "EDD", "due date", "Naegele's rule", "estimated date of delivery",
                 "pregnancy due date"),
        reference=ACOG_700 + " Baskett TF, Nagele F. Naegele's rule: a reappraisal. BJOG 2000;107:1433-5.",
        inputs=(LMP, CYCLE), formula=_due_date),
    Calculator(
        id="conception_date", name="Estimated date of conception", unit="date", integer=False, output="date",
        medcalc_id=68,
        aliases=("Estimated of Conception", "Estimated Date of Conception", "conception date",
                 "estimated conception date", "date of conception"),
        reference=ACOG_700 + " Lenton EA, Landgren BM, Sexton L. Normal variation in the length of the luteal "
                             "phase of the menstrual cycle. Br J Obstet Gynaecol 1984;91:685-9.",
        inputs=(LMP, CYCLE), formula=_conception_date),
    Calculator(
        id="gestational_age", name="Estimated gestational age", unit="weeks, days", integer=False,
        output="weeks_days", medcalc_id=69,
        aliases=("Estimated Gestational Age", "gestational age", "GA", "gestational age by LMP",
                 "pregnancy weeks"),
        reference=ACOG_700,
        inputs=(LMP, date("current_date", "today's date (the date of the visit)")),
        formula=_gestational_age),
]
