"""Per-request accounting of upstream calls, cache lookups and the freshness served.

The ledger rides in a context variable, so every provider call made while serving a request
is counted without threading it through each signature; background refreshes run in an empty
context and are counted by nobody's request. The oldest answer a client accepts rides the same
way: the request's own (`Cache-Control: max-age`, on the ledger) and a root field's (`maxAge`,
in `demanding_max_age`'s context variable, so it holds for that field's reads only).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from gateway.domain.freshness import Freshness, ServedFrom
from gateway.domain.provider import Provider

# Why a provider call failed once its retries were spent (a fixed set: a metrics label).
UpstreamFailure = Literal["circuit_open", "timeout", "unavailable", "rate_limited", "bad_response"]


@dataclass
class ProviderCounts:
    calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass
class ServedSummary:
    """One provider's answers read by a request: the oldest, and every way they were served."""

    oldest: Freshness
    served_from: set[ServedFrom] = field(default_factory=set)

    def add(self, freshness: Freshness) -> None:
        if freshness.age_seconds > self.oldest.age_seconds:
            self.oldest = freshness
        self.served_from.add(freshness.served_from)

    def as_extension(self) -> dict[str, object]:
        return {
            "oldestAgeSeconds": self.oldest.age_seconds,
            "oldestFetchedAt": self.oldest.fetched_at.isoformat(),
            "servedFrom": sorted(s.value for s in self.served_from),
        }


@dataclass
class UpstreamLedger:
    by_provider: dict[Provider, ProviderCounts] = field(default_factory=dict)
    # Cache generations read during this request: (tenant, provider, account) -> generation.
    generations: dict[tuple[str, Provider, str], int] = field(default_factory=dict)
    # Set when a response used an entry past its freshness because the provider failed.
    stale_served: set[Provider] = field(default_factory=set)
    # The shortest remaining freshness among the upstream answers used, in seconds.
    freshness: float | None = None
    # Per provider, how old the answers read were and how they were served.
    served: dict[Provider, ServedSummary] = field(default_factory=dict)
    # The oldest answer the client accepts for the whole request (Cache-Control: max-age).
    max_age: float | None = None
    # When the request must be answered by, on the resilience timer's clock.
    deadline: float | None = None
    # Sent upstream as X-Request-Id, so a provider's logs can be matched with ours.
    request_id: str | None = None
    # Every upstream attempt: provider, HTTP status (0 when none came back), seconds.
    attempts: list[tuple[Provider, int, float]] = field(default_factory=list)
    # Every provider call that failed, and how.
    failures: list[tuple[Provider, UpstreamFailure]] = field(default_factory=list)

    def note_freshness(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.freshness = seconds if self.freshness is None else min(self.freshness, seconds)

    def note_served(self, provider: Provider, freshness: Freshness) -> None:
        summary = self.served.get(provider)
        if summary is None:
            self.served[provider] = ServedSummary(freshness, {freshness.served_from})
        else:
            summary.add(freshness)

    def freshness_extension(self) -> dict[str, object]:
        """`extensions.freshness`: per provider read, the oldest answer and how they came."""
        return {
            p.value: s.as_extension()
            for p, s in sorted(self.served.items(), key=lambda i: i[0].value)
        }

    def fold(self, other: UpstreamLedger, *, calls: bool) -> None:
        """Take in what `other` noted for work shared with other requests (`shared_ledger`):
        how fresh its answers were and whether stale ones were served; with `calls`, the
        calls, lookups and attempts too (for the request that started the work: one that
        joined it made none)."""
        if other.freshness is not None:
            self.note_freshness(other.freshness)
        self.stale_served |= other.stale_served
        for provider, summary in other.served.items():
            self.note_served(provider, summary.oldest)
            self.served[provider].served_from |= summary.served_from
        if not calls:
            return
        for provider, counts in other.by_provider.items():
            mine = self.counts(provider)
            mine.calls += counts.calls
            mine.cache_hits += counts.cache_hits
            mine.cache_misses += counts.cache_misses
        self.attempts.extend(other.attempts)
        self.failures.extend(other.failures)

    def counts(self, provider: Provider) -> ProviderCounts:
        counts = self.by_provider.get(provider)
        if counts is None:
            counts = self.by_provider[provider] = ProviderCounts()
        return counts

    def as_extension(self) -> dict[str, object]:
        totals = ProviderCounts()
        for c in self.by_provider.values():
            totals.calls += c.calls
            totals.cache_hits += c.cache_hits
            totals.cache_misses += c.cache_misses
        return {
            **_as_dict(totals),
            "byProvider": {
                p.value: _as_dict(c)
                for p, c in sorted(self.by_provider.items(), key=lambda i: i[0].value)
            },
        }


def _as_dict(counts: ProviderCounts) -> dict[str, int]:
    return {
        "calls": counts.calls,
        "cacheHits": counts.cache_hits,
        "cacheMisses": counts.cache_misses,
    }


_current: contextvars.ContextVar[UpstreamLedger | None] = contextvars.ContextVar(
    "upstream_ledger", default=None
)
# A root field's `maxAge`: set around that field's reads only.
_field_max_age: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "field_max_age", default=None
)


