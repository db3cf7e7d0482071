"""Packs: every rule pack with its diagnoses (priors, criteria, differentials, management), the
variables it uses (units, hard limits, reference intervals, LOINC, references), a validation
report, and the generation report of `azmed packs report` as charts.

Run with `azmed app`; add `--packs-dir DIR` (or fill "Extra pack folders" in the sidebar) to see
a pack you are writing. The validation report is `azmed packs validate FILE`, run in its own
process (so a pack that crashes the rule engine cannot take the playground down) and cached until
the file changes. The generation report runs `simulator.report.pack_report` on the loaded packs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from apps.pack_view import diagnosis_markdown, diagnosis_rows, reference_text, short_path, variable_rows
from apps.resources import pack_signature, settings, show_error, simulator_or_stop
from simulator import criteria as C
from simulator.errors import SimulatorError
from simulator.render import display_unit

VALIDATE_SECONDS = 600

sim = simulator_or_stop()
reg = sim.registry
st.title("Rule packs")
st.caption("Specialties are YAML files: diagnoses with criteria the rule engine checks, over a shared registry of "
           "variables with units, limits and reference intervals.")

# ---- overview -----------------------------------------------------------------------------------
m1, m2, m3, m4 = st.columns(4)
m1.metric("Packs", len(sim.packs))
m2.metric("Diagnoses", len(sim.diagnoses))
m3.metric("Variables", len(reg.variables))
m4.metric("Findings", len(reg.findings))
st.dataframe(pd.DataFrame([{"pack": p.pack, "title": p.title, "version": p.version, "diagnoses": len(p.diagnoses),
                            "file": short_path(p.source)} for p in sim.packs.values()]), hide_index=True,
             width="stretch")

name = st.selectbox("Pack", sorted(sim.packs), key="packs_pack")
pack = sim.packs[name]
st.header(pack.title)
if pack.description:
    st.markdown(pack.description)
st.caption(f"pack `{pack.pack}` · version {pack.version} · {short_path(pack.source)}")


# ---- diagnoses ----------------------------------------------------------------------------------
st.subheader("Diagnoses")
st.dataframe(pd.DataFrame(diagnosis_rows(pack)), hide_index=True, width="stretch",
             height=35 * (len(pack.diagnoses) + 1) + 3, column_config={"id": st.column_config.TextColumn(width=80),
                            "name": st.column_config.TextColumn(width="medium"),
                            "prior weight": st.column_config.NumberColumn(width=95),
                            "age": st.column_config.TextColumn("age (mean ± SD)", width=115),
                            "female": st.column_config.TextColumn(width=70)})
st.caption("Open a diagnosis for its criteria (what the rule engine checks), differentials, first-line management "
           "and references.")
for d in pack.diagnoses:
    with st.expander(f"{d.id} · {d.name}"):
        st.markdown(diagnosis_markdown(sim, pack, d))

# ---- variables and findings ---------------------------------------------------------------------
used: set[str] = set(pack.panel) | set(pack.variables)
findings: set[str] = set(pack.findings) | set(pack.background)
for d in pack.diagnoses:
    used |= set(d.presentation.variables)
    findings |= set(d.presentation.symptoms) | set(d.presentation.history)
    criteria_variables, criteria_findings = C.names(sim.trees[d.id])
    used |= criteria_variables
    findings |= criteria_findings
st.subheader("Variables")
st.caption("Values are generated and checked in the canonical unit (its UCUM code beside it); the other units are "
           "accepted and converted. A value outside the hard limits is impossible; outside the reference interval it "
           "is abnormal.")
var_rows = variable_rows(reg, used, pack)
st.dataframe(pd.DataFrame(var_rows), hide_index=True, width="stretch", height=35 * (len(var_rows) + 1) + 3,
             column_order=[c for c in var_rows[0] if c != "computed"] if var_rows else None,
             column_config={"name": st.column_config.TextColumn(width=165),
                            "id": st.column_config.TextColumn(width=95),
                            "unit": st.column_config.TextColumn(width=80),
                            "UCUM": st.column_config.TextColumn(width=85),
                            "also accepted": st.column_config.TextColumn(width=110),
                            "hard limits": st.column_config.TextColumn(width=80),
                            "reference interval": st.column_config.TextColumn(width=135),
                            "LOINC": st.column_config.TextColumn(width=70),
                            "source": st.column_config.TextColumn(width=80, help="reference id, cited below"),
                            "from this pack": st.column_config.CheckboxColumn("own", width=45,
                                                                              help="defined by this pack")})
computed = [(vid, reg.variables[vid]) for vid in reg.variables if vid in used and reg.variables[vid].derive]
if computed:
    with st.expander(f"Computed variables ({len(computed)}): how each is derived"):
        for vid, var in computed:
            st.markdown(f"**{var.name}** (`{vid}`, {display_unit(var.unit) or 'no unit'}) = `{var.derive}`")
with st.expander(f"Findings ({len(findings & set(reg.findings))})"):
    st.dataframe(pd.DataFrame([{"id": fid, "name": f.name, "kind": f.kind, "also written": ", ".join(f.aliases),
                                "from this pack": fid in pack.findings}
                               for fid, f in reg.findings.items() if fid in findings]),
                 hide_index=True, width="stretch")
sources = sorted({row["source"] for row in var_rows} - set(pack.references))
with st.expander(f"References ({len(pack.references) + len(sources)})"):
    for ref_id in [*pack.references, *sources]:
        st.markdown(f"- **{ref_id}**: {reference_text(ref_id, pack, reg)}")


# ---- validation ---------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def validation_report(source: str, signature: tuple) -> tuple[int, str]:
    """(exit code, output) of `azmed packs validate SOURCE`, cached until a pack file changes
    (`signature`: every pack file with its modification time)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "azmed.cli", "packs", "validate", source],
                              capture_output=True, text=True, timeout=VALIDATE_SECONDS)
    except subprocess.TimeoutExpired:
        return 124, f"validation did not finish in {VALIDATE_SECONDS} s; run `azmed packs validate {source}`"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


