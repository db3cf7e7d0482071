"""Case lab: generate a case by pack, diagnosis and seed; read it as a clinician would; reveal the
hidden diagnosis on demand; change any value (or the whole case as text) and see the engine
re-diagnose it or reject it with its reason; run any calculator on it with its explanation;
download it as JSON.

Run with `azmed app` (this page is part of the playground). The same seed gives the same case
as `azmed simulate --seed S`. Edited cases go through the same validation as a proposer's case
(`Simulator.check`), so what is accepted here is what self-play would accept.
"""

from __future__ import annotations

import streamlit as st

from apps.case_view import (CURRENT_CASE, CURRENT_ORIGIN, case_download, check_case, check_message, draw_case,
                            editable_variables, headline, shown_value, unit_choices, with_value)
from apps.resources import show_error, simulator_or_stop
from simulator import calculators
from simulator.case import Case
from simulator.errors import SimulatorError
from simulator.render import display_unit, summary, to_lines

sim = simulator_or_stop()
reg = sim.registry
st.title("Case lab")
st.caption("Generate a case, read it, reveal its hidden diagnosis, edit it and watch the rule engine decide.")


def set_case(case: Case, origin: dict) -> None:
    """Make `case` the current case; widgets keyed by the version start from its values."""
    st.session_state[CURRENT_CASE] = case
    st.session_state[CURRENT_ORIGIN] = origin
    st.session_state["lab_version"] = st.session_state.get("lab_version", 0) + 1
    st.session_state["lab_reveal"] = False
    st.session_state.pop("lab_edit", None)
    st.session_state.pop("lab_calculator", None)  # start from a calculator that applies to the new case


def generate() -> None:
    """Generate from the widgets' values (a button callback: it runs before the page is drawn)."""
    pack = st.session_state.get("lab_pack", "all")
    diagnosis = st.session_state.get("lab_diagnosis", "any")
    seed = int(st.session_state.get("lab_seed", 0))
    try:
        case = sim.generate(seed, pack=None if pack == "all" else pack,
                            diagnosis=None if diagnosis == "any" else diagnosis)
    except SimulatorError as exc:
        st.session_state["lab_error"] = f"No case for pack {pack}, diagnosis {diagnosis}, seed {seed}: {exc}"
        return
    st.session_state.pop("lab_error", None)
    set_case(case, {"pack": pack, "diagnosis": diagnosis, "seed": seed})


# ---- generate -----------------------------------------------------------------------------------
c1, c2, c3 = st.columns([2, 4, 1])
pack = c1.selectbox("Pack", ["all", *sorted(sim.packs)], key="lab_pack")
dx_ids = list(sim.diagnoses) if pack == "all" else [d.id for d in sim.packs[pack].diagnoses]
c2.selectbox("Diagnosis", ["any", *dx_ids], key="lab_diagnosis",
             format_func=lambda d: "any (drawn by prior)" if d == "any" else f"{d} · {sim.diagnoses[d].name}")
c3.number_input("Seed", min_value=0, value=0, step=1, key="lab_seed")
st.button("Generate case", type="primary", key="lab_generate", on_click=generate)
if CURRENT_CASE not in st.session_state and "lab_error" not in st.session_state:
    generate()
if "lab_error" in st.session_state:
    st.error(st.session_state["lab_error"])

case: Case | None = st.session_state.get(CURRENT_CASE)
if case is None:
    st.stop()
version = st.session_state.get("lab_version", 0)
origin = st.session_state.get(CURRENT_ORIGIN, {})

# ---- the case -----------------------------------------------------------------------------------
st.subheader(f"Case: {headline(case)}")
st.caption(" · ".join(f"{k} {v}" for k, v in origin.items()))
draw_case(case, reg)
with st.expander("What the solver reads"):
    st.code(summary(case, reg), language=None, wrap_lines=True)

reveal = st.toggle("Reveal the hidden diagnosis", key="lab_reveal")
if reveal and case.label not in sim.diagnoses:
    st.warning(f"This case's diagnosis {case.label} is not in the packs loaded now (a pack changed); "
               "generate a new case.")
