"""The arithmetic of a benchmark run, kept pure so tests can check it without timing anything:
one measurement's figures, the median and min-max spread of a case over its rounds, the ratio
of a case to its floor in each round, and the verdict on a goal.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement of one case: wrk's (or bench.load's) figures for `seconds` of load."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int = 0


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("the median of no values")
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> tuple[float, float]:
    """The min-max range: with five rounds, every round is inside it, none is trimmed."""
    if not values:
        raise ValueError("the spread of no values")
    return min(values), max(values)


@dataclass(frozen=True, slots=True)
class Series:
    """Every round's measurement of one case, in round order."""

    name: str
    samples: tuple[Sample, ...]

    @property
    def rps(self) -> float:
        return median([s.rps for s in self.samples])

    @property
    def rps_spread(self) -> tuple[float, float]:
        return spread([s.rps for s in self.samples])

    @property
    def p50_ms(self) -> float:
        return median([s.p50_ms for s in self.samples])

    @property
    def p99_ms(self) -> float:
        return median([s.p99_ms for s in self.samples])

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.samples)


# What a ratio compares, case over floor, in the same round:
# - "throughput": the case's req/s over the floor's (higher is better);
# - "cost": the case's time per request over the floor's, i.e. floor req/s over case req/s
#   (both serve the same page, so this is also the cost per customer; lower is better);
# - "latency": the case's p50 over the floor's (lower is better).
Metric = Literal["throughput", "cost", "latency"]


def ratio(metric: Metric, case: Sample, floor: Sample) -> float:
    if metric == "throughput":
        return case.rps / floor.rps if floor.rps else float("nan")
    if metric == "cost":
        return floor.rps / case.rps if case.rps else float("inf")
    return case.p50_ms / floor.p50_ms if floor.p50_ms else float("nan")


@dataclass(frozen=True, slots=True)
class Goal:
    key: str
    title: str
    case: str
    floor: str
    metric: Metric
    target: float
    # ">=": the ratio must reach the target; "<=": it must stay at or under it.
    direction: Literal[">=", "<="]
    # The verdict: on the median ratio, or on every round's (issue 14's fan-out goal).
    every_round: bool = False
    # Shown for context (e.g. two workers), without a verdict of its own.
    informational: bool = False

    def passes(self, value: float) -> bool:
        return value >= self.target if self.direction == ">=" else value <= self.target

    @property
    def wording(self) -> str:
        where = " in every round" if self.every_round else ""
        return f"{self.direction} {self.target:g}x{where}"


@dataclass(frozen=True, slots=True)
class Verdict:
    met: bool
    # The figure the verdict was drawn on: the median ratio, or the worst round's.
    decisive: float
    # How far from the goal: the factor still missing (1.0 when met).
    distance: float
    rounds_passed: int
    rounds: int

    def describe(self, goal: Goal) -> str:
        if goal.informational:
            return "context only"
        basis = "worst round" if goal.every_round else "median"
        if self.met:
            tally = f", {self.rounds_passed}/{self.rounds} rounds pass" if goal.every_round else ""
            return f"**met** ({basis} {self.decisive:.2f}x{tally})"
        tally = f"; {self.rounds_passed}/{self.rounds} rounds pass" if goal.every_round else ""
        return (
            f"**not met**: {basis} {self.decisive:.2f}x against {goal.wording}, "
            f"{self.distance:.2f}x away{tally}"
        )


def ratios(goal: Goal, case: Series, floor: Series) -> list[float]:
    """The ratio in each round: the case against the floor measured next to it."""
    if len(case.samples) != len(floor.samples):
        raise ValueError(f"{case.name} and {floor.name} have different numbers of rounds")
    return [ratio(goal.metric, c, f) for c, f in zip(case.samples, floor.samples, strict=True)]


def distance(goal: Goal, value: float) -> float:
    """The factor between `value` and the goal when it misses it (1.0 when it is met)."""
    if goal.passes(value):
        return 1.0
    if goal.direction == ">=":
        return goal.target / value if value > 0 else float("inf")
    return value / goal.target


def verdict(goal: Goal, values: Sequence[float]) -> Verdict:
    if not values:
        raise ValueError(f"no rounds for {goal.key}")
    passed = sum(1 for v in values if goal.passes(v))
    if goal.every_round:
        worst = min(values) if goal.direction == ">=" else max(values)
        return Verdict(passed == len(values), worst, distance(goal, worst), passed, len(values))
    middle = median(values)
    return Verdict(goal.passes(middle), middle, distance(goal, middle), passed, len(values))
