"""Dosing: morphine milligram equivalents, corticosteroid dose conversion and maintenance fluids.

    from simulator.calculators import evaluate
    evaluate("mme", {"oxycodone_dose": 10, "oxycodone_doses_per_day": 4}).answer             # 60.0
    evaluate("steroid_conversion", {"input_steroid": "prednisone PO", "steroid_dose": 40,
                                    "target_steroid": "dexamethasone IV"}).answer         # 6.0
    evaluate("maintenance_fluids", {"weight": 25}).answer                                 # 65.0 mL/h

Opioid doses in mg per dose (fentanyl buccal in µg per dose, a fentanyl patch in µg/h), with the
number of doses a day; steroid doses in mg; weight in kg.

Conventions and where MedCalc-Bench differs:
- MME: CDC 2022 conversion factors (codeine 0.15, fentanyl buccal/sublingual 0.13 per µg,
  fentanyl patch 2.4 per µg/h, hydrocodone 1, hydromorphone 5, methadone 4.7, morphine 1,
  oxycodone 1.5, oxymorphone 3, tapentadol 0.4, tramadol 0.2); MME/day = sum of dose x doses a
  day x factor. A patch counts its rate once per patch worn (`fentanyl_patch_count`, default 1),
  not per application a day. Buprenorphine has no MME factor in the 2022 guideline and is not
  offered (MedCalc-Bench 1.7 counts it at 10). MedCalc-Bench rounds the running total to
  3 decimals after each drug; we do not.
- Steroids: equivalent doses (mg) hydrocortisone 20, cortisone 25, prednisone 5, prednisolone 5,
  methylprednisolone 4, triamcinolone 4, dexamethasone 0.75, betamethasone 0.75 (Meikle & Tyler
  1977; Liu et al. 2013), the same by mouth and IV. MedCalc-Bench 1.7 uses the same ratios but
  rounds the conversion factor to 3 decimals (prednisone -> hydrocortisone x 3.999, not x 4).
- Maintenance fluids: Holliday-Segar "4-2-1" hourly rule, 4 mL/kg/h for the first 10 kg,
  2 mL/kg/h for the next 10 kg and 1 mL/kg/h above 20 kg. Same as MedCalc-Bench.
"""

from __future__ import annotations

from simulator.calculators.base import Calculator, Values, fmt
from simulator.calculators.inputs import CalculatorInputError, choice, number

# ---- morphine milligram equivalents ------------------------------------------------------------

# id -> (label, dose quantity, MME factor per unit of dose)
OPIOIDS: dict[str, tuple[str, str, float]] = {
    "codeine": ("codeine", "dose_mg", 0.15),
    "fentanyl_buccal": ("fentanyl buccal or sublingual (µg)", "dose_ug", 0.13),
    "hydrocodone": ("hydrocodone", "dose_mg", 1.0),
    "hydromorphone": ("hydromorphone", "dose_mg", 5.0),
    "methadone": ("methadone", "dose_mg", 4.7),
    "morphine": ("morphine", "dose_mg", 1.0),
    "oxycodone": ("oxycodone", "dose_mg", 1.5),
    "oxymorphone": ("oxymorphone", "dose_mg", 3.0),
    "tapentadol": ("tapentadol", "dose_mg", 0.4),
    "tramadol": ("tramadol", "dose_mg", 0.2),
}
FENTANYL_PATCH_FACTOR = 2.4  # MME/day per µg/h


def _opioid_inputs():
    for key, (label, quantity, _) in OPIOIDS.items():
        unit = "µg" if quantity == "dose_ug" else "mg"
        yield number(f"{key}_dose", quantity=quantity, required=False, description=f"{label} dose ({unit})")
        yield number(f"{key}_doses_per_day", quantity="doses_per_day", required=False,
                     description=f"{label} doses a day")
    yield number("fentanyl_patch_rate", required=False, description="fentanyl transdermal patch rate (µg/h)")
    yield number("fentanyl_patch_count", quantity="doses_per_day", required=False,
                 description="number of fentanyl patches worn at once (default 1)")


def _mme(v: Values):
    steps = ["MME/day = sum over opioids of dose x doses a day x CDC 2022 conversion factor"]
    terms: list[float] = []
    for key, (label, quantity, factor) in OPIOIDS.items():
        dose, per_day = v[f"{key}_dose"], v[f"{key}_doses_per_day"]
        if dose is None and per_day is None:
            continue
        if dose is None or per_day is None:
            missing = f"{key}_doses_per_day" if dose is not None else f"{key}_dose"
            raise CalculatorInputError(f"mme: {label} needs both its dose and its doses a day; {missing} is missing")
        unit = "µg" if quantity == "dose_ug" else "mg"
        mme = dose * per_day * factor
        terms.append(mme)
        steps.append(f"- {label}: {fmt(dose)} {unit} x {fmt(per_day)}/day x {fmt(factor)} = {fmt(mme)} MME/day")
    rate = v["fentanyl_patch_rate"]
    if rate is not None:
        count = 1.0 if v["fentanyl_patch_count"] is None else v["fentanyl_patch_count"]
        mme = rate * count * FENTANYL_PATCH_FACTOR
        terms.append(mme)
        steps.append(f"- fentanyl patch: {fmt(rate)} µg/h x {fmt(count)} patch(es) x 2.4 = {fmt(mme)} MME/day")
    if not terms:
        raise CalculatorInputError("mme: give at least one opioid, e.g. oxycodone_dose=10 and "
                                   "oxycodone_doses_per_day=4")
    total = sum(terms)
    steps.append(f"MME/day = {' + '.join(fmt(t) for t in terms)} = {fmt(total)}")
    return total, steps


