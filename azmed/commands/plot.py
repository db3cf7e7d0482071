"""`azmed plot RUN_DIR [--out PNG]`: the learning curve of a self-play run, from its
metrics.jsonl, as a PNG (matplotlib, Agg backend: no display needed).

Three panels against the step: solver accuracy per (environment, task type), valid-proposal
rate per task type, and the mean reward per group. Curves are smoothed with a moving average
(window of about a tenth of the run, at least 1) and the raw points drawn faintly behind them.
When the run has finished its held-out check (heldout.json), the title gives base and adapter
accuracy on each held-out suite.

Exit 0 when written, 2 when the folder has no readable metrics.jsonl.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from azmed.commands.common import fail


def series(records: list[dict], role: str, key: str) -> dict[str, tuple[list[int], list[float]]]:
    """{"env/task_type": (steps, values)} of `key` for groups of `role` ("solve"/"propose").

    >>> series([{"step": 1, "groups": {"c/dx/solve": {"accuracy": 0.5}}}], "solve", "accuracy")
    {'c/dx': ([1], [0.5])}
    """
    out: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for r in records:
        for name, g in r.get("groups", {}).items():
            env, tt, rl = name.split("/")
            if rl == role and g.get(key) is not None:
                out[f"{env}/{tt}"][0].append(r["step"])
                out[f"{env}/{tt}"][1].append(float(g[key]))
    return dict(out)


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average.

    >>> smooth([0, 1, 2, 3], 2)
    [0.0, 0.5, 1.5, 2.5]
    """
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_run(run_dir: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from azmed.runs import RunFolder, read_metrics

    folder = RunFolder(run_dir)
    records = read_metrics(run_dir)
    if not records:
        raise ValueError(f"{folder.metrics} has no steps yet")
    window = max(1, len(records) // 10)
    marker = "o" if len(records) < 20 else None  # a short run's points would not show as lines
    panels = [("solve", "accuracy", "solver accuracy"), ("propose", "valid", "valid-proposal rate")]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, (role, key, title) in zip(axes, panels):
        for name, (steps, vals) in sorted(series(records, role, key).items()):
            line, = ax.plot(steps, smooth(vals, window), label=name, marker=marker, markersize=3)
            ax.plot(steps, vals, color=line.get_color(), alpha=0.2, linewidth=0.8)
        ax.set_title(title)
        ax.set_ylim(-0.02, 1.02)
    ax = axes[2]
    for role in ("solve", "propose"):
        for name, (steps, vals) in sorted(series(records, role, "reward").items()):
            ax.plot(steps, smooth(vals, window), label=f"{name} ({role})", marker=marker, markersize=3)
    ax.set_title("mean reward")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    parts = [f"self-play run {run_dir.name} ({len(records)} steps)"]
    if folder.heldout.is_file():
        parts += [f"{suite} (n={h['n']}): base {100 * h['base']:.1f}% -> adapter {100 * h['adapter']:.1f}% "
                  f"({100 * h['delta']:+.1f} points)" for suite, h in json.loads(folder.heldout.read_text()).items()]
    # two suites a line, so that a title with every suite of the check fits the figure's width
    fig.suptitle("\n".join(" | ".join(parts[i:i + 2]) for i in range(0, len(parts), 2)), fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    out = Path(args.out) if args.out else run_dir / "curve.png"
    if out.suffix.lower() != ".png":
        return fail(f"--out {out} must name a .png file")
    try:
        path = plot_run(run_dir, out)
    except (FileNotFoundError, ValueError, json.JSONDecodeError) as exc:
        return fail(f"cannot plot {run_dir}: {exc}")
    print(f"wrote {path}")
    return 0
