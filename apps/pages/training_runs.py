"""Training runs: pick a run folder and see, top to bottom, whether it is running, finished or
stopped; its result (base model vs the trained adapter on the held-out check, `heldout.json`);
its curves (solver accuracy, valid-proposal rate, solver and proposer reward per environment and
task type, every rejection reason, and any other figure the trainer logs) from `metrics.jsonl`;
the curriculum (where the solver's tasks came from, proposals in the learnability band) when the
run logged it; and recent proposals and answers from `samples.jsonl`. While a run is running the
page refreshes itself.

Run with `azmed app --runs DIR` (or set the runs folder in the sidebar). Charts are built in
`apps.run_charts` (legends below a plot of fixed height, so any number of series stays
readable); the status is `azmed.run_status.run_state`. Figures are read generically: any number
in a step's JSON object can be plotted under "More figures", so figures the trainer adds later
appear without changes here. Files are re-read only when they change.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Callable

import pandas as pd
import streamlit as st

from apps.resources import settings
from apps.run_charts import learnability_chart, line_chart, rejection_chart, sources_chart
from apps.run_folder import (CONFIG, HELDOUT, METRICS, SAMPLES, curriculum_tables, file_version, find_runs,
                             heldout_table, metrics_table, read_jsonl, rejections_table, run_config,
                             samples_table)
from azmed.run_status import run_state

REFRESH_SECONDS = 5
SAMPLES_SHOWN = 200
# The curves DESIGN §5 names first: (title, the trainer's metric names, role of the groups, percent axis).
HEADLINES = (("Solver accuracy", ("accuracy", "solve_acc"), "solve", True),
             ("Valid-proposal rate", ("valid",), "propose", True),
             ("Solver reward", ("reward",), "solve", False),
             ("Proposer reward", ("reward",), "propose", False))
STATE_ICONS = {"running": ":material/play_circle:", "finished": ":material/check_circle:",
               "stopped": ":material/pause_circle:"}

st.title("Training runs")
runs_dir = settings().runs_dir
runs = find_runs(runs_dir)
picked = st.selectbox("Run", [str(r) for r in runs], key="runs_pick",
                      format_func=lambda r: str(Path(r).relative_to(runs_dir)) if Path(r) != runs_dir else Path(r).name,
                      placeholder="no run folder found", help=f"run folders (with a {METRICS}) under {runs_dir}")
typed = st.text_input("…or a run folder path", key="runs_path", placeholder="runs/my-run")
run = Path(typed.strip()).expanduser() if typed.strip() else Path(picked) if picked else None
if run is None:
    st.info(f"No run folder with a {METRICS} under {runs_dir}. Start one with `azmed train --env clinical`, or "
            "set the runs folder in the sidebar.")
    st.stop()
if not (run / METRICS).is_file():
    st.error(f"{run} has no {METRICS}: choose the folder `azmed train` wrote (it holds config.yaml and {METRICS}).")
    st.stop()
refresh = st.toggle(f"Refresh every {REFRESH_SECONDS} s", value=run_state(run).state == "running",
                    key=f"runs_refresh_{run}", help="on by default while the run is running")


@st.cache_data(show_spinner=False, max_entries=16)
def load_metrics(path: str, version: tuple):
    records, skipped = read_jsonl(Path(path))
    return metrics_table(records), rejections_table(records), curriculum_tables(records), len(records), skipped


@st.cache_data(show_spinner=False, max_entries=16)
def load_samples(path: str, version: tuple) -> tuple[pd.DataFrame, int]:
    records, skipped = read_jsonl(Path(path), tail=SAMPLES_SHOWN)
    return samples_table(records[::-1]), skipped


def two_per_row(panels: list[Callable[[], None]]) -> None:
    for i in range(0, len(panels), 2):
        for col, draw in zip(st.columns(2), panels[i:i + 2]):
            with col:
                draw()


def chart(spec) -> None:
    st.altair_chart(spec, width="stretch")  # height follows the chart: plot plus legend


# ---- status and result ----------------------------------------------------------------------------

def show_status(run: Path, steps: int, metrics: pd.DataFrame) -> None:
    state = run_state(run)
    total = _configured_steps(run)
    c1, c2, c3 = st.columns(3)
    c1.metric("Status", state.state)
    c2.metric("Steps logged", f"{steps} of {total}" if total else steps)
    times = metrics.loc[(metrics["group"] == "time") & (metrics["metric"] == "total"), "value"]
    c3.metric("Training time", _duration(times.sum()) if len(times) else "—",
              help="sum of the logged step times (generation, validation, verification, update)")
    st.caption(f"{STATE_ICONS.get(state.state, '')} {state.state}: {state.detail}")


def _configured_steps(run: Path) -> int | None:
    trainer = run_config(run).get("trainer")
    steps = trainer.get("steps") if isinstance(trainer, dict) else None
    return steps if isinstance(steps, int) else None


def _duration(seconds: float) -> str:
    return str(_dt.timedelta(seconds=round(seconds)))


def show_result(run: Path) -> None:
    st.subheader("Result: base model vs trained adapter")
    table = heldout_table(run)
    if table is None:
        st.info(f"No {HELDOUT} yet: at the end of the run the base model and the trained adapter are scored on "
                "held-out tasks (`eval.at_end`), and the comparison appears here.")
        return
    headline = table[table["tasks"] == "all"]
    for _, row in headline.iterrows():
        st.markdown(f"**{row['suite']}** (n={row['n']}): {100 * row['base']:.1f} % → **{100 * row['adapter']:.1f} %** "
                    f"({100 * row['change']:+.1f} points)")
    shown = table.assign(base=100 * table["base"], adapter=100 * table["adapter"], change=100 * table["change"])
    st.dataframe(shown, hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3,
                 column_config={"base": st.column_config.NumberColumn("base model", format="%.1f %%"),
                                "adapter": st.column_config.NumberColumn("adapter", format="%.1f %%"),
                                "change": st.column_config.NumberColumn("change (points)", format="%+.1f"),
                                "n": st.column_config.NumberColumn("n", help="held-out tasks"),
                                "tasks": st.column_config.TextColumn("tasks", width="medium")})
    st.caption(f"Accuracy on held-out tasks (seeds training never draws), greedy, from {HELDOUT}.")


# ---- curves ---------------------------------------------------------------------------------------

def task_type_of(group: str) -> str | None:
    """'clinical/diagnosis/solve' -> 'clinical/diagnosis'; None for step-level groups ('overall')."""
    parts = group.split(" / ")[-1].split("/")
    return "/".join(parts[:2]) if len(parts) == 3 else None


def task_types(metrics: pd.DataFrame, curriculum) -> list[str]:
    """Every environment/task type the run logged, sorted: the filter's options, in colour order."""
    kinds = {t for t in map(task_type_of, metrics["group"].unique()) if t}
    if curriculum is not None:
        kinds |= set(curriculum.sources["task_type"]) | set(curriculum.proposals["task_type"])
    return sorted(kinds)