st.subheader("Validation")
st.caption(f"`azmed packs validate {short_path(pack.source)}`: schema, names, ranges inside hard limits, distinguishable "
           "criteria, and every diagnosis reachable by the engine.")
source = Path(pack.source)
if not source.is_file():
    st.warning(f"{source} is no longer on disk; reload the page after restoring it.")
else:
    with st.spinner("Validating…"):
        code, output = validation_report(str(source), pack_signature(settings().packs_dirs))
    if code == 0:
        st.success(output or "ok")
    elif code < 0:
        st.error(f"The validator crashed (signal {-code}) on {source}. Its output:\n\n{output or '(none)'}")
    else:
        st.error(f"Validation failed (exit {code}):\n\n" + "\n".join(f"- {line}" for line in output.splitlines()))


# ---- generation report --------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def generation_report(_sim, pack_name: str, n: int, seed: int, sim_id: int) -> pd.DataFrame:
    from simulator.report import pack_report, report_json

    report = pd.DataFrame(report_json(pack_report(_sim, pack_name, n, seed)))
    # one column per figure: the per-coupling shares stay in `azmed packs report --json`
    report["step_shares"] = report["step_shares"].map(lambda s: " / ".join(f"{x:.0%}" for x in s))
    return report.drop(columns=["coupling_breaks"])


def share_chart(report: pd.DataFrame, title: str, measures: dict[str, str], full_scale: bool = True) -> None:
    """Grouped horizontal bars: one row per diagnosis, one bar per measure (a share; the axis runs
    0-100 % when `full_scale`, else to the largest share)."""
    data = report.assign(diagnosis=report["id"] + " " + report["name"]).melt(
        id_vars="diagnosis", value_vars=list(measures), var_name="measure", value_name="share")
    data["measure"] = data["measure"].map(measures)
    chart = alt.Chart(data, title=title).mark_bar().encode(
        y=alt.Y("diagnosis:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)), yOffset="measure:N",
        x=alt.X("share:Q", title=None, axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]) if full_scale else alt.Undefined),
        color=alt.Color("measure:N", legend=alt.Legend(orient="bottom", title=None, labelLimit=400)),
        tooltip=["diagnosis", "measure", alt.Tooltip("share:Q", format=".1%")])
    st.altair_chart(chart, width="stretch")


st.subheader("Generation report")
st.caption("`azmed packs report`: per diagnosis, the share of draws accepted by the engine, the share of values "
           "outside their reference interval, engine agreement after a JSON round trip, the share of cases "
           "that break a physiology coupling, label balance against the prior, and how often each management "
           "step is the first step.")
r1, r2, _ = st.columns([2, 1, 3])
n = r1.slider("Cases per diagnosis", min_value=5, max_value=200, value=20, step=5, key="packs_report_n")
seed = r2.number_input("First seed", min_value=0, value=0, step=1, key="packs_report_seed")
# Once computed, the report stays on the page for the same settings (reruns re-read the cache).
clicked = st.button("Compute the report", key="packs_report_run")
if clicked or st.session_state.get("packs_report_for") == (name, n, seed):
    try:
        with st.spinner(f"Generating {n} cases per diagnosis…"):
            report = generation_report(sim, name, int(n), int(seed), id(sim))
    except SimulatorError as exc:
        show_error(f"The report for {name} stopped", exc)
    else:
        st.session_state["packs_report_for"] = (name, n, seed)
        share_chart(report, "Generation quality per diagnosis", {
            "acceptance": "draws accepted by the engine", "abnormal_share": "values outside the reference interval",
            "engine_agreement": "same label after a JSON round trip",
            "breaks": "cases breaking a physiology coupling"})
        share_chart(report, "Label balance: generated share against prior share", {
            "label_share": "share of generated labels", "prior_share": "prior weight share"}, full_scale=False)
        st.dataframe(report, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="percent")
                                    for c in ("acceptance", "abnormal_share", "engine_agreement", "label_share",
                                              "prior_share", "breaks")})
