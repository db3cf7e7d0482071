"""Cases as text: a clinician-style summary for prompts, and an editable line format.

The line format is what a proposer (a small language model) reads and writes; one fact a line:

    age: 64
    sex: M
    symptoms: chest pain, diaphoresis
    history: hypertension
    tests: ST depression on ECG
    heart rate: 104 /min
    troponin I: 450 ng/L

`parse_lines` turns it back into the dict `simulator.validation` accepts (JSON works too), so a
model can copy a reference case and edit a few lines.

Units are spelled for people here, and only here: `DISPLAY_UNITS` maps the registry's UCUM-style
codes (`mm[Hg]`, `Cel`, `{ratio}`, `mL/min/{1.73_m2}`) to what clinicians write (mmHg, °C, no
unit, mL/min/1.73 m²); `display_unit` applies it, and `unit_spelling` also checks that the
spelling reads back to the same unit, so text, tables and case JSON written with it can be read
again. `unit_code` goes the other way, from any accepted spelling to the registry's code.
Quantities for a reader (`unit_spelling`, `quantity_text`, `with_unit`) are written here once,
for clinical notes (`simulator.notes`) and tool calls (`simulator.tools`): a value in any accepted
unit, with the fewest decimals that still read back to the same value at the registry's precision.
"""

from __future__ import annotations

import re

from simulator.case import Case

# UCUM-style code (or a machine spelling) -> how a clinician writes it; '' for a unitless quantity.
DISPLAY_UNITS = {"mm[Hg]": "mmHg", "Cel": "°C", "degC": "°C", "degF": "°F", "cm[H2O]": "cmH2O",
                 "10*3/uL": "x10^3/uL", "10*9/L": "x10^9/L", "m[IU]/L": "mIU/L", "[IU]/L": "IU/L",
                 "{score}": "", "{ratio}": "", "[pH]": "",
                 "mL/min/{1.73_m2}": "mL/min/1.73 m²", "mL/min/1.73m2": "mL/min/1.73 m²",
                 "mL/min/1.73 m2": "mL/min/1.73 m²", "kg/m2": "kg/m²"}
_UCUM_MARKS = re.compile(r"[\[\]{}*]")
MAX_DECIMALS = 4
_LIST_FIELDS = {"symptoms", "history", "tests", "findings", "signs"}


def label(var) -> str:
    """A short display label: the name, or its first alias when the name is long (SBP, WBC)."""
    return var.aliases[0] if len(var.name) > 20 and var.aliases else var.name.lower()


def display_unit(unit: str) -> str:
    """A unit as clinicians write it: 'mm[Hg]' -> 'mmHg', 'Cel' -> '°C', '{ratio}' -> ''.

    >>> display_unit("mm[Hg]"), display_unit("mL/min/{1.73_m2}"), display_unit("mg/dL")
    ('mmHg', 'mL/min/1.73 m²', 'mg/dL')
    """
    return DISPLAY_UNITS.get(unit, unit)


def unit_code(var, unit: str | None) -> str | None:
    """The registry's own code for `unit`, a spelling `var` accepts ('mmHg' -> 'mm[Hg]' for a
    blood pressure, '°F' -> 'degF'); the canonical code for None or ''; None when `var` does not
    accept it."""
    from simulator.variables import unit_key

    if unit is None or unit == "" or unit == var.unit:
        return var.unit
    key = unit_key(unit)
    if key == unit_key(display_unit(var.unit)):  # '°C' is the canonical 'Cel', not the alias 'degC'
        return var.unit
    if unit in var.units:  # a spelling the registry lists itself ('µmol/L' as well as 'umol/L') stays
        return unit
    return next((code for code in var.accepted_units() if unit_key(code) == key), None)


def unit_spelling(var, unit: str) -> str | None:
    """How `unit` (one of `var`'s accepted units) is written for a reader: its display form when
    `var` accepts that spelling too ('Cel' -> '°C', 'mm[Hg]' -> 'mmHg'), else the unit without
    UCUM brackets; '' for the canonical unit of a unitless quantity (pH, INR, a score); None when
    no plain spelling of it is accepted (then the unit is not offered to readers). Cached per
    variable and unit (case JSON asks for every measurement)."""
    key = (var.id, var.unit, tuple(var.units), unit)
    if key not in _SPELLINGS:
        _SPELLINGS[key] = _find_spelling(var, unit)
    return _SPELLINGS[key]


_SPELLINGS: dict[tuple, str | None] = {}


def reader_unit(var, unit: str) -> str:
    """`unit` as a person reads it where it must also read back (case JSON, tables): its
    clinical spelling when `var` accepts that, else the registry's code unchanged."""
    spelling = unit_spelling(var, unit)
    return unit if spelling is None else spelling