def curve_controls(run: Path, kinds: list[str], steps: int) -> tuple[list[str], int]:
    """The task types to draw and the smoothing window (1: raw values), chosen above the curves."""
    f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = f1.multiselect("Task types", kinds, default=kinds, key=f"runs_types_{run}",
                            help="the environments and task types drawn in every chart below ('overall' is always "
                                 "drawn)")
    window = max(1, steps // 10)
    smooth = f2.toggle(f"Smooth ({window} steps)", value=window > 1, key=f"runs_smooth_{run}",
                       help="a trailing mean over a tenth of the run; the raw values stay as faint points",
                       disabled=window == 1)
    return chosen, window if smooth else 1


def show_curves(run: Path, metrics: pd.DataFrame, rejections: pd.DataFrame, chosen: list[str], window: int,
                kinds: list[str]) -> None:
    """The headline curves, the rejection reasons and, on request, any other figure."""
    palette = [*kinds, "overall"]  # one colour per task type on every chart
    keep = metrics["group"].map(lambda g: task_type_of(g) in chosen or task_type_of(g) is None)
    metrics = metrics[keep]
    shown: set[str] = set()
    panels = []
    for title, names, role, percent in HEADLINES:
        part = metrics[metrics["metric"].isin(names)
                       & metrics["group"].map(lambda g: g.endswith("/" + role) or task_type_of(g) is None)]
        if len(part):
            shown |= set(names)
            panels.append(lambda part=part, title=title, role=role, percent=percent: chart(
                line_chart(part, title, role=role, smooth_window=window, percent=percent, palette=palette)))
    if len(rejections):
        part = rejections[rejections["group"].map(lambda g: task_type_of(g) in chosen)]
        if len(part):
            panels.append(lambda: chart(rejection_chart(part, "Rejection reasons (proposals refused, all steps)",
                                                        palette=palette)))
    two_per_row(panels)
    others = sorted(set(metrics["metric"]) - shown)
    more = st.multiselect("More figures", others, key=f"runs_more_{run}",
                          default=[m for m in others if m in ("loss", "per_s")])
    two_per_row([lambda name=name: chart(line_chart(metrics[metrics["metric"] == name], name, smooth_window=window))
                 for name in more])


def show_curriculum(curriculum, chosen: list[str], kinds: list[str], window: int) -> None:
    """Where the solver's tasks came from and how the proposer's tasks fared; drawn only for runs
    whose records carry `solve_sources` / `proposals`."""
    st.subheader("Curriculum")
    sources = curriculum.sources[curriculum.sources["task_type"].isin(chosen)]
    proposals = curriculum.proposals[curriculum.proposals["task_type"].isin(chosen)]
    learnability = curriculum.learnability[curriculum.learnability["task_type"].isin(chosen)]
    if len(sources):
        totals = sources.groupby("source")["count"].sum()
        st.caption(f"Over the run, {100 * totals.get('proposed', 0) / max(totals.sum(), 1):.0f} % of the solver's "
                   f"{int(totals.sum())} tasks came from the proposer ("
                   + ", ".join(f"{k} {int(v)}" for k, v in totals.items()) + ").")
    panels = []
    if len(sources):
        panels.append(lambda: chart(sources_chart(sources, "Where the solver's tasks came from")))
    for metric, title, percent in (("in_band", "Valid proposals in the learnability band (0 < p < 1)", True),
                                   ("distinct", "Distinct diagnoses or calculators proposed", False),
                                   ("duplicates", "Duplicate proposals", False)):
        part = proposals[proposals["metric"] == metric]
        if len(part):
            table = part.rename(columns={"task_type": "group"})
            panels.append(lambda t=table, title=title, percent=percent: chart(
                line_chart(t, title, percent=percent, palette=kinds, smooth_window=window)))
    if len(learnability):
        panels.append(lambda: chart(learnability_chart(learnability, "Solve rates of valid proposals")))
    two_per_row(panels)


# ---- samples ----------------------------------------------------------------------------------------

def show_samples(run: Path) -> None:
    st.subheader("Recent proposals and answers")
    path = run / SAMPLES
    if not path.is_file():
        st.caption(f"No {SAMPLES} in this run folder (the trainer writes a few proposals and answers a step; "
                   "published results may leave it out).")
        return
    samples, bad = load_samples(str(path), file_version(path))
    if samples.empty:
        st.warning(f"{path} holds no readable sample yet" + (f" ({bad} unreadable line(s))." if bad else "."))
        return
    filters = [c for c in ("env", "task_type", "role") if c in samples.columns]
    cols = st.columns(max(len(filters), 1))
    for col, name in zip(cols, filters):
        values = sorted(samples[name].dropna().astype(str).unique())
        keep = col.multiselect(name.replace("_", " "), values, key=f"runs_filter_{name}_{run}")
        if keep:
            samples = samples[samples[name].astype(str).isin(keep)]
    st.dataframe(samples, hide_index=True, width="stretch",
                 column_config={"completion": st.column_config.TextColumn(width="large"),
                                "prompt": st.column_config.TextColumn(width="large")})
    skipped_note = f"; {bad} unreadable line(s) skipped." if bad else "."
    st.caption(f"The latest {len(samples)} samples, newest first{skipped_note}")


# ---- the page -----------------------------------------------------------------------------------------

@st.fragment(run_every=REFRESH_SECONDS if refresh else None)
def show_run(run: Path) -> None:
    metrics, rejections, curriculum, steps, skipped = load_metrics(str(run / METRICS), file_version(run / METRICS))
    show_status(run, steps, metrics)
    if skipped:
        st.caption(f"{skipped} line(s) of {METRICS} are not complete JSON objects and were skipped.")
    show_result(run)
    if metrics.empty:
        st.info("No figures logged yet; the first step is still running.")
    else:
        st.subheader("Curves")
        kinds = task_types(metrics, curriculum)
        chosen, window = curve_controls(run, kinds, steps)
        show_curves(run, metrics, rejections, chosen, window, kinds)
        if curriculum is not None:
            show_curriculum(curriculum, chosen, kinds, window)
    show_samples(run)


st.caption(f"{run}")
show_run(run)
with st.expander(CONFIG):
    config = run / CONFIG
    st.code(config.read_text(encoding="utf-8") if config.is_file() else f"(no {CONFIG} in this run)", language="yaml")
