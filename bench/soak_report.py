"""What the soak counts while it runs, and the report it prints (and writes as JSON).

Per request kind: requests, latencies, statuses, 5xx, transport failures, answers that were
not what the kind must get, `INTERNAL_*` error codes and cross-tenant leaks, each problem with
up to three examples of the request that caused it. Beside them: RSS per gateway worker over
time, `/metrics` size, and what the gateway logged.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES_PER_PROBLEM = 3
RSS_GOAL = 1.1


@dataclass
class KindStats:
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    wrong: int = 0
    internal: int = 0
    leaks: int = 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


@dataclass(frozen=True)
class Example:
    kind: str
    problem: str
    request: str
    answer: str


@dataclass
class Tally:
    kinds: dict[str, KindStats] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[Example]] = field(default_factory=dict)

    def stats(self, kind: str) -> KindStats:
        return self.kinds.setdefault(kind, KindStats())

    def example(self, kind: str, category: str, problem: str, request: str, answer: str) -> None:
        found = self.examples.setdefault((kind, category), [])
        if len(found) < EXAMPLES_PER_PROBLEM:
            found.append(Example(kind, problem, request[:500], answer[:500]))

    def total(self, name: str) -> int:
        return sum(
            sum(s.failures.values()) if name == "failures" else getattr(s, name)
            for s in self.kinds.values()
        )


@dataclass(frozen=True)
class RssSample:
    seconds: float
    # worker pid → VmRSS in KiB
    workers: dict[int, int]


@dataclass(frozen=True)
class MetricsSnapshot:
    # The largest of a few fetches, and the operation labels of the fetch with the most.
    bytes: int
    operation_labels: frozenset[str]


@dataclass
class LogSummary:
    lines: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0
    first_traceback: str = ""
    secrets_found: int = 0


@dataclass
class SoakRun:
    seconds: float
    workers: int
    concurrency: int
    warmup: float
    flapping: list[tuple[float, str]]
    tally: Tally
    rss: list[RssSample]
    metrics_start: MetricsSnapshot
    metrics_warm: MetricsSnapshot
    metrics_end: MetricsSnapshot
    random_names: int
    label_bound: int
    log: LogSummary


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rss_figures(run: SoakRun) -> dict[str, Any]:
    """RSS after warm-up and at the end, per worker (pid), and their ratio."""
    warm = next((s for s in run.rss if s.seconds >= run.warmup), run.rss[-1])
    end = run.rss[-1]
    per_worker = {}
    for pid, kib in end.workers.items():
        start = warm.workers.get(pid)
        per_worker[pid] = {
            "warm_kib": start,
            "end_kib": kib,
            "ratio": kib / start if start else None,
        }
    pids = {pid for s in run.rss for pid in s.workers}
    return {
        "warm_at_seconds": warm.seconds,
        "end_at_seconds": end.seconds,
        "workers": per_worker,
        "pids_seen": sorted(pids),
    }


def goals(run: SoakRun) -> list[tuple[str, bool, str]]:
    rss = rss_figures(run)
    ratios = [w["ratio"] for w in rss["workers"].values()]
    rss_ok = bool(ratios) and all(r is not None and r <= RSS_GOAL for r in ratios)
    shown = ", ".join(f"{r:.3f}" if r is not None else "new worker" for r in ratios)
    tally = run.tally
    growth = run.metrics_end.bytes / max(1, run.metrics_warm.bytes)
    labels = len(run.metrics_end.operation_labels)
    return [
        (f"RSS at end / after warm-up <= {RSS_GOAL} per worker", rss_ok, shown or "no sample"),
        ("5xx responses: 0", tally.total("server_errors") == 0, str(tally.total("server_errors"))),
        ("cross-tenant leaks: 0", tally.total("leaks") == 0, str(tally.total("leaks"))),
        (
            # Each tenant's first names are admitted as they come (possibly after warm-up), so
            # the bound is on the labels; the bytes are shown beside them.
            "/metrics bounded: operation labels per worker <= 2 tenants x 50 + manifest + 3",
            labels <= run.label_bound,
            f"{labels} labels (bound {run.label_bound}) after {run.random_names} random "
            f"operation names; bytes at end {growth:.3f} x after warm-up",
        ),
    ]


def checks(run: SoakRun) -> list[tuple[str, bool, str]]:
    tally, log = run.tally, run.log
    pids = rss_figures(run)["pids_seen"]
    return [
        ("transport failures: 0", tally.total("failures") == 0, str(tally.total("failures"))),
        (
            "INTERNAL_* codes in answers: 0",
            tally.total("internal") == 0,
            str(tally.total("internal")),
        ),
        ("answers as each kind requires", tally.total("wrong") == 0, f"{tally.total('wrong')} not"),
        ("tracebacks in the gateway's log: 0", log.tracebacks == 0, str(log.tracebacks)),
        ("secrets in the gateway's output: 0", log.secrets_found == 0, str(log.secrets_found)),
        (
            "the same worker processes throughout",
            len(pids) == run.workers,
            f"{len(pids)} pids for {run.workers} workers",
        ),
    ]


def render(run: SoakRun) -> str:
    out: list[str] = []
    add = out.append
    total = sum(s.requests for s in run.tally.kinds.values())
    add(
        f"soak: {run.seconds:.0f} s, serve --workers {run.workers}, {run.concurrency} clients, "
        f"{total} requests ({total / run.seconds:.1f}/s), warm-up {run.warmup:.0f} s"
    )
    add("")
    add(
        f"{'kind':26} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>4} {'fail':>4} "
        f"{'wrong':>5} {'leaks':>5}  statuses"
    )
    for kind in sorted(run.tally.kinds):
        s = run.tally.kinds[kind]
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))
        add(
            f"{kind:26} {s.requests:8d} {s.percentile(50):8.1f} {s.percentile(99):8.1f} "
            f"{s.server_errors:4d} {sum(s.failures.values()):4d} {s.wrong:5d} {s.leaks:5d}  "
            f"{statuses}"
        )
    everything = KindStats(latencies=[x for s in run.tally.kinds.values() for x in s.latencies])
    add(f"{'all':26} {total:8d} {everything.percentile(50):8.1f} {everything.percentile(99):8.1f}")
    add("")
    add("RSS per worker, MiB (VmRSS, sampled every ~10 s):")
    pids = sorted({pid for s in run.rss for pid in s.workers})
    add(f"{'t s':>6} " + " ".join(f"{'pid ' + str(p):>12}" for p in pids))
    for sample in run.rss:
        cells = " ".join(
            f"{_mib(sample.workers[p]) if p in sample.workers else '-':>12}" for p in pids
        )
        add(f"{sample.seconds:6.0f} {cells}")
    rss = rss_figures(run)
    for pid, w in rss["workers"].items():
        warm = _mib(w["warm_kib"]) if w["warm_kib"] else "-"
        ratio = f"{w['ratio']:.3f}" if w["ratio"] else "-"
        add(
            f"worker {pid}: {warm} MiB after warm-up (t={rss['warm_at_seconds']:.0f} s), "
            f"{_mib(w['end_kib'])} MiB at the end, ratio {ratio}"
        )
    add("")
    m0, mw, m1 = run.metrics_start, run.metrics_warm, run.metrics_end
    add(
        f"/metrics: {m0.bytes} bytes at start, {mw.bytes} after warm-up, {m1.bytes} at the end; "
        f"operation labels {len(m0.operation_labels)} / {len(mw.operation_labels)} / "
        f"{len(m1.operation_labels)}; {run.random_names} distinct random operation names sent"
    )
    add("flapping: " + ", ".join(f"{t:.0f}s {f}" for t, f in run.flapping))
    levels = " ".join(f"{k}:{v}" for k, v in sorted(run.log.levels.items()))
    add(f"gateway log: {run.log.lines} lines ({levels}), {run.log.tracebacks} tracebacks")
    add("")
    for name, ok, figure in goals(run):
        add(f"goal  {_verdict(ok)}  {name}: {figure}")
    for name, ok, figure in checks(run):
        add(f"check {_verdict(ok)}  {name}: {figure}")
    if run.tally.examples:
        add("")
        add("what went wrong, with the requests that caused it (at most 3 each):")
        for (kind, category), examples in sorted(run.tally.examples.items()):
            count = _count(run.tally.kinds[kind], category)
            add(f"- {kind} / {category} ({count}):")
            for e in examples:
                add(f"    {e.problem}")
                add(f"      request: {e.request}")
                add(f"      answer:  {e.answer}")
    if run.log.first_traceback:
        add("")
        add("first traceback in the gateway's log:")
        add(run.log.first_traceback)
    return "\n".join(out)


def _count(stats: KindStats, category: str) -> int:
    return {
        "5xx": stats.server_errors,
        "transport failure": sum(stats.failures.values()),
        "internal": stats.internal,
        "leak": stats.leaks,
        "wrong answer": stats.wrong,
    }.get(category, 0)


def write_json(run: SoakRun, path: Path) -> None:
    summary = {
        "seconds": run.seconds,
        "workers": run.workers,
        "concurrency": run.concurrency,
        "warmup_seconds": run.warmup,
        "kinds": {
            kind: {
                "requests": s.requests,
                "p50_ms": s.percentile(50),
                "p99_ms": s.percentile(99),
                "statuses": {str(k): v for k, v in s.statuses.items()},
                "codes": dict(s.codes),
                "server_errors": s.server_errors,
                "transport_failures": dict(s.failures),
                "wrong": s.wrong,
                "internal": s.internal,
                "leaks": s.leaks,
            }
            for kind, s in sorted(run.tally.kinds.items())
        },
        "rss": [{"seconds": s.seconds, "kib": s.workers} for s in run.rss],
        "rss_figures": rss_figures(run),
        "metrics_bytes": {
            "start": run.metrics_start.bytes,
            "warm": run.metrics_warm.bytes,
            "end": run.metrics_end.bytes,
        },
        "operation_labels_end": sorted(run.metrics_end.operation_labels),
        "random_operation_names": run.random_names,
        "flapping": run.flapping,
        "goals": [{"goal": n, "met": ok, "figure": f} for n, ok, f in goals(run)],
        "checks": [{"check": n, "met": ok, "figure": f} for n, ok, f in checks(run)],
        "examples": [e.__dict__ for examples in run.tally.examples.values() for e in examples],
        "log": {
            "lines": run.log.lines,
            "levels": dict(run.log.levels),
            "tracebacks": run.log.tracebacks,
        },
    }
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


__all__ = [
    "Example",
    "KindStats",
    "LogSummary",
    "MetricsSnapshot",
    "RssSample",
    "SoakRun",
    "Tally",
    "checks",
    "goals",
    "render",
    "rss_figures",
    "write_json",
]
