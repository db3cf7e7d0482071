"""The Training runs page's charts, as Altair specifications built from the run-folder tables
(`apps.run_folder`). Pure functions: no Streamlit here, so the specifications are tested directly.

    chart = line_chart(part, "Solver accuracy", smooth_window=6)
    st.altair_chart(chart, width="stretch")        # never a fixed element height: see below

Every chart fixes the height of its *plot* and lets the legend sit below it, adding to the
chart's height instead of taking from the plot ("fit-x" autosize: the width follows the page,
the height is the plot's plus the legend's). A legend grows with the number of series, and so
does the chart; the plot never shrinks. Bar charts of categories give each bar a fixed step, so
every category label shows however many there are; that height is given in pixels, not as a
step, so Vega-Lite has no discrete height to drop and does not warn `Dropping "fit-y" because
spec has discrete height`.

Limits: colours repeat after the palette's ten; the series filter of the page keeps a chart to
a readable handful.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

PLOT_HEIGHT = 240        # px of plot area, whatever the legend holds
MIN_PLOT_HEIGHT = 2 * PLOT_HEIGHT // 3  # a chart sized by its categories is never shorter than this
BAR_STEP = 22            # px per category in a bar chart
LEGEND_COLUMNS_FROM = 5  # a legend with this many series or more is set in two columns
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
SOURCES = {"proposed": "#4e79a7", "seed": "#bab0ab", "simulator": "#f28e2c"}  # solver task origins, stacking order
TABLEAU10 = ("#4e79a7", "#f28e2c", "#e15759", "#76b7b2", "#59a14f", "#edc949", "#af7aa1", "#ff9da7", "#9c755f",
             "#bab0ab")


def _legend(n_series: int) -> alt.Legend:
    return alt.Legend(orient="bottom", title=None, labelLimit=360, symbolLimit=0, symbolOpacity=1,
                      columns=2 if n_series >= LEGEND_COLUMNS_FROM else 1, direction="vertical")


def _colors(names, palette: list[str] | None = None) -> alt.Scale:
    """Distinct colours (ten before they repeat) for the series present, each taken at its place
    in `palette` when that names every series, so a task type has the same colour in every chart
    of the page and a legend lists only what its chart draws."""
    present = sorted(set(names))
    order = list(palette) if palette and set(present) <= set(palette) else present
    return alt.Scale(domain=present, range=[TABLEAU10[order.index(n) % len(TABLEAU10)] for n in present])


def _finish(chart: alt.Chart | alt.LayerChart, title: str) -> alt.Chart | alt.LayerChart:
    return chart.properties(title=title, height=PLOT_HEIGHT, autosize=FIT_WIDTH)


def series_labels(table: pd.DataFrame, role: str | None = None) -> pd.Series:
    """A short legend label per row: the group without its role (the chart names the role),
    with the metric added only where a group has several metrics in the chart.

    >>> t = pd.DataFrame({"group": ["clinical/diagnosis/solve", "overall"], "metric": ["accuracy", "solve_acc"]})
    >>> series_labels(t, "solve").tolist()
    ['clinical/diagnosis', 'overall']
    """
    suffix = f"/{role}" if role else None
    groups = table["group"].map(lambda g: g[: -len(suffix)] if suffix and g.endswith(suffix) else g)
    several = table.groupby("group")["metric"].transform("nunique") > 1
    return groups.where(~several, groups + " · " + table["metric"])


def smoothed(table: pd.DataFrame, window: int) -> pd.DataFrame:
    """`table` (step, series, value) with `trend`: the trailing mean of the last `window` steps of
    each series (window 1: the values themselves).

    >>> smoothed(pd.DataFrame({"step": [1, 2, 3], "series": ["a"] * 3, "value": [0.0, 1.0, 2.0]}), 2)["trend"].tolist()
    [0.0, 0.5, 1.5]
    """
    out = table.sort_values(["series", "step"]).copy()
    out["trend"] = out.groupby("series")["value"].transform(lambda v: v.rolling(max(window, 1), min_periods=1).mean())
    return out


def line_chart(table: pd.DataFrame, title: str, role: str | None = None, smooth_window: int = 1,
               percent: bool = False, palette: list[str] | None = None) -> alt.LayerChart:
    """One line per series over the steps. With `smooth_window` > 1 the line is the trailing mean
    and the raw values show as faint points behind it (hover them for the exact figure).
    `palette`: every series name of the page in colour order (see `_colors`)."""
    data = smoothed(table.assign(series=series_labels(table, role)), smooth_window)
    n = data["series"].nunique()
    color = alt.Color("series:N", legend=_legend(n), scale=_colors(data["series"].unique(), palette))
    x = alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="d"))
    y_axis = alt.Axis(format="%" if percent else "~g")
    base = alt.Chart(data)
    raw = base.mark_point(size=18, opacity=0.35 if smooth_window > 1 else 0.9, filled=True).encode(
        x=x, y=alt.Y("value:Q", title=None, axis=y_axis), color=color,
        tooltip=["step:Q", "series:N", alt.Tooltip("value:Q", format=".4~g")])
    trend = base.mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("trend:Q", title=None, axis=y_axis), color=color,
        tooltip=["step:Q", "series:N", alt.Tooltip("trend:Q", title="mean", format=".4~g")])
    return _finish(alt.layer(trend, raw), title)


def rejection_chart(rejections: pd.DataFrame, title: str, palette: list[str] | None = None) -> alt.Chart:
    """Rejected proposals by reason, summed over the steps, stacked by group: one bar per reason,
    each `BAR_STEP` px high, so every reason is labelled."""
    totals = rejections.groupby(["group", "reason"], as_index=False)["count"].sum()
    totals["group"] = totals["group"].str.removesuffix("/propose")
    n = totals["group"].nunique()
    chart = alt.Chart(totals).mark_bar().encode(
        y=alt.Y("reason:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
        x=alt.X("sum(count):Q", title="proposals refused"),
        color=alt.Color("group:N", legend=_legend(n), scale=_colors(totals["group"].unique(), palette)),
        tooltip=["reason:N", "group:N", alt.Tooltip("sum(count):Q", title="count")])
    return chart.properties(title=title, height=max(MIN_PLOT_HEIGHT, BAR_STEP * totals["reason"].nunique()),
                            autosize=FIT_WIDTH)


def sources_chart(sources: pd.DataFrame, title: str) -> alt.Chart:
    """Share of the solver's tasks by source (proposed, seed, simulator) at each step, stacked
    to 100 %."""
    per_step = sources.groupby(["step", "source"], as_index=False)["count"].sum()
    order = [s for s in SOURCES if s in set(per_step["source"])] + sorted(set(per_step["source"]) - set(SOURCES))
    chart = alt.Chart(per_step).mark_area(opacity=0.85).encode(
        x=alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("count:Q", stack="normalize", title="share of solver tasks", axis=alt.Axis(format="%")),
        color=alt.Color("source:N", sort=order, legend=_legend(len(order)),
                        scale=alt.Scale(domain=order, range=[SOURCES.get(s, "#9c755f") for s in order])),
        order=alt.Order("source_rank:Q"),
        tooltip=["step:Q", "source:N", "count:Q"]).transform_calculate(
        source_rank=f"indexof({order!r}, datum.source)")
    return _finish(chart, title)


def learnability_chart(learnability: pd.DataFrame, title: str) -> alt.Chart:
    """Solve rates of valid proposals per step as a heat map (summed over task types): the band
    0 < p < 1 is where the proposer earns its reward."""
    per_step = learnability.groupby(["step", "solve_rate"], as_index=False)["count"].sum()
    chart = alt.Chart(per_step).mark_rect().encode(
        x=alt.X("step:O", title="step", axis=alt.Axis(labelAngle=0, labelOverlap=True)),
        y=alt.Y("solve_rate:O", title="solve rate", sort="descending", axis=alt.Axis(format=".2~f")),
        color=alt.Color("count:Q", title="proposals", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(orient="bottom", direction="horizontal")),
        tooltip=["step:O", alt.Tooltip("solve_rate:O", title="solve rate"), "count:Q"])
    return chart.properties(title=title, height=max(MIN_PLOT_HEIGHT, BAR_STEP * per_step["solve_rate"].nunique()),
                            autosize=FIT_WIDTH)