def current_ledger() -> UpstreamLedger | None:
    return _current.get()


def start_ledger(
    deadline: float | None = None, request_id: str | None = None
) -> tuple[UpstreamLedger, contextvars.Token[UpstreamLedger | None]]:
    ledger = UpstreamLedger(deadline=deadline, request_id=request_id)
    return ledger, _current.set(ledger)


def end_ledger(token: contextvars.Token[UpstreamLedger | None]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def shared_ledger(
    report: Callable[[UpstreamLedger], None] | None = None,
) -> Iterator[UpstreamLedger]:
    """A ledger of its own for work several requests may wait on, so each can `fold` in
    what it noted: seeded from the current request's (its deadline, request id, max-age and
    the generations it read), or empty behind every request. `report`: given the ledger
    when the work ends, however it ends (the metrics, for work no request counts)."""
    outer = _current.get()
    if outer is None:
        ledger, token = start_ledger()
    else:
        ledger, token = start_ledger(outer.deadline, outer.request_id)
        ledger.max_age, ledger.generations = outer.max_age, dict(outer.generations)
    try:
        yield ledger
    finally:
        end_ledger(token)
        if report is not None:
            report(ledger)


def note_freshness(seconds: float) -> None:
    if (ledger := _current.get()) is not None:
        ledger.note_freshness(seconds)


def note_served(provider: Provider, freshness: Freshness) -> None:
    if (ledger := _current.get()) is not None:
        ledger.note_served(provider, freshness)


@contextlib.contextmanager
def demanding_max_age(seconds: float | None) -> Iterator[None]:
    """Reads within accept no entry `seconds` old or older (None: the request's own demand
    only). Usage: `with demanding_max_age(30): await source.get(id)`."""
    token = _field_max_age.set(seconds)
    try:
        yield
    finally:
        _field_max_age.reset(token)


def demanded_max_age() -> float | None:
    """The strictest of the request's and the current field's max-age; None when neither."""
    ledger = _current.get()
    demands = [
        d for d in (ledger.max_age if ledger else None, _field_max_age.get()) if d is not None
    ]
    return min(demands, default=None)


def count_call(provider: Provider) -> None:
    if (ledger := _current.get()) is not None:
        ledger.counts(provider).calls += 1


def count_failure(provider: Provider, failure: UpstreamFailure) -> None:
    if (ledger := _current.get()) is not None:
        ledger.failures.append((provider, failure))


def count_lookup(provider: Provider, *, hit: bool) -> None:
    if (ledger := _current.get()) is not None:
        counts = ledger.counts(provider)
        if hit:
            counts.cache_hits += 1
        else:
            counts.cache_misses += 1


__all__ = [
    "ProviderCounts",
    "ServedSummary",
    "UpstreamFailure",
    "UpstreamLedger",
    "count_call",
    "count_failure",
    "count_lookup",
    "current_ledger",
    "demanded_max_age",
    "demanding_max_age",
    "end_ledger",
    "note_freshness",
    "note_served",
    "start_ledger",
]
