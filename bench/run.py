"""Issue 14's goals, each against its floor, measured in one run; then upstream calls per query.

Run: python3 -m pip install -e '.[bench]' && python3 -m bench.run [--rounds 5] [--seconds 5]

Starts, on loopback: the gateway on its sandbox (one uvicorn worker); the same gateway with
100 ms of latency in front of each provider (`--sandbox-fault <provider>=latency:100`); a bare
Starlette route serving the gateway's own bytes and plain Strawberry serving byte-identical
JSON from memory (bench/floors.py, one worker each, like the gateway). Checks that each floor
answers the same bytes as the gateway and that the executed cases make no upstream call, then
measures every case and its floor in interleaved rounds (A B A B …). Then the same for two
workers (the response-cache hit and the 20-customer executed query). Prints the report, writes
it into docs/performance.md between its markers, and plots each round's ratio against its
goal in docs/performance.png. `--no-write` prints only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import shlex
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import upstream_calls
from bench.cases import (
    NO_CACHE,
    PAGE,
    PAGE_SHA,
    TRACE,
    Fan,
    Load,
    Shot,
    measure,
    page_post,
    persisted_get,
    register_apq,
)
from bench.machine import busy_cpu_seconds, commit, load_average, machine, own_cpu_seconds
from bench.plot import plot
from bench.report import GoalResult, RunReport, render, replace_section
from bench.servers import ROOT, Running, floor, gateway, rss_kib
from bench.stats import Goal, Sample, Series, ratios
from bench.wrk import available as wrk_available

DOC = ROOT / "docs" / "performance.md"
PLOT = ROOT / "docs" / "performance.png"
BIG = 1000
LATENCY_MS = 100
PROVIDERS = ("layer", "codat", "lago")


class BenchError(SystemExit):
    """A precondition of a fair measurement does not hold: stop before measuring."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench.run: {message}")


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    load: Load


# Case names, used by the goals below and by bench.profile.
CACHED = "gateway: persisted GET from the response cache, 20"
STATIC = "floor: bare Starlette, same bytes"
EXEC20, FLOOR20 = "gateway: executed, 20", "floor: plain Strawberry, 20"
EXEC100, FLOOR100 = "gateway: executed, 100", "floor: plain Strawberry, 100"
EXEC_BIG, FLOOR_BIG = "gateway: executed, first: 1000", "floor: plain Strawberry, first: 1000"
PERSISTED_BIG = "gateway: persisted document (APQ GET, no-cache), first: 1000"
FAN1, FAN3 = "fan-out: 1 provider at 100 ms", "fan-out: 3 providers at 100 ms each"
TWO = "2 workers: "