elif reveal:
    dx = sim.diagnoses[case.label]
    st.success(f"Hidden diagnosis: **{dx.name}** ({dx.id}), pack {sim.pack_of[dx.id]}")
    differentials = ", ".join(f"{sim.diagnoses[d].name} ({d})" for d in dx.differentials if d in sim.diagnoses)
    st.caption(f"Differentials: {differentials}. "
               f"First management step for this case: {sim.management_step(case)[1].first_line}.")
file_name, payload = case_download(case, reg, reveal)
st.download_button("Download the case as JSON", data=payload, file_name=file_name, mime="application/json",
                   key="lab_download", help="with the diagnosis only while it is revealed")

# ---- edit and re-diagnose -----------------------------------------------------------------------
st.subheader("Edit and re-diagnose")
one_value, as_text = st.tabs(["Change one value", "Edit as text"])
result = None
with one_value:
    e1, e2, e3 = st.columns([3, 2, 2])
    variables = editable_variables(case, reg)
    vid = e1.selectbox("Measurement", variables, key=f"lab_edit_var_{version}",
                       format_func=lambda v: reg.variables[v].name)
    if vid:
        var = reg.variables[vid]
        value, unit = shown_value(case, reg, vid)
        new_value = e2.number_input("Value", value=value, step=1.0 if var.decimals == 0 else 10.0 ** -var.decimals,
                                    format=f"%.{max(var.decimals, 0)}f" if unit == var.unit else "%.4g",
                                    key=f"lab_edit_value_{version}_{vid}")
        units = unit_choices(var, unit)
        new_unit = e3.selectbox("Unit", units, index=units.index(unit),
                                format_func=display_unit, key=f"lab_edit_unit_{version}_{vid}")
        st.caption(f"Hard limits {var.limits[0]:g}–{var.limits[1]:g} {display_unit(var.unit)}: a value outside is "
                   "impossible, not abnormal.")
        if st.button("Re-diagnose", key="lab_edit_apply"):
            result = check_case(sim, with_value(case, reg, vid, float(new_value), new_unit))
with as_text:
    text = st.text_area("Case, one fact a line (the proposer's format; JSON works too)", value=to_lines(case, reg),
                        height=320, key=f"lab_edit_text_{version}")
    if st.button("Re-diagnose the text", key="lab_edit_text_apply"):
        result = check_case(sim, text)
if result is not None:
    st.session_state["lab_edit"] = (*check_message(result, sim, case.label if reveal else None),
                                    result if isinstance(result, Case) else None)
if "lab_edit" in st.session_state:
    level, message, edited = st.session_state["lab_edit"]
    getattr(st, level)(message)
    if edited is not None:
        st.button("Continue with the edited case", key="lab_edit_keep", on_click=set_case,
                  args=(edited, {"edited from": ", ".join(f"{k} {v}" for k, v in origin.items()) or "a case"}))

# ---- calculators --------------------------------------------------------------------------------
st.subheader("Calculators")
facts = case.facts()
usable = [c.id for c in calculators.applicable(facts)]
others = [cid for cid in calculators.CALCULATORS if cid not in usable]
cid = st.selectbox("Calculator", usable + others, key="lab_calculator",
                   format_func=lambda c: calculators.CALCULATORS[c].name + ("" if c in usable else " (inputs missing)"))
st.caption(f"{len(usable)} of {len(calculators.CALCULATORS)} calculators have every required input in this case.")
if cid:
    calc = calculators.CALCULATORS[cid]
    try:
        res = calc.compute(facts)
    except calculators.CalculatorInputError as exc:
        show_error(f"{calc.name} cannot run on this case", exc)
    else:
        st.metric(calc.name, f"{calc.answer_text(res.answer)} {display_unit(res.unit)}".strip())
        st.code(res.explanation, language=None, wrap_lines=True)
        st.caption(f"Reference: {calc.reference}")
