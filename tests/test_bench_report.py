"""bench.run's arithmetic and report, from made-up figures: medians, spreads, per-round ratios,
verdicts, the Markdown it writes into docs/performance.md. Nothing here is timed."""

from __future__ import annotations

import math

import pytest

from bench.machine import Machine
from bench.report import BEGIN, END, SECTION, GoalResult, RunReport, render, replace_section
from bench.stats import Goal, Sample, Series, distance, median, ratio, ratios, spread, verdict

THROUGHPUT = Goal("t", "throughput goal", "case", "floor", "throughput", 0.5, ">=")
COST = Goal("c", "cost goal", "case", "floor", "cost", 1.0, "<=")
EVERY = Goal("f", "fan-out goal", "three", "one", "latency", 1.15, "<=", every_round=True)


def sample(rps: float, p50: float = 1.0, p99: float = 2.0, errors: int = 0) -> Sample:
    return Sample(rps=rps, p50_ms=p50, p99_ms=p99, requests=int(rps), errors=errors)


def test_median_and_spread() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert spread([3.0, 1.0, 2.0]) == (1.0, 3.0)
    with pytest.raises(ValueError, match="no values"):
        median([])
    with pytest.raises(ValueError, match="no values"):
        spread([])


def test_series_takes_medians_over_rounds() -> None:
    series = Series("case", (sample(100, 5, 9), sample(300, 1, 3, errors=2), sample(200, 3, 7)))
    assert series.rps == 200
    assert series.rps_spread == (100, 300)
    assert series.p50_ms == 3
    assert series.p99_ms == 7
    assert series.errors == 2
    assert series.requests == 600


def test_ratio_by_metric() -> None:
    case, floor = sample(50, p50=120), sample(200, p50=100)
    assert ratio("throughput", case, floor) == 0.25
    # The case takes four times the floor's time per request (and per customer).
    assert ratio("cost", case, floor) == 4.0
    assert ratio("latency", case, floor) == pytest.approx(1.2)
    assert math.isnan(ratio("throughput", case, sample(0)))


def test_ratios_pair_each_round_with_its_own_floor() -> None:
    case = Series("case", (sample(10), sample(30)))
    floor = Series("floor", (sample(20), sample(30)))
    assert ratios(THROUGHPUT, case, floor) == [0.5, 1.0]
    with pytest.raises(ValueError, match="different numbers of rounds"):
        ratios(THROUGHPUT, case, Series("floor", (sample(1),)))


def test_median_verdict_met_and_not_met_with_its_distance() -> None:
    met = verdict(THROUGHPUT, [0.4, 0.6, 0.55])
    assert (met.met, met.decisive, met.distance, met.rounds_passed) == (True, 0.55, 1.0, 2)
    missed = verdict(THROUGHPUT, [0.2, 0.25, 0.3])
    assert not missed.met
    assert missed.decisive == 0.25
    assert missed.distance == pytest.approx(2.0)
    assert "**not met**" in missed.describe(THROUGHPUT)
    assert "2.00x away" in missed.describe(THROUGHPUT)
    cost = verdict(COST, [2.0, 2.5, 1.5])
    assert not cost.met
    assert cost.distance == pytest.approx(2.0)
    assert distance(COST, 0.5) == 1.0


def test_every_round_verdict_fails_on_one_bad_round() -> None:
    result = verdict(EVERY, [1.05, 1.10, 1.29, 1.02, 1.08])
    assert not result.met  # the median (1.08) meets the goal; one round does not
    assert result.decisive == 1.29
    assert (result.rounds_passed, result.rounds) == (4, 5)
    assert "4/5 rounds pass" in result.describe(EVERY)
    assert verdict(EVERY, [1.05, 1.10, 1.12]).met


def test_informational_goal_has_no_verdict() -> None:
    goal = Goal("i", "two workers", "a", "b", "throughput", 0.5, ">=", informational=True)
    assert verdict(goal, [0.1]).describe(goal) == "context only"


def report(load_before: float = 0.1, others: float = 0.05) -> RunReport:
    return RunReport(
        command="python3 -m bench.run --rounds 3",
        machine=Machine("Test CPU 9000", 2, 24.0, "3.11.7", "Linux 6"),
        commit="abc1234",
        date="2026-12-06 12:00 UTC",
        load_before=(load_before, 0.2, 0.3),
        load_after=(1.9, 1.2, 0.8),
        others_cores=others,
        rounds=3,
        seconds=5,
        load_generator="wrk",
        series=(
            Series("case", (sample(10), sample(12), sample(11))),
            Series("floor", (sample(40), sample(40), sample(40))),
        ),
        goals=(
            GoalResult(THROUGHPUT, (0.25, 0.3, 0.275)),
            GoalResult(EVERY, (1.05, 1.2, 1.1)),
        ),
        notes=("a note",),
        plot="performance.png",
    )


def test_render_states_command_machine_table_and_verdicts() -> None:
    text = render(report())
    assert "python3 -m bench.run --rounds 3" in text
    assert "Test CPU 9000 (2 cores, 24 GiB RAM, Python 3.11.7" in text
    assert "commit `abc1234`" in text
    assert "0.10 / 0.20 / 0.30 before the run, 1.90 / 1.20 / 0.80 after" in text
    assert "| case | 11.0 | 10.0-12.0 | 1.0 | 2.0 | 0 |" in text
    assert "| throughput goal | 0.25 ✗, 0.30 ✗, 0.28 ✗ | 0.28 [0.25-0.30] | >= 0.5x |" in text
    assert "**not met**: median 0.28x against >= 0.5x, 1.82x away" in text
    assert "1.05 ✓, 1.20 ✗, 1.10 ✓" in text
    assert "2/3 rounds pass" in text
    assert "- a note" in text
    assert "![each round's ratio against its goal](performance.png)" in text
    assert "shared" not in text


@pytest.mark.parametrize(("load_before", "others"), [(1.2, 0.0), (0.0, 0.6)])
def test_render_says_when_the_machine_was_shared(load_before: float, others: float) -> None:
    assert "**The machine was shared during this run**" in render(report(load_before, others))


def test_a_load_average_left_by_finished_work_is_not_sharing() -> None:
    # The one-minute average still counts work that ended seconds before the run.
    assert "shared" not in render(report(0.7, 0.0))


DOC = f"""# Performance

## Upstream calls per query

kept as it is

{SECTION}

old hand-written figures

### Against the goals

old verdicts

## After

kept too
"""


def test_replace_section_first_run_puts_markers_under_the_heading() -> None:
    updated = replace_section(DOC, "NEW FIGURES")
    assert "kept as it is" in updated
    assert "## After\n\nkept too" in updated
    assert "old hand-written figures" not in updated
    assert "old verdicts" not in updated
    assert f"{SECTION}\n\n{BEGIN}\n\nNEW FIGURES\n\n{END}\n" in updated


def test_replace_section_rewrites_only_between_markers() -> None:
    once = replace_section(DOC, "FIRST")
    hand_written = once.replace(END, f"{END}\n\nHow to profile: kept")
    twice = replace_section(hand_written, "SECOND")
    assert "FIRST" not in twice
    assert "SECOND" in twice
    assert "How to profile: kept" in twice
    assert twice.count(BEGIN) == 1
    assert twice.count(END) == 1
    assert twice.replace("SECOND", "FIRST") == hand_written


def test_replace_section_appends_a_missing_section() -> None:
    updated = replace_section("# Performance\n", "FIGURES")
    assert updated.startswith("# Performance\n\n" + SECTION)
    assert "FIGURES" in updated