GOALS = (
    Goal(
        "cached",
        "a. response-cached persisted GET ÷ bare Starlette, same bytes",
        CACHED,
        STATIC,
        "throughput",
        0.5,
        ">=",
    ),
    Goal(
        "executed20",
        "b. executed, 20 customers ÷ plain Strawberry",
        EXEC20,
        FLOOR20,
        "throughput",
        1.0,
        ">=",
    ),
    Goal(
        "executed100",
        "b. executed, 100 customers ÷ plain Strawberry",
        EXEC100,
        FLOOR100,
        "throughput",
        1.0,
        ">=",
    ),
    Goal(
        "cost1000",
        "c. 1,000-customer page: cost per customer ÷ plain Strawberry's",
        EXEC_BIG,
        FLOOR_BIG,
        "cost",
        1.0,
        "<=",
    ),
    Goal(
        "persisted1000",
        "c. same page as a persisted document: speed per customer ÷ plain Strawberry's",
        PERSISTED_BIG,
        FLOOR_BIG,
        "throughput",
        5.0,
        ">=",
    ),
    Goal(
        "fanout",
        "d. fan-out p50: 3 providers ÷ 1, 100 ms each",
        FAN3,
        FAN1,
        "latency",
        1.15,
        "<=",
        every_round=True,
    ),
)
TWO_WORKER_GOALS = (
    Goal(
        "cached2",
        "a. with 2 workers (gateway and floor)",
        TWO + CACHED,
        TWO + STATIC,
        "throughput",
        0.5,
        ">=",
        informational=True,
    ),
    Goal(
        "executed20x2",
        "b. 20 customers with 2 workers",
        TWO + EXEC20,
        TWO + FLOOR20,
        "throughput",
        1.0,
        ">=",
        informational=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What a phase's floors serve, taken from its gateway: the bytes of its answers."""

    static_env: dict[str, str]
    strawberry_env: dict[str, str]
    bodies: dict[int, bytes]
    page_size: int


def first_difference(a: bytes, b: bytes) -> str:
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return (
        f"{len(a)} and {len(b)} bytes, first difference at byte {at}: "
        f"{a[max(0, at - 40) : at + 40]!r} against {b[max(0, at - 40) : at + 40]!r}"
    )


def same_bytes(what: str, gateway_body: bytes, floor_body: bytes) -> None:
    if gateway_body != floor_body:
        raise BenchError(
            f"{what}: not byte-identical ({first_difference(gateway_body, floor_body)})"
        )


def answer(response: httpx.Response, what: str) -> bytes:
    if response.status_code != 200 or "errors" in response.json():
        raise BenchError(f"{what}: {response.status_code} {response.text[:600]}")
    return response.content


def prepare(gw: Running, work: Path, sizes: Sequence[int]) -> Prepared:
    """The gateway's executed answers, warm; the floors' files made from them."""
    bodies: dict[int, bytes] = {}
    for n in sizes:
        shot = page_post(gw.url, n, NO_CACHE)
        shot.send()  # fills the upstream cache
        bodies[n] = answer(shot.send(), f"gateway, executed, {n}")
    big = json.loads(bodies[max(sizes)])["data"]["customers"]["edges"]
    for n in sizes:
        if json.loads(bodies[n])["data"]["customers"]["edges"] != big[:n]:
            raise BenchError(f"the gateway's page of {n} is not the start of its page of {BIG}")
    body_file, items_file = work / f"body-{gw.pid}.json", work / f"items-{gw.pid}.json"
    body_file.write_bytes(bodies[min(sizes)])
    items_file.write_text(json.dumps(big))
    return Prepared(
        {"BENCH_BODY_FILE": str(body_file)},
        {"BENCH_ITEMS": str(items_file)},
        bodies,
        len(big),
    )


def zero_upstream_calls(shot: Shot, what: str) -> None:
    """`X-Gateway-Trace: upstream` (which also bypasses the response cache) on the executed
    request: a warm upstream cache answers it with no provider call."""
    response = shot.send(TRACE)
    upstream = response.json().get("extensions", {}).get("upstream")
    if upstream is None:
        raise BenchError(f"{what}: no upstream trace in the answer: {response.text[:300]}")
    if upstream["calls"] != 0:
        raise BenchError(
            f"{what}: {upstream['calls']} upstream calls with a warm cache: {upstream}"
        )


def response_cache_hits(gw: Running) -> float:
    """The gateway's count of response-cache hits (/metrics)."""
    text = httpx.get(gw.url.replace("/graphql", "/metrics"), timeout=30).text
    for line in text.splitlines():
        if line.startswith("gateway_response_cache_total") and 'result="hit"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def providers_called(fan: Fan) -> set[str]:
    response = fan.send(TRACE)
    upstream = response.json().get("extensions", {}).get("upstream")
    if upstream is None:
        raise BenchError(f"fan-out: no upstream trace: {response.text[:300]}")
    return {p for p, figures in upstream["byProvider"].items() if figures["calls"] > 0}


def interleaved(cases: Sequence[Case], rounds: int, seconds: float) -> dict[str, Series]:
    """Each case for one second to warm it, then `rounds` rounds of every case in turn."""
    for case in cases:
        measure(case.load, 1.0)
    samples: dict[str, list[Sample]] = {case.name: [] for case in cases}
    for number in range(1, rounds + 1):
        for case in cases:
            sample = measure(case.load, seconds)
            samples[case.name].append(sample)
            print(
                f"round {number}/{rounds}  {case.name:60} {sample.rps:9.1f} req/s  "
                f"p50 {sample.p50_ms:7.1f} ms  p99 {sample.p99_ms:7.1f} ms  errors {sample.errors}",
                flush=True,
            )
    return {name: Series(name, tuple(values)) for name, values in samples.items()}


@contextlib.contextmanager
def one_worker_phase(work: Path) -> Iterator[tuple[list[Case], int, Running]]:
    """Goals a-d: the gateway, the latency-injected gateway and the floors, one worker each."""
    faults = [f"{p}=latency:{LATENCY_MS}" for p in PROVIDERS]
    with gateway() as gw, gateway(faults=faults) as latent:
        register_apq(gw.url)
        prepared = prepare(gw, work, (20, 100, BIG))
        with (
            floor("static_app", 1, prepared.static_env) as static,
            floor("strawberry_app", 1, prepared.strawberry_env) as strawberry,
        ):
            cached = persisted_get(gw.url, 20)
            cached.send()  # stores the answer in the response cache
            hits = response_cache_hits(gw)
            cached.send()
            if response_cache_hits(gw) != hits + 1:
                raise BenchError("the persisted GET is not served from the response cache")
            same_bytes(
                "response-cached GET against the executed POST",
                answer(cached.send(), "cached GET"),
                prepared.bodies[20],
            )
            same_bytes(
                "bare Starlette floor",
                answer(cached.send(), "cached GET"),
                Shot(static.url, "GET").send().content,
            )
            for n in (20, 100, BIG):
                floor_body = answer(page_post(strawberry.url, n).send(), f"plain Strawberry, {n}")
                same_bytes(f"plain Strawberry, {n}", prepared.bodies[n], floor_body)
                zero_upstream_calls(page_post(gw.url, n, NO_CACHE), f"executed, {n}")
            persisted = persisted_get(gw.url, BIG, NO_CACHE)
            same_bytes(
                "persisted document, 1000",
                answer(persisted.send(), "persisted GET"),
                prepared.bodies[BIG],
            )
            zero_upstream_calls(persisted, "persisted document, 1000")
            fan1, fan3 = Fan(latent.url, ("LAGO",)), Fan(latent.url, None)
            fan3.send()  # Layer's token, fetched once
            three, one = providers_called(fan3), providers_called(fan1)
            if three != {"LAYER", "CODAT", "LAGO"} or one != {"LAGO"}:
                raise BenchError("fan-out: the requests do not read the providers they name")
            cases = [
                Case(CACHED, cached),
                Case(STATIC, Shot(static.url, "GET")),
                Case(EXEC20, page_post(gw.url, 20, NO_CACHE)),
                Case(FLOOR20, page_post(strawberry.url, 20)),
                Case(EXEC100, page_post(gw.url, 100, NO_CACHE)),
                Case(FLOOR100, page_post(strawberry.url, 100)),
                Case(EXEC_BIG, page_post(gw.url, BIG, NO_CACHE)),
                Case(FLOOR_BIG, page_post(strawberry.url, BIG)),
                Case(PERSISTED_BIG, persisted),
                Case(FAN3, fan3),
                Case(FAN1, fan1),
            ]
            yield cases, prepared.page_size, gw


@contextlib.contextmanager
def two_worker_phase(work: Path) -> Iterator[list[Case]]:
    """The cached GET and the executed 20 again, gateway and floors with two workers each.
    Each worker keeps its own APQ store and caches: a trusted-document manifest serves the
    hash in both, and a second of load warms both before anything is compared."""
    manifest = work / "manifest.json"
    manifest.write_text(json.dumps({PAGE_SHA: PAGE}))
    with gateway(2, env={"GATEWAY_PERSISTED__MANIFEST_PATH": str(manifest)}) as gw:
        cached, executed = persisted_get(gw.url, 20), page_post(gw.url, 20, NO_CACHE)
        measure(cached, 1.0)
        measure(executed, 1.0)
        prepared = prepare(gw, work, (20,))
        with (
            floor("static_app", 2, prepared.static_env) as static,
            floor("strawberry_app", 2, prepared.strawberry_env) as strawberry,
        ):
            for _ in range(4):  # both workers
                same_bytes(
                    "2 workers: cached GET",
                    answer(cached.send(), "cached GET"),
                    prepared.bodies[20],
                )
                same_bytes(
                    "2 workers: plain Strawberry, 20",
                    prepared.bodies[20],
                    answer(page_post(strawberry.url, 20).send(), "floor"),
                )
                zero_upstream_calls(executed, "2 workers: executed, 20")
            yield [
                Case(TWO + CACHED, cached),
                Case(TWO + STATIC, Shot(static.url, "GET")),
                Case(TWO + EXEC20, executed),
                Case(TWO + FLOOR20, page_post(strawberry.url, 20)),
            ]


def per_customer_note(series: Mapping[str, Series], customers: int) -> str:
    def ms(name: str) -> str:
        rps = series[name].rps
        return f"{1000 / (rps * customers):.3f} ms" if rps else "no request completed"

    return (
        f"Time per customer on the {customers}-customer page (1 / (req/s x customers), "
        f"medians): executed {ms(EXEC_BIG)}, persisted document {ms(PERSISTED_BIG)}, "
        f"plain Strawberry {ms(FLOOR_BIG)}."
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="per measurement (wrk: whole seconds)"
    )
    parser.add_argument("--no-two-workers", action="store_true", help="skip the two-worker rows")
    parser.add_argument("--no-write", action="store_true", help="print; leave docs/ alone")
    parser.add_argument(
        "--no-upstream-calls", action="store_true", help="skip bench.upstream_calls"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    command = shlex.join(
        ["python3", "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]
    )
    started = datetime.datetime.now(datetime.UTC)
    load_before = load_average()
    busy_before, own_before = busy_cpu_seconds(), own_cpu_seconds()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    series: dict[str, Series] = {}
    with one_worker_phase(work) as (cases, customers, gw):
        rss_start = rss_kib(gw.pid)
        series.update(interleaved(cases, args.rounds, args.seconds))
        rss_end = rss_kib(gw.pid)
    goals = list(GOALS)
    if not args.no_two_workers:
        with two_worker_phase(work) as cases:
            series.update(interleaved(cases, args.rounds, args.seconds))
        goals += TWO_WORKER_GOALS
    load_after = load_average()
    wall = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    others = (busy_cpu_seconds() - busy_before) - (own_cpu_seconds() - own_before)
    notes = [
        f"`first: {BIG}` returns all {customers} customers the sandbox holds; the "
        f"per-customer figures are per {customers}.",
        per_customer_note(series, customers),
        "The gateway's limits are raised for the bench (`GATEWAY_LIMITS__MAX_PAGE_SIZE=1000`, "
        "`GATEWAY_LIMITS__MAX_FIELDS=200000`: the defaults refuse the 1,000-customer page) and "
        "its upstream entries live an hour, so the cache stays warm through the run; every "
        "executed case was checked to make 0 upstream calls (`X-Gateway-Trace: upstream`), "
        "and every floor to answer the gateway's bytes exactly, before measuring.",
        "Fan-out rows: the Python load generator (bench/load.py, 4 clients), each request a "
        "fresh name filter so it misses every cache and reads each provider it names (checked: "
        "3 providers against Lago alone), each provider answering 100 ms late.",
        f"Gateway RSS (one worker): {rss_start['VmRSS'] / 1024:.0f} MiB before the rounds, "
        f"{rss_end['VmRSS'] / 1024:.0f} MiB after, peak {rss_end['VmHWM'] / 1024:.0f} MiB.",
    ]
    for name, values in series.items():
        if values.errors or any(s.requests == 0 for s in values.samples):
            notes.append(
                f"**{name}: {values.errors} non-2xx answers, "
                f"{sum(s.requests == 0 for s in values.samples)} rounds with no request "
                "completed**: its figures are not to be trusted."
            )
    generator = (
        "wrk (one thread; 16 connections, 2 for the 1,000-customer page)"
        if wrk_available()
        else "bench/load.py (wrk is not installed)"
    )
    report = RunReport(
        command=command,
        machine=machine(),
        commit=commit(),
        date=started.strftime("%Y-%m-%d %H:%M UTC"),
        load_before=load_before,
        load_after=load_after,
        others_cores=max(0.0, others / wall),
        rounds=args.rounds,
        seconds=args.seconds,
        load_generator=generator,
        series=tuple(series.values()),
        goals=tuple(
            GoalResult(g, tuple(ratios(g, series[g.case], series[g.floor]))) for g in goals
        ),
        notes=tuple(notes),
        plot=None if args.no_write else PLOT.name,
    )
    text = render(report)
    print()
    print(text)
    if not args.no_write:
        plot(report.goals, PLOT, f"{command} — {report.date}, commit {report.commit}")
        DOC.write_text(replace_section(DOC.read_text(), text))
        print(f"\nwrote {DOC.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    if not args.no_upstream_calls:
        print()
        print("Upstream calls per query, mixed workload (bench.upstream_calls), same run:")
        upstream_calls.main()


if __name__ == "__main__":
    main()
