"""Units as clinicians write them, and the lookup key of every spelling (`unit_key`): the registry keeps UCUM-style codes ('mm[Hg]', 'Cel',
'{ratio}'); people read 'mmHg', '°C' and nothing. One mapping, used wherever a person reads a
unit (case JSON, notes, prompts, the CLI, the playground); the code stays as its own field.

    >>> display_unit("mm[Hg]"), display_unit("Cel")
    ('mmHg', '°C')
"""

from __future__ import annotations

import re

# UCUM-style code (or a machine spelling) -> how a clinician writes it; '' for a unitless quantity.
DISPLAY_UNITS = {"mm[Hg]": "mmHg", "Cel": "°C", "degC": "°C", "degF": "°F", "cm[H2O]": "cmH2O",
                 "10*3/uL": "x10^3/uL", "10*9/L": "x10^9/L", "m[IU]/L": "mIU/L", "[IU]/L": "IU/L",
                 "{score}": "", "{ratio}": "", "[pH]": "",
                 "mL/min/{1.73_m2}": "mL/min/1.73 m²", "mL/min/1.73m2": "mL/min/1.73 m²",
                 "mL/min/1.73 m2": "mL/min/1.73 m²", "kg/m2": "kg/m²"}
_UCUM_MARKS = re.compile(r"[\[\]{}*]")

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


def unit_key(unit: str) -> str:
    """Normalise a unit string for lookup, so the spellings clinicians write meet one key: case,
    spaces, micro and degree signs, 'per', count nouns ("beats per minute" = "/min", "cells/µL"
    = "/uL"), µL = mm3, powers of ten ("x 10^9/L" = "10*9/L" = "10⁹/L"), "degrees Fahrenheit".

    >>> unit_key(" µmol/L "), unit_key("umol/l"), unit_key("°F"), unit_key("mEq / L")
    ('umol/l', 'umol/l', 'degf', 'meq/l')
    >>> unit_key("beats per minute"), unit_key("breaths/min"), unit_key("degrees Fahrenheit")
    ('/min', '/min', 'degf')
    >>> unit_key("cells/mm^3"), unit_key("x 10^9/L"), unit_key("10*9/L"), unit_key("×10⁹/L")
    ('/ul', '10^9/l', '10^9/l', '10^9/l')
    """
    u = str(unit).strip().lower().replace(" ", "")
    u = u.replace("\u00b5", "u").replace("\u03bc", "u").replace("mcg", "ug")
    u = u.replace("°", "deg").replace("degrees", "deg").replace("degree", "deg").replace("per", "/")
    u = u.replace("[", "").replace("]", "").replace("{", "").replace("}", "")
    u = re.sub(r"fahr[a-z]*", "f", u)            # "fahrenheit" and its misspellings
    u = re.sub(r"cels[a-z]*|centigrade", "c", u)  # "celsius", "celcius", ...
    u = re.sub(r"minutes?$", "min", u)
    u = re.sub(r"/days?$", "/d", re.sub(r"/(?:hours?|hrs?)$", "/h", u))
    u = re.sub(r"^(?:beats|breaths|cells|counts?|#)(?=/)", "", u)  # a counted noun is dimensionless
    u = re.sub(r"10([\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)", lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS), u)
    u = u.replace("\u00d7", "x").replace("*", "^")
    u = re.sub(r"^x(?=10\^)", "", u)
    u = re.sub(r"mm\^?3|cumm", "ul", u)           # 1 mm3 = 1 µL
    u = re.sub(r"m(?:\^2|\u00b2)", "m2", u)        # kg/m^2, kg/m²
    return u


_SUPERSCRIPTS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079", "0123456789")
