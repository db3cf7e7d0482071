"""Markdown tables of evaluation summaries: one run, or two runs side by side with differences.

    azmed eval --compare base.json adapter.json          # prints the table
    from azmed.eval.compare import compare_markdown, load_summary, summary_markdown
    print(compare_markdown(load_summary("base.json"), load_summary("adapter.json")))

The first table has one row per suite and metric (n, A, B, B - A); then one table per suite
and group key (per pack, per task type, per calculator, per category...) with the accuracy of
each group. A suite or group present in only one run shows "—" on the other side.

Limits: reads only the summary JSON written by `azmed eval`; the per-item records are not
needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.readers import loads_json

DASH = "—"


class SummaryError(ValueError):
    """A file that is not an `azmed eval` summary; the message says which and why."""


def load_summary(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SummaryError(f"{path} does not exist: pass two summary JSON files written by `azmed eval --out`")
    try:
        data = loads_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # not JSON, a key twice, nested too deep
        raise SummaryError(f"{path} is not JSON ({exc}); pass a summary written by `azmed eval --out`") from None
    if not isinstance(data, dict) or not isinstance(data.get("suites"), dict):
        raise SummaryError(f"{path} has no 'suites' object: it is not a summary written by `azmed eval --out` "
                           "(the per-item .jsonl files beside it are not summaries)")
    data.setdefault("_path", str(path))
    return data


def run_label(summary: dict[str, Any]) -> str:
    """'embedded', or 'embedded + runs/x/adapter'."""
    label = str(summary.get("model") or Path(summary.get("_path", "run")).stem)
    return f"{label} + {summary['adapter']}" if summary.get("adapter") else label


def _fmt(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _delta(a: Any, b: Any) -> str:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return DASH
    d = b - a
    return f"{d:+d}" if isinstance(a, int) and isinstance(b, int) else f"{d:+.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---" if i < 2 else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _suites(*runs: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(name for run in runs for name in run["suites"]))


def summary_markdown(run: dict[str, Any]) -> str:
    """One run: a row per suite and metric, then per-group tables."""
    rows = []
    for name in _suites(run):
        s = run["suites"][name]
        for metric, value in s.get("metrics", {}).items():
            rows.append([name, metric, _fmt(s.get("n")), _fmt(value)])
    parts = [f"**{run_label(run)}**", "", _table(["suite", "metric", "n", "value"], rows)]
    for name in _suites(run):
        for key, groups in run["suites"][name].get("groups", {}).items():
            g_rows = [[g, _fmt(v.get("n")), _fmt(v.get("accuracy"))] for g, v in groups.items()]
            parts += ["", f"{name} by {key}:", "", _table([key, "n", "accuracy"], g_rows)]
    return "\n".join(parts) + "\n"


def compare_markdown(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two runs side by side: a row per suite and metric with B - A, then per-group tables."""
    la, lb = run_label(a), run_label(b)
    if la == lb:
        la, lb = f"A ({Path(a.get('_path', 'A')).name})", f"B ({Path(b.get('_path', 'B')).name})"
    rows = []
    for name in _suites(a, b):
        sa, sb = a["suites"].get(name, {}), b["suites"].get(name, {})
        na, nb = sa.get("n"), sb.get("n")
        n = na if na == nb or nb is None else nb if na is None else f"{na} / {nb}"  # different --limit
        for metric in dict.fromkeys([*sa.get("metrics", {}), *sb.get("metrics", {})]):
            va, vb = sa.get("metrics", {}).get(metric), sb.get("metrics", {}).get(metric)
            rows.append([name, metric, _fmt(n), _fmt(va), _fmt(vb), _delta(va, vb)])
    parts = [f"A = {la}, B = {lb}", "", _table(["suite", "metric", "n", "A", "B", "B − A"], rows)]
    for name in _suites(a, b):
        ga, gb = a["suites"].get(name, {}).get("groups", {}), b["suites"].get(name, {}).get("groups", {})
        for key in dict.fromkeys([*ga, *gb]):
            da, db = ga.get(key, {}), gb.get(key, {})
            g_rows = []
            for g in dict.fromkeys([*da, *db]):
                va, vb = da.get(g, {}).get("accuracy"), db.get(g, {}).get("accuracy")
                g_rows.append([g, _fmt(da.get(g, db.get(g, {})).get("n")), _fmt(va), _fmt(vb), _delta(va, vb)])
            parts += ["", f"{name} by {key}:", "", _table([key, "n", "A", "B", "B − A"], g_rows)]
    return "\n".join(parts) + "\n"
