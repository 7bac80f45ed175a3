"""Prometheus metrics: what /metrics shows.

Request-level figures are read from the request's ledger when it ends, so the provider code
only counts into the ledger and knows nothing of Prometheus. In one process the figures live in
a registry per app (so several apps in one process never clash); under `serve --workers N`,
in prometheus_client's multiprocess mode (gateway/observability/multiprocess.py), so whichever
worker answers /metrics reports every worker's. docs/observability.md lists every series.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.domain.provider import Provider
from gateway.ledger import UpstreamLedger
from gateway.observability.multiprocess import (
    WorkerProcess,
    forget_dead_workers,
    mark_worker_gone,
    multiprocess_mode,
)

# A `_created` series per counter and histogram doubles the series and no dashboard reads
# them; prometheus_client's switch is for the whole process.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OPERATION = re.compile(r"[^A-Za-z0-9_]")
# From a millisecond (a response-cache hit, a cached read) to the request deadline's order.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BREAKER_STATES = ("closed", "open", "half_open")
# How often a worker rewrites its breaker and process figures in multiprocess mode (a worker
# answering a scrape rewrites its own first).
REFRESH_SECONDS = 5.0


# The operation label of a request that never ran an operation (unauthenticated, refused at
# the edge, a document that did not validate): such requests make no per-operation series.
REJECTED = "rejected"
# Names past a tenant's budget share one series.
OTHER = "other"


def operation_label(name: str | None) -> str:
    """Operation names come from clients: keep them short and plain."""
    return _OPERATION.sub("_", name)[:64] if name else "anonymous"


class OperationLabels:
    """Which operation names get a series of their own, so clients cannot grow /metrics.

    Names of trusted documents (the manifest, a bounded set the operator ships) always do;
    otherwise each tenant's first `per_tenant` names do, and later names count as `other`.
    Only configured tenants reach here (authentication comes first), so the whole is bounded
    by tenants x `per_tenant` plus the manifest.

    Usage: `label = labels.label(tenant.id, "ListCustomers", trusted=False)`.
    """

    def __init__(self, per_tenant: int) -> None:
        self.per_tenant = per_tenant
        self._admitted: dict[str, set[str]] = {}

    def label(self, tenant: str, name: str | None, *, trusted: bool) -> str:
        plain = operation_label(name)
        if name is None or trusted:
            return plain
        admitted = self._admitted.setdefault(tenant, set())
        if plain in admitted:
            return plain
        if len(admitted) < self.per_tenant:
            admitted.add(plain)
            return plain
        return OTHER


def status_class(status: int) -> str:
    """`2xx`, `4xx`...; `none` when no answer came back (a timeout, a refused connection)."""
    return f"{status // 100}xx" if 100 <= status < 600 else "none"


class Metrics:
    """Usage: `metrics.observe(operation, status, seconds, ledger)` at the end of a request;
    `async with metrics.running():` while the app runs; `metrics.exposition()` for /metrics."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        # Where the metric objects live. In multiprocess mode their values are in the shared
        # files, and /metrics reads those instead (`_exposed`).
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "gateway_requests", "GraphQL requests", ["operation", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "gateway_request_seconds",
            "GraphQL request latency",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "gateway_in_flight_requests",
            "Requests being served",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_seconds",
            "Provider call latency, each attempt, by HTTP status class (none: no answer)",
            ["provider", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Provider calls that failed, retries spent, by outcome (circuit_open, timeout, "
            "unavailable, rate_limited, bad_response)",
            ["provider", "outcome"],
            registry=r,
        )
        self.breakers = Gauge(
            "gateway_breakers",
            "Circuit breakers by provider and state (one per provider credential and worker)",
            ["provider", "state"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.cache_lookups = Counter(
            "gateway_cache_lookups", "Upstream cache lookups", ["provider", "result"], registry=r
        )
        self.response_cache = Counter(
            "gateway_response_cache", "Response-cache lookups", ["result"], registry=r
        )
        self.persisted = Counter(
            "gateway_persisted_queries",
            "Persisted-query resolutions (apq_hit, apq_miss, apq_register, manifest)",
            ["kind"],
            registry=r,
        )
        self.link_index = Gauge(
            "gateway_link_index",
            "sameAs indexes kept between requests: accounts and customers (docs/links.md)",
            ["kind"],
            registry=r,
            multiprocess_mode="livesum",
        )
        # Each labelled child, looked up once: `labels()` validates and locks on every call.
        # As bounded as the labels themselves (operation labels have a budget).
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._breaker_states: Callable[[], dict[Provider, list[str]]] = dict
        self._link_index: Callable[[], tuple[int, int]] = lambda: (0, 0)
        self._providers: Sequence[Provider] = ()
        self._worker: WorkerProcess | None = None
        if self.multiprocess:
            self._worker = WorkerProcess(r)
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed)  # type: ignore[no-untyped-call]
            # The interpreter's version: the same in every worker.
            PlatformCollector(registry=self._exposed)
        else:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
            self._exposed = r

    def labelled(self, metric: Counter | Histogram, *values: str) -> Any:
        """`metric.labels(*values)`, kept for the next time."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def watch_breakers(
        self, states: Callable[[], dict[Provider, list[str]]], providers: Sequence[Provider]
    ) -> None:
        """Report `states()` for each of `providers` (every state, zero included)."""
        self._breaker_states = states
        self._providers = providers
        self._refresh_breakers()

    def watch_link_index(self, sizes: Callable[[], tuple[int, int]]) -> None:
        """Report `sizes()`: the kept sameAs indexes' accounts and customers."""
        self._link_index = sizes

    def observe(
        self, label: str, status: int, seconds: float, ledger: UpstreamLedger | None
    ) -> None:
        """Count one request; `label` comes from `OperationLabels` (or is `REJECTED`)."""
        self.labelled(self.requests, label, str(status)).inc()
        self.labelled(self.request_seconds, label).observe(seconds)
        if ledger is not None:
            self.observe_upstream(ledger)

    def observe_upstream(self, ledger: UpstreamLedger) -> None:
        """Count the provider calls and cache lookups `ledger` holds: a request's, or work
        behind the requests (a kept sameAs index read again), which no request counts."""
        for provider, code, took in ledger.attempts:
            self.upstream_seconds.labels(provider.value, status_class(code)).observe(took)
        for provider, outcome in ledger.failures:
            self.upstream_errors.labels(provider.value, outcome).inc()
        for provider, counts in ledger.by_provider.items():
            if counts.cache_hits:
                self.cache_lookups.labels(provider.value, "hit").inc(counts.cache_hits)
            if counts.cache_misses:
                self.cache_lookups.labels(provider.value, "miss").inc(counts.cache_misses)
        if ledger.attempts or ledger.failures:
            # Only calls move a breaker (but time: see `running`).
            self._refresh_breakers()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the app runs. In multiprocess mode: forget workers that died unannounced,
        keep this worker's breaker and process figures current for whichever worker is
        scraped, and take this worker's live gauges away when it stops."""
        if not self.multiprocess:
            yield
            return
        forget_dead_workers()
        self._refresh()
        task = asyncio.create_task(self._refreshing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            mark_worker_gone()

    def exposition(self) -> bytes:
        self._refresh()
        return generate_latest(self._exposed)

    async def _refreshing(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            self._refresh()

    def _refresh(self) -> None:
        self._refresh_breakers()
        accounts, customers = self._link_index()
        self.link_index.labels("accounts").set(accounts)
        self.link_index.labels("customers").set(customers)
        if self._worker is not None:
            self._worker.refresh()

    def _refresh_breakers(self) -> None:
        # A breaker opens and closes on calls, and turns half-open with time alone.
        states = self._breaker_states()
        for provider in self._providers:
            found = states.get(provider, [])
            for state in BREAKER_STATES:
                self.breakers.labels(provider.value, state).set(found.count(state))


__all__ = [
    "BREAKER_STATES",
    "CONTENT_TYPE",
    "LATENCY_BUCKETS",
    "OTHER",
    "REJECTED",
    "Metrics",
    "OperationLabels",
    "operation_label",
    "status_class",
]
