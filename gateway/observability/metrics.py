"""Prometheus metrics, one registry per app (so several apps in one process never clash).

Request-level figures are read from the request's ledger when it ends, so the provider code
only counts into the ledger and knows nothing of Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.domain.provider import Provider
from gateway.ledger import UpstreamLedger

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OPERATION = re.compile(r"[^A-Za-z0-9_]")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


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


class _BreakerCollector(Collector):
    def __init__(
        self, states: Callable[[], dict[Provider, list[str]]], providers: Sequence[Provider]
    ) -> None:
        self.states = states
        self.providers = providers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "gateway_breakers",
            "Circuit breakers by provider and state (one per provider credential)",
            labels=["provider", "state"],
        )
        states = self.states()
        for provider in self.providers:
            found = states.get(provider, [])
            for state in ("closed", "open", "half_open"):
                family.add_metric([provider.value, state], found.count(state))
        yield family


class Metrics:
    """Usage: `metrics.observe(operation, status, seconds, ledger)` at the end of a request."""

    def __init__(self) -> None:
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
        self.in_flight = Gauge("gateway_in_flight_requests", "Requests being served", registry=r)
        self.upstream_seconds = Histogram(
            "gateway_upstream_seconds",
            "Provider call latency, by HTTP status (0: no answer)",
            ["provider", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
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

    def watch_breakers(
        self, states: Callable[[], dict[Provider, list[str]]], providers: Sequence[Provider]
    ) -> None:
        """Report `states()` for each of `providers` (every state, zero included)."""
        self.registry.register(_BreakerCollector(states, providers))

    def observe(
        self, label: str, status: int, seconds: float, ledger: UpstreamLedger | None
    ) -> None:
        """Count one request; `label` comes from `OperationLabels` (or is `REJECTED`)."""
        self.requests.labels(label, str(status)).inc()
        self.request_seconds.labels(label).observe(seconds)
        if ledger is None:
            return
        for provider, code, took in ledger.attempts:
            self.upstream_seconds.labels(provider.value, str(code)).observe(took)
        for provider, counts in ledger.by_provider.items():
            if counts.cache_hits:
                self.cache_lookups.labels(provider.value, "hit").inc(counts.cache_hits)
            if counts.cache_misses:
                self.cache_lookups.labels(provider.value, "miss").inc(counts.cache_misses)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "OTHER", "REJECTED", "Metrics", "OperationLabels", "operation_label"]
