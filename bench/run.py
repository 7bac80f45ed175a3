"""The gateway against its floors, measured in one run, then upstream calls per query.

Run: python3 -m pip install -e '.[bench]' && python3 -m bench.run [--seconds 5]

Starts, on loopback: the gateway on its sandbox; the same gateway with 100 ms of latency
injected in front of each provider; a bare Starlette route returning the gateway's own bytes;
and plain Strawberry over in-memory objects of the same shape. Then drives each with the
same bounded load generator and prints one table, every figure from this run. Writes
docs/performance.png.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import upstream_calls
from bench.load import Result, run
from bench.wrk import available as wrk_available
from bench.wrk import wrk

ROOT = Path(__file__).resolve().parents[1]
Q20 = (
    "query Bench($n: Int) { customers(first: $n) { edges { cursor node { "
    "provider displayName email status addresses { type city country } } } } }"
)
FANOUT = "query Fan($f: CustomerFilter, $p: [Provider!]) { customers(first: 5, providers: $p, filter: $f) { edges { cursor } } }"  # noqa: E501


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(args: list[str], ready: str, env: dict[str, str] | None = None) -> Iterator[int]:
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready, timeout=1).status_code < 500:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{args} did not start")
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextlib.contextmanager
def floors(workers: int, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The bare-Starlette and plain-Strawberry floors, each with `workers` processes."""
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--log-level", "warning"]
    uvicorn += ["--workers", str(workers)]
    static_port, floor_port = free_port(), free_port()
    static = f"http://127.0.0.1:{static_port}/graphql"
    floor = f"http://127.0.0.1:{floor_port}/graphql"
    with (
        server([*uvicorn, "bench.floors:static_app", "--port", str(static_port)], static, env),
        server([*uvicorn, "bench.floors:strawberry_app", "--port", str(floor_port)], floor, env),
    ):
        yield static, floor


