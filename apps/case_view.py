"""A case as a clinician reads it: demographics, findings grouped as symptoms, history and tests,
and a table of measurements with units, the reference interval and a flag (H/L) for values
outside it; computed values (MAP, anion gap, eGFR, BMI) are marked as such.

    rows = measurement_rows(case, sim.registry)   # plain dicts, testable without Streamlit
    draw_case(case, sim.registry)                 # the same, drawn in the page

Also the small operations the pages share on a case: the current case of the session (the Case
lab writes it, Ask a model reads it), and a case edited by one value, ready for re-validation.

Limits: reference intervals are the adult intervals of the registry, by sex where they differ;
a value shown in another unit than the canonical one has its interval converted to that unit.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from simulator.case import Case, Rejection
from simulator.render import display_unit, finding_groups

CURRENT_CASE = "case"          # session key: the Case lab's current case (a simulator Case)
CURRENT_ORIGIN = "case_origin"  # session key: how it was made, e.g. {"pack":..., "seed":...}


# ---- the table ----------------------------------------------------------------------------------

def flag(var, value: float, sex: str) -> str:
    """'H' above, 'L' below the reference interval for this sex, '' inside it."""
    lo, hi = var.normal_for(sex)
    return "H" if value > hi else "L" if value < lo else ""


def _fmt(x: float) -> str:
    return f"{x:g}"


def measurement_rows(case: Case, reg) -> list[dict[str, Any]]:
    """One row per measurement, in registry order, in the unit the case reports it in."""
    rows = []
    for vid, canonical in case.values.items():
        var = reg.variables[vid]
        unit = case.units.get(vid, var.unit)
        lo, hi = var.normal_for(case.sex)
        if unit != var.unit:
            shown = case.shown.get(vid, var.from_canonical(canonical, unit))
            lo, hi = sorted((var.from_canonical(lo, unit), var.from_canonical(hi, unit)))
            shown, lo, hi = round(shown, 4), round(lo, 4), round(hi, 4)
        else:
            shown = var.round(canonical)
        rows.append({
            "measurement": var.name,
            "value": shown,
            "unit": display_unit(unit),
            "reference interval": f"{_fmt(lo)}–{_fmt(hi)}",
            "flag": flag(var, canonical, case.sex),
            "computed": bool(var.derive),
            "LOINC": var.loinc or "",
            "id": vid,
        })
    return rows


def headline(case: Case) -> str:
    """'57-year-old man' / '64-year-old woman'."""
    return f"{case.age}-year-old {'man' if case.sex == 'M' else 'woman'}"


def _highlight(row: pd.Series) -> list[str]:
    color = {"H": "color: #b42318; font-weight: 600", "L": "color: #175cd3; font-weight: 600"}.get(row["flag"], "")
    return [color] * len(row)


def draw_case(case: Case, reg) -> None:
    """Findings and the measurement table, drawn in the page (the caller titles the case)."""
    for kind, names in finding_groups(case, reg).items():
        st.markdown(f"**{kind.capitalize()}:** {', '.join(names) if names else '—'}")
    rows = measurement_rows(case, reg)
    if not rows:
        st.info("This case has no measurements.")
        return
    table = pd.DataFrame(rows).drop(columns=["id"])
    table["value"] = table["value"].map(_fmt)
    outside = int((table["flag"] != "").sum())
    # Tall enough to show every row: a case is read whole, not scrolled.
    st.dataframe(table.style.apply(_highlight, axis=1), hide_index=True, width="stretch",
                 height=35 * (len(rows) + 1) + 3,
                 column_config={"measurement": st.column_config.TextColumn(width=300),
                                "unit": st.column_config.TextColumn(width=120),
                                "computed": st.column_config.CheckboxColumn(
                                    "computed", help="derived from other values (never sampled or trusted)")})
    st.caption(f"{len(rows)} measurements, {outside} outside the adult reference interval "
               "(H high, L low). Computed values are recomputed from their inputs whenever the case changes.")


def case_download(case: Case, reg, reveal: bool) -> tuple[str, str]:
    """(file name, JSON text) of the case in the `azmed simulate` schema; the diagnosis is in it
    only when `reveal` is set, as on the page."""
    seed = case.seed if case.seed is not None else "edited"
    text = json.dumps(case.to_json(reg, reveal=reveal), indent=1, ensure_ascii=False)
    return f"case-{case.pack or 'unlabelled'}-{seed}.json", text


# ---- editing ------------------------------------------------------------------------------------

def editable_variables(case: Case, reg) -> list[str]:
    """Variables a person may change: the measured ones (computed ones follow their inputs)."""
    return [vid for vid in case.values if not reg.variables[vid].derive]


def unit_choices(var, current: str | None = None) -> list[str]:
    """The units a person can pick for `var`: one registry code per distinct clinical spelling
    (the canonical unit first), so the list never shows '°C' three times; `current` is kept.

    >>> from simulator.variables import registry
    >>> [display_unit(u) for u in unit_choices(registry().get("temperature"))]
    ['°C', 'C', '°F', 'F']
    """
    choices: dict[str, str] = {}
    for unit in var.accepted_units():
        choices.setdefault(display_unit(unit), unit)
    if current is not None and current not in choices.values():
        choices[display_unit(current)] = current
    return list(choices.values())


def shown_value(case: Case, reg, vid: str) -> tuple[float, str]:
    """A measurement as the case reports it: (value, unit)."""
    var = reg.variables[vid]
    unit = case.units.get(vid, var.unit)
    if unit != var.unit:
        return float(case.shown.get(vid, var.from_canonical(case.values[vid], unit))), unit
    return float(var.round(case.values[vid])), unit


def with_value(case: Case, reg, vid: str, value: float, unit: str) -> dict[str, Any]:
    """The case as proposal JSON with `vid` set to `value` `unit`. Computed values are left out:
    the simulator recomputes them, and a stale one would be rejected as inconsistent."""
    data = case.to_json(reg)
    data.pop("seed", None)
    data["measurements"] = {k: m for k, m in data["measurements"].items() if not reg.variables[k].derive}
    data["measurements"][vid] = {"value": value, "unit": unit}
    return data


def check_case(sim, proposal) -> Case | Rejection:
    """`Simulator.check`, with an unexpected failure turned into a rejection a person can read
    (the page must show it, not a traceback)."""
    try:
        return sim.check(proposal)
    except Exception as exc:  # noqa: BLE001 - shown in the page; the simulator's own checks return Rejection
        return Rejection("error", f"the simulator could not check this case ({exc.__class__.__name__}: {exc}); "
                         "please report it with the case text")


def check_message(result: Case | Rejection, sim, before: str | None) -> tuple[str, str]:
    """(level, text) describing the engine's verdict on an edited case; level is 'error' for a
    rejection, 'success' when the diagnosis is unchanged, 'warning' when it changed."""
    if isinstance(result, Rejection):
        return "error", f"Rejected ({result.reason}): {result.detail}"
    name = f"{result.label_name} ({result.label})"
    if before is None or before not in sim.diagnoses:  # label hidden, or no longer in the packs
        return "success", f"The engine diagnoses {name}."
    if result.label == before:
        return "success", f"The engine still diagnoses {name}."
    return "warning", (f"The engine now diagnoses {name}, no longer "
                       f"{sim.diagnoses[before].name} ({before}).")