# ---- corticosteroid conversion -------------------------------------------------------------------

# id -> (label, equivalent dose in mg)
STEROIDS: dict[str, tuple[str, float]] = {
    "betamethasone_iv": ("betamethasone IV", 0.75),
    "cortisone_po": ("cortisone PO", 25.0),
    "dexamethasone_iv": ("dexamethasone IV", 0.75),
    "dexamethasone_po": ("dexamethasone PO", 0.75),
    "hydrocortisone_iv": ("hydrocortisone IV", 20.0),
    "hydrocortisone_po": ("hydrocortisone PO", 20.0),
    "methylprednisolone_iv": ("methylprednisolone IV", 4.0),
    "methylprednisolone_po": ("methylprednisolone PO", 4.0),
    "prednisolone_po": ("prednisolone PO", 5.0),
    "prednisone_po": ("prednisone PO", 5.0),
    "triamcinolone_iv": ("triamcinolone IV", 4.0),
}
_STEROID_OPTIONS = {k: label for k, (label, _) in STEROIDS.items()}
_STEROID_SYNONYMS = {"prednisone": "prednisone_po", "prednisolone": "prednisolone_po",
                     "methylprednisolone": "methylprednisolone_iv", "solumedrol": "methylprednisolone_iv",
                     "medrol": "methylprednisolone_po", "dexamethasone": "dexamethasone_iv",
                     "hydrocortisone": "hydrocortisone_iv", "cortisone": "cortisone_po",
                     "triamcinolone": "triamcinolone_iv", "betamethasone": "betamethasone_iv"}


def _steroid_conversion(v: Values):
    src, dst, dose = v["input_steroid"], v["target_steroid"], v["steroid_dose"]
    (src_label, src_eq), (dst_label, dst_eq) = STEROIDS[src], STEROIDS[dst]
    out = dose * dst_eq / src_eq
    return out, [
        "equivalent dose = dose x (target's equivalent dose / given drug's equivalent dose)",
        f"equivalent doses: {src_label} {fmt(src_eq)} mg, {dst_label} {fmt(dst_eq)} mg",
        f"{fmt(dose)} mg {src_label} x {fmt(dst_eq)} / {fmt(src_eq)} = {fmt(out)} mg {dst_label}",
    ]


# ---- maintenance fluids ------------------------------------------------------------------------

def _maintenance_fluids(v: Values):
    w = v["weight"]
    first, second, rest = min(w, 10), min(max(w - 10, 0), 10), max(w - 20, 0)
    rate = 4 * first + 2 * second + 1 * rest
    return rate, [
        "Holliday-Segar: 4 mL/kg/h for the first 10 kg + 2 mL/kg/h for the next 10 kg + 1 mL/kg/h above 20 kg",
        f"= 4 x {fmt(first)} + 2 x {fmt(second)} + 1 x {fmt(rest)} = {fmt(rate)} mL/h",
    ]


CALCULATORS = [
    Calculator(
        id="mme", name="Morphine milligram equivalents per day", unit="MME/day", integer=False, medcalc_id=49,
        aliases=("MME", "Morphine Milligram Equivalents (MME) Calculator", "morphine milligram equivalents",
                 "morphine equivalent daily dose", "MEDD", "opioid conversion"),
        reference="Dowell D et al. CDC Clinical Practice Guideline for Prescribing Opioids for Pain - United "
                  "States, 2022. MMWR Recomm Rep 2022;71(3):1-95 (Table 1, MME conversion factors).",
        inputs=tuple(_opioid_inputs()), formula=_mme),
    Calculator(
        id="steroid_conversion", name="Corticosteroid dose conversion", unit="mg", integer=False, medcalc_id=24,
        aliases=("Steroid Conversion Calculator", "steroid conversion", "corticosteroid conversion",
                 "glucocorticoid equivalent dose"),
        reference="Meikle AW, Tyler FH. Potency and duration of action of glucocorticoids. Am J Med "
                  "1977;63:200-7; Liu D et al. A practical guide to the monitoring and management of the "
                  "complications of systemic corticosteroid therapy. Allergy Asthma Clin Immunol 2013;9:30.",
        inputs=(choice("input_steroid", "the steroid given", _STEROID_OPTIONS, synonyms=_STEROID_SYNONYMS),
                number("steroid_dose", quantity="dose_mg", description="dose of the steroid given (mg)"),
                choice("target_steroid", "the steroid to convert to", _STEROID_OPTIONS, synonyms=_STEROID_SYNONYMS)),
        formula=_steroid_conversion),
    Calculator(
        id="maintenance_fluids", name="Maintenance fluids (Holliday-Segar 4-2-1 rule)", unit="mL/h",
        integer=False, medcalc_id=22,
        aliases=("Maintenance Fluids Calculations", "maintenance fluids", "4-2-1 rule", "Holliday-Segar",
                 "maintenance IV fluid rate"),
        reference="Holliday MA, Segar WE. The maintenance need for water in parenteral fluid therapy. "
                  "Pediatrics 1957;19:823-32.",
        inputs=(number("weight"),), formula=_maintenance_fluids),
]