def measure_floors(
    static_label: str, floor_label: str, static: str, floor: str, seconds: float
) -> list[tuple[str, Result]]:
    twenty = {"n": 20}
    return [
        (static_label, measure(post(static, Q20, twenty), seconds)),
        (floor_label, measure(post(floor, Q20, twenty), seconds)),
    ]


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def post(url: str, query: str, variables: dict[str, object], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A fixed POST: driven by wrk when installed (a Python client would be the bottleneck
    against the floors), by bench.load otherwise."""
    body = json.dumps({"query": query, "variables": variables})

    def make(client: httpx.AsyncClient, i: int) -> httpx.Request:
        return client.build_request(
            "POST",
            url,
            content=body,
            headers={"content-type": "application/json", **(headers or {})},
        )

    make.wrk = {"url": url, "method": "POST", "body": body, "headers": headers or {}}  # type: ignore[attr-defined]
    return make


def measure(make, seconds: float, concurrency: int = 16) -> Result:  # type: ignore[no-untyped-def]
    spec = getattr(make, "wrk", None)
    if spec is not None and wrk_available():
        return wrk(**spec, connections=concurrency, seconds=seconds)
    return asyncio.run(run(make, concurrency=concurrency, seconds=seconds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    seconds = args.seconds
    rows: list[tuple[str, Result]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    gateway_port, latent_port = free_port(), free_port()
    gw = f"http://127.0.0.1:{gateway_port}/graphql"
    env = {"GATEWAY_LIMITS__MAX_PAGE_SIZE": "1000"}
    serve = [sys.executable, "-m", "gateway", "serve"]
    with server(
        [*serve, "--port", str(gateway_port)], f"http://127.0.0.1:{gateway_port}/healthz", env
    ) as gateway_pid:
        start_rss = rss_kib(gateway_pid)
        body20 = httpx.post(gw, json={"query": Q20, "variables": {"n": 20}}, timeout=30).content
        page1000 = httpx.post(gw, json={"query": Q20, "variables": {"n": 1000}}, timeout=60).json()
        (work / "body.json").write_bytes(body20)
        (work / "items.json").write_text(json.dumps(page1000["data"]["customers"]["edges"]))
        floor_env = {
            "BENCH_BODY_FILE": str(work / "body.json"),
            "BENCH_ITEMS": str(work / "items.json"),
        }
        with floors(1, floor_env) as (static, floor):
            twenty = {"n": 20}
            rows += measure_floors(
                "floor: bare Starlette, same bytes",
                "floor: plain Strawberry + caches, 20",
                static,
                floor,
                seconds,
            )
            rows.append(
                ("gateway: 20 customers, response cache", measure(post(gw, Q20, twenty), seconds))
            )
            sha = hashlib.sha256(Q20.encode()).hexdigest()
            extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha}})
            httpx.post(
                gw,
                json={"query": Q20, "variables": twenty, "extensions": json.loads(extensions)},
                timeout=30,
            )

            def persisted_get(client: httpx.AsyncClient, i: int) -> httpx.Request:
                params = {"extensions": extensions, "variables": json.dumps(twenty)}
                return client.build_request("GET", gw, params=params)

            query_string = httpx.QueryParams(
                {"extensions": extensions, "variables": json.dumps(twenty)}
            )
            persisted_get.wrk = {"url": f"{gw}?{query_string}", "method": "GET"}  # type: ignore[attr-defined]

            rows.append(("gateway: same, persisted GET", measure(persisted_get, seconds)))
            rows.append(
                (
                    "gateway: 20, executed (upstream cache warm)",
                    measure(post(gw, Q20, twenty, {"cache-control": "no-cache"}), seconds),
                )
            )
            thousand = {"n": 1000}
            rows.append(
                (
                    "floor: plain Strawberry, 1000",
                    measure(post(floor, Q20, thousand), seconds, 2),
                )
            )
            rows.append(
                (
                    "gateway: 1000, executed",
                    measure(post(gw, Q20, thousand, {"cache-control": "no-cache"}), seconds, 2),
                )
            )
        end_rss = rss_kib(gateway_pid)

    two_port = free_port()
    two = f"http://127.0.0.1:{two_port}/graphql"
    # Workers keep their own APQ stores: a trusted-document manifest serves the hash in both.
    manifest = work / "manifest.json"
    manifest.write_text(json.dumps({sha: Q20}))
    with (
        server(
            [*serve, "--port", str(two_port), "--workers", "2"],
            f"http://127.0.0.1:{two_port}/healthz",
            {"GATEWAY_PERSISTED__MANIFEST_PATH": str(manifest)},
        ),
        floors(2, floor_env) as (static_two, floor_two),
    ):
        rows += measure_floors(
            "floor, 2 workers: bare Starlette",
            "floor, 2 workers: plain Strawberry, 20",
            static_two,
            floor_two,
            seconds,
        )
        # Each worker keeps its own memory cache: warm both.
        measure(post(two, Q20, twenty), 2.0)
        rows.append(
            ("gateway, 2 workers: 20, response cache", measure(post(two, Q20, twenty), seconds))
        )
        get_two = {"url": persisted_get.wrk["url"].replace(gw, two), "method": "GET"}  # type: ignore[attr-defined]

        def persisted_get_two(client: httpx.AsyncClient, i: int) -> httpx.Request:
            return client.build_request("GET", get_two["url"])

        persisted_get_two.wrk = get_two  # type: ignore[attr-defined]
        rows.append(("gateway, 2 workers: persisted GET", measure(persisted_get_two, seconds)))

    faults = [
        "--sandbox-fault",
        "layer=latency:100",
        "--sandbox-fault",
        "codat=latency:100",
        "--sandbox-fault",
        "lago=latency:100",
    ]
    latent = f"http://127.0.0.1:{latent_port}/graphql"
    with server(
        [*serve, "--port", str(latent_port), *faults], f"http://127.0.0.1:{latent_port}/healthz"
    ):
        # A fresh filter each time misses every cache, so each request reads its providers.
        def fan(providers: list[str] | None):  # type: ignore[no-untyped-def]
            def make(client: httpx.AsyncClient, i: int) -> httpx.Request:
                variables = {"f": {"name": f"zz{i}x{time.perf_counter_ns()}"}, "p": providers}
                return client.build_request(
                    "POST", latent, json={"query": FANOUT, "variables": variables}
                )

            return make

        measure(fan(None), 1.0, 2)  # Layer's token, fetched once
        rows.append(("fan-out: 3 providers at 100 ms each", measure(fan(None), seconds, 4)))
        rows.append(("fan-out: 1 provider at 100 ms", measure(fan(["LAGO"]), seconds, 4)))

    report(rows, start_rss, end_rss)
    print()
    print("Upstream calls per query, mixed workload (bench.upstream_calls), same run:")
    upstream_calls.main()


def report(
    rows: list[tuple[str, Result]], start_rss: dict[str, int], end_rss: dict[str, int]
) -> None:
    by = dict(rows)
    # Ratios against the floors run with the same number of workers.
    floors = {
        1: (
            by["floor: bare Starlette, same bytes"].rps,
            by["floor: plain Strawberry + caches, 20"].rps,
        ),
        2: (
            by["floor, 2 workers: bare Starlette"].rps,
            by["floor, 2 workers: plain Strawberry, 20"].rps,
        ),
    }
    print(
        f"{'case':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'/Starlette':>10} {'/Strawberry':>11}"
    )
    for name, r in rows:
        static, floor = floors[2 if "2 workers" in name else 1]
        print(
            f"{name:44} {r.rps:8.1f} {r.p50:8.1f} {r.percentile(99):8.1f} {r.errors:6d} "
            f"{r.rps / static:10.3f} {r.rps / floor:11.3f}"
        )
    fan3, fan1 = by["fan-out: 3 providers at 100 ms each"], by["fan-out: 1 provider at 100 ms"]
    # ms per request / 1000 customers
    per_customer_gw = 1000 / by["gateway: 1000, executed"].rps / 1000
    per_customer_floor = 1000 / by["floor: plain Strawberry, 1000"].rps / 1000
    print()
    print(
        f"load generator: {'wrk' if wrk_available() else 'bench.load (Python)'}; "
        "fan-out rows: bench.load"
    )
    print(f"fan-out p50, 3 providers / 1 provider: {fan3.p50 / fan1.p50:.2f}")
    print(
        f"1,000-customer page: {per_customer_gw:.3f} ms per customer "
        f"(plain Strawberry {per_customer_floor:.3f})"
    )
    print(
        f"gateway RSS: {start_rss['VmRSS'] / 1024:.0f} MiB at start, "
        f"{end_rss['VmRSS'] / 1024:.0f} MiB after the run, peak {end_rss['VmHWM'] / 1024:.0f} MiB"
    )
    plot(rows)


def plot(rows: list[tuple[str, Result]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, _ in rows if not n.startswith("fan-out")]
    results = [r for n, r in rows if not n.startswith("fan-out")]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    left.barh(
        names,
        [r.rps for r in results],
        color=["#888" if n.startswith("floor") else "#d6336c" for n in names],
    )
    left.set_xscale("log")
    left.set_xlabel("requests/s (log), all from one run")
    right.barh(names, [r.p50 for r in results], color="#4263eb")
    right.set_xscale("log")
    right.set_xlabel("p50 latency, ms (log)")
    right.set_yticks([])
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "performance.png", dpi=110)


if __name__ == "__main__":
    main()
