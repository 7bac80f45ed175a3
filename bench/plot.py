"""One figure, a panel per goal: each round's ratio, its median, and the goal's line."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from bench.report import GoalResult
from bench.stats import median


def plot(results: Sequence[GoalResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(results))
    rows = math.ceil(len(results) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    for panel, result in zip(axes.flat, results, strict=False):
        goal = result.goal
        rounds = list(range(1, len(result.ratios) + 1))
        colours = [
            "#868e96" if goal.informational else ("#2b8a3e" if goal.passes(v) else "#c92a2a")
            for v in result.ratios
        ]
        panel.scatter(rounds, result.ratios, c=colours, zorder=3, label="round")
        panel.plot(rounds, result.ratios, color="#adb5bd", linewidth=1, zorder=2)
        middle = median(result.ratios)
        panel.axhline(middle, color="#495057", linestyle=":", label=f"median {middle:.2f}")
        panel.axhline(goal.target, color="#1971c2", linestyle="--", label=f"goal {goal.wording}")
        top = max([*result.ratios, goal.target]) * 1.2
        panel.set_ylim(0, top)
        panel.set_xticks(rounds)
        panel.set_xlabel("round")
        panel.set_ylabel(_axis(goal.metric))
        panel.set_title(goal.title, fontsize=9, wrap=True)
        panel.legend(fontsize=7, loc="best", framealpha=0.6)
    for panel in list(axes.flat)[len(results) :]:
        panel.set_visible(False)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _axis(metric: str) -> str:
    return {
        "throughput": "req/s ÷ floor's req/s",
        "cost": "time per customer ÷ floor's",
        "latency": "p50 ÷ floor's p50",
    }[metric]
