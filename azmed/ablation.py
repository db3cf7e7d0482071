"""The ablation's comparison table: where the solver's tasks came from in each arm, and how each
model scores on sim-heldout and MedCalc-Bench in both settings.

    python -m azmed.ablation docs/results/ablation       # after scripts/ablation.sh

Reads `eval-<label>.json` (written by `azmed eval --out`) for base, warmup and each arm, merged
with any `eval-<label>+<more>.json` (the same model scored on more suites later, e.g.
`eval-rlvr+sim.json`), and each arm's `<arm>/metrics.jsonl` for its curriculum: the share of solver tasks the proposer made and
the proposer's valid and in-band rates over the self-play steps. Prints a Markdown table.

Limits: accuracies are over the suites' n as evaluated (one MedCalc-Bench row per calculator by
default), so a difference of one or two items is within noise; the table says n.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ARMS = (("base", "base model, no adapter"), ("warmup", "warm-up only (demonstrations)"),
        ("rlvr", "(a) simulator tasks only, no proposer"), ("selfplay", "(b) self-play (main config)"),
        ("mix", "(c) half simulator, half proposed"))
COLUMNS = ("sim-heldout", "sim-heldout-tools", "medcalc", "medcalc-tools")


def curriculum(metrics_file: Path) -> dict[str, float | None]:
    """Share of solver tasks from the proposer, and the proposer's valid and in-band rates,
    summed over the run's self-play steps (warm-up steps excluded).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = Path(d) / "m.jsonl"
    >>> rec = {"phase": "selfplay", "solve_sources": {"clinical/diagnosis": {"proposed": 3, "seed": 1}},
    ...        "proposals": {"clinical/diagnosis": {"n": 4, "valid": 0.5, "in_band": 0.5}}}
    >>> _ = p.write_text(json.dumps(rec) + "\\n")
    >>> curriculum(p)
    {'proposed_share': 0.75, 'valid': 0.5, 'in_band': 0.5}
    """
    made = total = proposals = valid = in_band = 0.0
    for line in metrics_file.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("phase") == "warmup":
            continue
        for counts in r.get("solve_sources", {}).values():
            made += counts.get("proposed", 0)
            total += sum(counts.values())
        for p in r.get("proposals", {}).values():
            n = p.get("n", 0)
            proposals += n
            valid += n * (p.get("valid") or 0.0)
            in_band += n * (p.get("valid") or 0.0) * (p.get("in_band") or 0.0)
    return {"proposed_share": round(made / total, 4) if total else None,
            "valid": round(valid / proposals, 4) if proposals else None,
            "in_band": round(in_band / valid, 4) if valid else None}


def evaluations(folder: Path, label: str) -> dict[str, Any]:
    """The suites of `eval-<label>.json`, with those of every `eval-<label>+*.json` added (a
    suite in both: the later file's, by name order).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "eval-mix.json").write_text(json.dumps({"suites": {"medcalc": {"n": 55}}}))
    >>> _ = (d / "eval-mix+sim.json").write_text(json.dumps({"suites": {"sim-heldout": {"n": 120}}}))
    >>> sorted(evaluations(d, "mix"))
    ['medcalc', 'sim-heldout']
    """
    suites: dict[str, Any] = {}
    for f in [folder / f"eval-{label}.json", *sorted(folder.glob(f"eval-{label}+*.json"))]:
        suites.update(json.loads(f.read_text(encoding="utf-8"))["suites"])
    return suites


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def table(folder: Path) -> str:
    """The Markdown comparison of every arm found in `folder`."""
    rows: list[tuple[str, dict[str, Any], dict[str, float | None]]] = []
    for label, title in ARMS:
        f = folder / f"eval-{label}.json"
        if not f.is_file():
            continue
        suites = evaluations(folder, label)
        metrics = folder / label / "metrics.jsonl"
        cur = curriculum(metrics) if label not in ("base", "warmup") and metrics.is_file() else {}
        rows.append((title, suites, cur))
    if not rows:
        raise SystemExit(f"no eval-<arm>.json in {folder}: run scripts/ablation.sh first")
    ns = {c: next((s[c]["n"] for _, s, _ in rows if c in s), "?") for c in COLUMNS}
    head = ["model"] + [f"{c} (n={ns[c]})" for c in COLUMNS] + ["solver tasks proposed", "valid", "in band"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for title, suites, cur in rows:
        cells = [_pct(suites[c]["metrics"]["accuracy"]) if c in suites else "-" for c in COLUMNS]
        cells += [_pct(cur.get("proposed_share")), _pct(cur.get("valid")), _pct(cur.get("in_band"))]
        lines.append("| " + " | ".join([title] + cells) + " |")
    return "\n".join(lines) + "\n\nAccuracies and rates in %; curriculum columns over the arm's self-play steps.\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(table(Path(args[0] if args else "docs/results/ablation")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