def _find_spelling(var, unit: str) -> str | None:
    for spelling in (display_unit(unit), _UCUM_MARKS.sub("", unit)):
        if spelling == "":
            if unit == var.unit:
                return ""
            continue
        if _UCUM_MARKS.search(spelling):
            continue
        try:
            same = all(abs(var.to_canonical(x, spelling) - var.to_canonical(x, unit)) < 1e-9 for x in (1.0, 100.0))
        except Exception:  # UnitError: this spelling is not accepted
            continue
        if same:
            return spelling
    return None


def number_text(x: float, decimals: int) -> str:
    """`x` with at most `decimals` decimals, trailing zeros dropped: (1.20, 2) -> '1.2'."""
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity_text(var, value: float, unit: str) -> str | None:
    """`value` (canonical unit) written in `unit` with the fewest decimals that read back to the
    same value at the registry's precision (`var.round`), e.g. glucose 250 mg/dL -> '13.9' mmol/L,
    calcium 10.2 mg/dL -> '2.54' mmol/L. None when 4 decimals are not enough."""
    target = var.round(value)
    if unit == var.unit:
        return number_text(target, var.decimals)
    shown = var.from_canonical(target, unit)
    for decimals in range(MAX_DECIMALS + 1):
        text = number_text(round(shown, decimals), decimals)
        if var.round(var.to_canonical(float(text), unit)) == target:
            return text
    return None


def with_unit(number: str, spelling: str) -> str:
    """'94' + '%' -> '94%', '104' + '/min' -> '104/min', '1.2' + 'mg/dL' -> '1.2 mg/dL'."""
    if not spelling:
        return number
    return number + spelling if spelling[0] in "%/" else f"{number} {spelling}"


def _value_text(case: Case, reg, vid: str) -> str:
    var = reg.variables[vid]
    unit = case.units.get(vid, var.unit)
    value = case.shown[vid] if unit != var.unit and vid in case.shown else var.round(case.values[vid])
    u = display_unit(unit)
    return f"{value:g} {u}".strip() if isinstance(value, float) else f"{value} {u}".strip()


def finding_groups(case: Case, reg) -> dict[str, list[str]]:
    groups = {"symptoms": [], "history": [], "tests": []}
    for fid in case.findings:
        kind = reg.findings[fid].kind
        key = "history" if kind == "history" else "tests" if kind in ("ecg", "imaging", "test") else "symptoms"
        groups[key].append(reg.findings[fid].name)
    return groups


def to_lines(case: Case, reg, only: list[str] | None = None, extra: dict[str, str] | None = None) -> str:
    """The editable line format (derived variables left out: they are recomputed)."""
    lines = [f"{k}: {v}" for k, v in (extra or {}).items()]
    lines += [f"age: {case.age}", f"sex: {case.sex}"]
    for key, names in finding_groups(case, reg).items():
        if names:
            lines.append(f"{key}: {', '.join(names)}")
    for vid in case.values:
        var = reg.variables[vid]
        if var.derive or (only is not None and vid not in only):
            continue
        lines.append(f"{label(var)}: {_value_text(case, reg, vid)}")
    return "\n".join(lines)


def summary(case: Case, reg, hide: set[str] = frozenset()) -> str:
    """A short clinician-style summary: demographics, findings, then values with units and
    flags (H/L) outside the reference interval. Variables in `hide` show as '?'."""
    sex = "man" if case.sex == "M" else "woman"
    parts = [f"{case.age}-year-old {sex}."]
    for key, names in finding_groups(case, reg).items():
        if names:
            parts.append(f"{key.capitalize()}: {', '.join(names)}.")
    vals = []
    for vid in case.values:
        var = reg.variables[vid]
        if vid in hide:
            vals.append(f"{label(var)} ?")
            continue
        flag = ""
        lo, hi = var.normal_for(case.sex)
        v = case.values[vid]
        if v < lo:
            flag = " (L)"
        elif v > hi:
            flag = " (H)"
        vals.append(f"{label(var)} {_value_text(case, reg, vid)}{flag}")
    if vals:
        parts.append("Measurements: " + "; ".join(vals) + ".")
    return " ".join(parts)


_LINE = re.compile(r"^\s*[-*]?\s*([A-Za-z][A-Za-z0-9 _/\-\.\(\)%]*?)\s*[:=]\s*(.+?)\s*$")


def parse_lines(text: str) -> dict:
    """Parse the line format into the proposal dict; unknown keys are kept for validation to
    reject with a suggestion. Raises ValueError when no 'key: value' line is found."""
    out: dict = {"measurements": {}}
    seen = False
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2).strip().rstrip(".")
        k = key.lower().replace(" ", "_")
        seen = True
        if k in ("age", "sex", "calculator", "mask", "diagnosis", "pack"):
            out[k] = value
        elif k in _LIST_FIELDS:
            out.setdefault(k, []).extend(x.strip() for x in re.split(r"[;,]", value) if x.strip() and x.strip().lower() != "none")
        else:
            out["measurements"][key] = value
    if not seen:
        raise ValueError("no 'name: value' lines found")
    return out
