"""Paging over several providers at once, behind one cursor.

Order: customers are interleaved provider by provider. The n-th customer (after filtering) of
each provider comes before the (n+1)-th of any, and within one rank providers follow
`PROVIDER_ORDER` (LAYER, CODAT, LAGO). Each provider keeps its own native order (Layer: API
order; Codat: by id; Lago: newest first). So a walk with any page size sees every customer once,
in the same order every time, and each page asks all providers concurrently.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.cursor import START, Cursor, StreamPosition, decode_cursor, encode_cursor
from gateway.domain.customer import PROVIDER_ORDER, Customer, Provider
from gateway.domain.filter import CustomerFilter
from gateway.errors import BadUserInput, UpstreamError
from gateway.providers.base import CustomerSource

_RANK = {p: i for i, p in enumerate(PROVIDER_ORDER)}


@dataclass(frozen=True, slots=True)
class Edge:
    customer: Customer
    cursor: str


@dataclass(frozen=True, slots=True)
class FederatedPage:
    edges: tuple[Edge, ...]
    has_next_page: bool
    end_cursor: str | None
    # Providers that failed: their customers are missing from this page, not skipped for good.
    errors: tuple[UpstreamError, ...]


@dataclass(frozen=True, slots=True)
class _Taken:
    customer: Customer
    after: StreamPosition


async def list_customers(
    sources: Sequence[CustomerSource],
    filter: CustomerFilter,
    first: int,
    after: str | None,
) -> FederatedPage:
    ordered = sorted(sources, key=lambda s: _RANK[s.provider])
    fingerprint = _fingerprint(filter, [s.provider for s in ordered])
    positions: dict[Provider, StreamPosition] = {s.provider: START for s in ordered}
    if after is not None:
        cursor = decode_cursor(after)
        if cursor.filter_fingerprint != fingerprint or set(cursor.positions) != set(positions):
            raise BadUserInput("Invalid cursor: it belongs to a different filter or provider set")
        positions = dict(cursor.positions)

    live = [s for s in ordered if s.can_match(filter) and not positions[s.provider].done]
    outcomes = await asyncio.gather(
        *(_take(s, filter, positions[s.provider], first + 1) for s in live),
        return_exceptions=True,
    )
    candidates: list[_Taken] = []
    errors: list[UpstreamError] = []
    for source, outcome in zip(live, outcomes, strict=True):
        if isinstance(outcome, UpstreamError):
            errors.append(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        elif not outcome:
            positions[source.provider] = StreamPosition(done=True)
        else:
            candidates.extend(outcome)
    # Providers that cannot match the filter are finished before they start.
    for source in ordered:
        if not source.can_match(filter):
            positions[source.provider] = StreamPosition(done=True)

    candidates.sort(key=lambda t: (t.after.yielded, _RANK[t.customer.provider]))
    selected = candidates[:first]
    edges = []
    for taken in selected:
        positions[taken.customer.provider] = taken.after
        edges.append(Edge(taken.customer, encode_cursor(Cursor(fingerprint, dict(positions)))))
    end_cursor = edges[-1].cursor if edges else after
    return FederatedPage(
        edges=tuple(edges),
        has_next_page=len(candidates) > first,
        end_cursor=end_cursor,
        errors=tuple(errors),
    )


async def _take(
    source: CustomerSource, filter: CustomerFilter, start: StreamPosition, count: int
) -> list[_Taken]:
    """Up to `count` matching customers from `start`, each with the position just after it."""
    taken: list[_Taken] = []
    token, skip, yielded = start.token, start.skip, start.yielded
    while True:
        page = await source.list_page(filter, token)
        last = len(page.items) - 1
        for index in range(skip, len(page.items)):
            customer = page.items[index]
            if not filter.matches(customer):
                continue
            yielded += 1
            if index < last:
                after = StreamPosition(token, index + 1, yielded)
            else:
                # Point past a finished page, so resuming never re-reads it.
                after = StreamPosition(page.next_token, 0, yielded, page.next_token is None)
            taken.append(_Taken(customer, after))
            if len(taken) == count:
                return taken
        if page.next_token is None:
            return taken
        token, skip = page.next_token, 0


def _fingerprint(filter: CustomerFilter, providers: list[Provider]) -> str:
    text = filter.fingerprint() + "|" + ",".join(p.value for p in providers)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["Edge", "FederatedPage", "list_customers"]
