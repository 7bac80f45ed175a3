"""The requests a benchmark sends, and how one is driven for a number of seconds.

A `Shot` is one fixed request, driven by wrk (a Python client would be the bottleneck against
the floors). A fan-out request needs a fresh filter each time, to miss every cache, so it is
driven by bench/load.py instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from bench.load import Result, run
from bench.stats import Sample
from bench.wrk import available as wrk_available
from bench.wrk import wrk

# One document for every page size: the same fields the floors serve.
PAGE = (
    "query Bench($n: Int) { customers(first: $n) { edges { cursor node { "
    "provider displayName email status addresses { type city country } } } } }"
)
PAGE_SHA = hashlib.sha256(PAGE.encode()).hexdigest()
APQ = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": PAGE_SHA}})
FANOUT = (
    "query Fan($f: CustomerFilter, $p: [Provider!]) "
    "{ customers(first: 5, providers: $p, filter: $f) { edges { cursor } } }"
)
NO_CACHE = {"cache-control": "no-cache"}
TRACE = {"x-gateway-trace": "upstream"}
# wrk connections: enough to keep one worker busy; the 1,000-customer page takes tens of ms
# a request, so two connections keep it busy without queueing behind each other.
CONNECTIONS = 16
BIG_PAGE_CONNECTIONS = 2
BIG_PAGE_SECONDS = 3.0
# Python clients for the fan-out rows: latency-bound, a few in flight.
FANOUT_CLIENTS = 4


@dataclass(frozen=True, slots=True)
class Shot:
    url: str
    method: str = "POST"
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    connections: int = CONNECTIONS
    # A request of the 1,000-customer page takes hundreds of ms on a busy machine: measured
    # for at least this long, so each measurement completes more than a handful.
    min_seconds: float = 1.0

    def send(self, extra: Mapping[str, str] | None = None) -> httpx.Response:
        headers = {**self.headers, **(extra or {})}
        if self.method == "POST":
            headers.setdefault("content-type", "application/json")
        return httpx.request(
            self.method, self.url, content=self.body or None, headers=headers, timeout=120
        )


def page_post(url: str, n: int, headers: Mapping[str, str] | None = None) -> Shot:
    body = json.dumps({"query": PAGE, "variables": {"n": n}})
    big = n > 100
    return Shot(
        url,
        "POST",
        body,
        dict(headers or {}),
        BIG_PAGE_CONNECTIONS if big else CONNECTIONS,
        BIG_PAGE_SECONDS if big else 1.0,
    )


def persisted_get(url: str, n: int, headers: Mapping[str, str] | None = None) -> Shot:
    """The page as a persisted GET: the APQ hash and the variables as query parameters."""
    query = httpx.QueryParams({"extensions": APQ, "variables": json.dumps({"n": n})})
    big = n > 100
    return Shot(
        f"{url}?{query}",
        "GET",
        "",
        dict(headers or {}),
        BIG_PAGE_CONNECTIONS if big else CONNECTIONS,
        BIG_PAGE_SECONDS if big else 1.0,
    )


def register_apq(url: str) -> None:
    """Registers the page document's hash (APQ: the query with its hash, once)."""
    body = {"query": PAGE, "variables": {"n": 1}, "extensions": json.loads(APQ)}
    response = httpx.post(url, json=body, headers=NO_CACHE, timeout=60)
    response.raise_for_status()
    if "errors" in response.json():
        raise RuntimeError(f"APQ registration failed: {response.text[:500]}")


@dataclass(frozen=True, slots=True)
class Fan:
    """A fan-out request on the gateway with latency in front of its providers: a filter no
    customer matches and no cache holds, so each request reads every provider it names."""

    url: str
    providers: tuple[str, ...] | None

    def make(self, client: httpx.Client | httpx.AsyncClient, i: int) -> httpx.Request:
        variables = {
            "f": {"name": f"zz{i}x{time.perf_counter_ns()}"},
            "p": list(self.providers) if self.providers else None,
        }
        return client.build_request(
            "POST", self.url, json={"query": FANOUT, "variables": variables}
        )

    def send(self, extra: Mapping[str, str] | None = None) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            request = self.make(client, 0)
            request.headers.update(extra or {})
            return client.send(request)


Load = Shot | Fan


def measure(load: Load, seconds: float) -> Sample:
    if isinstance(load, Shot):
        seconds = max(seconds, load.min_seconds)
    if isinstance(load, Shot) and wrk_available():
        result = wrk(
            load.url,
            method=load.method,
            body=load.body,
            headers=dict(load.headers),
            connections=load.connections,
            seconds=seconds,
        )
    elif isinstance(load, Shot):
        result = asyncio.run(run(_maker(load), concurrency=load.connections, seconds=seconds))
    else:
        result = asyncio.run(run(load.make, concurrency=FANOUT_CLIENTS, seconds=seconds))
    return _sample(result)


def _maker(shot: Shot) -> Callable[[httpx.AsyncClient, int], httpx.Request]:
    def make(client: httpx.AsyncClient, i: int) -> httpx.Request:
        headers = {"content-type": "application/json", **shot.headers}
        return client.build_request(
            shot.method, shot.url, content=shot.body or None, headers=headers
        )

    return make


def _sample(result: Result) -> Sample:
    return Sample(
        rps=result.rps,
        p50_ms=result.p50,
        p99_ms=result.percentile(99),
        requests=result.requests,
        errors=result.errors,
    )
