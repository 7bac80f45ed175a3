"""`customers(orderBy:)`: every provider's matching customers, sorted by the gateway.

No provider's list can be asked for this order across providers and accounts (and most
cannot sort by these fields at all), so an ordered page reads each stream (a provider
account) whole, from its first page, at most `max_scan_pages` pages each (pages are cached, so
the next page of the walk mostly re-reads the cache), and merges by the sort key: the order's
value (gateway/domain/order.py; customers without one last, in both directions), then the
stream's place in `sources` (the registry's order, then each provider's accounts as
configured), then the provider's id, both ascending whatever the direction. A stream with more
pages than the bound is ORDER_SCAN_LIMIT: a page sorted from part of a stream would be
silently wrong. A failing provider leaves the page empty with its error, as the others'
places are unknown without it (never the whole response).

A cursor holds the place of its customer (gateway/order_cursor.py), so paging on, forwards
(`after`) or backwards (`before`), is a cut of the sorted list at that place, even when
customers were added or removed between pages. Records the gateway could not read have no
place in the order: they are reported once, on the walk's first page (no cursor given).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import cmp_to_key, partial

from gateway.cursor import CursorKey, StreamKey, invalid_cursor
from gateway.domain.customer import Customer
from gateway.domain.filter import CustomerFilter
from gateway.domain.order import CustomerOrder
from gateway.errors import GatewayError, OrderScanLimit, UpstreamError
from gateway.federation import (
    DEFAULT_MAX_SCAN_PAGES,
    Edge,
    FederatedPage,
    fingerprint_of,
    stream_key,
)
from gateway.order_cursor import Place, decode_place, encode_place
from gateway.providers.base import CustomerSource
from gateway.scan import EVERY, Taken, scan_from_start


async def list_customers_ordered(
    sources: Sequence[CustomerSource],
    filter: CustomerFilter,
    size: int,
    cursor: str | None,
    *,
    order: CustomerOrder,
    backward: bool = False,
    tenant: str = "",
    key: CursorKey | None = None,
    max_scan_pages: int = DEFAULT_MAX_SCAN_PAGES,
) -> FederatedPage:
    """`size` customers in `order`: after the cursor (before it when `backward`); from the
    start (the end) when it is None."""
    ordered = list(sources)
    rank = {stream_key(s): i for i, s in enumerate(ordered)}
    fingerprint = ordered_fingerprint(tenant, ordered, filter, order)
    mark = decode_place(cursor, key, fingerprint) if cursor is not None else None
    if mark is not None and (mark.provider, mark.account) not in rank:
        # Signed for this fingerprint, so never; but a key may outlive a format.
        raise invalid_cursor()
    read = await _read_all(ordered, filter, max_scan_pages)
    if isinstance(read, UpstreamError):
        # The others' places are unknown without the failed provider: an empty page with its
        # error, so the field (and the rest of the response) stay; a retry may find it back.
        return FederatedPage(
            edges=(),
            has_next_page=True,
            end_cursor=cursor,
            errors=(read,),
            start_cursor=cursor,
            has_previous_page=cursor is not None,
        )
    taken, unreadable = read
    sort_key = cmp_to_key(partial(_compare, order, rank))
    placed = sorted(((place_of(order, t.customer), t) for t in taken), key=lambda p: sort_key(p[0]))
    keys = [sort_key(p) for p, _ in placed]
    if backward:
        end = len(placed) if mark is None else bisect_left(keys, sort_key(mark))
        begin = max(end - size, 0)
    else:
        begin = 0 if mark is None else bisect_right(keys, sort_key(mark))
        end = min(begin + size, len(placed))
    edges = tuple(
        Edge(t.customer, encode_place(fingerprint, p, key), t.freshness)
        for p, t in placed[begin:end]
    )
    return FederatedPage(
        edges=edges,
        has_next_page=end < len(placed),
        end_cursor=edges[-1].cursor if edges else cursor,
        errors=tuple(unreadable) if cursor is None else (),
        start_cursor=edges[0].cursor if edges else cursor,
        has_previous_page=begin > 0,
        total=len(placed),
    )


def ordered_fingerprint(
    tenant: str, sources: Sequence[CustomerSource], filter: CustomerFilter, order: CustomerOrder
) -> str:
    """The interleave's fingerprint, bound to the order too."""
    text = f"{fingerprint_of(tenant, sources, filter)}:{order.fingerprint()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def place_of(order: CustomerOrder, customer: Customer) -> Place:
    key = customer.key
    return Place(order.mark_of(customer), key.provider, key.account, key.native_id)


async def _read_all(
    sources: list[CustomerSource], filter: CustomerFilter, max_pages: int
) -> tuple[list[Taken], list[GatewayError]] | UpstreamError:
    """Every matching customer of every stream, and the records that could not be read; or
    the first provider failure."""
    live = [s for s in sources if s.can_match(filter)]
    reads = await scan_from_start([(s, EVERY) for s in live], filter, max_pages, OrderScanLimit)
    if isinstance(reads, tuple):
        return reads[0]
    every: list[Taken] = []
    unreadable: list[GatewayError] = []
    for read in reads:
        for taken in read.taken:
            unreadable.extend(taken.unreadable)
            every.append(taken)
        unreadable.extend(read.unreadable)
    return every, unreadable


def _compare(order: CustomerOrder, rank: dict[StreamKey, int], a: Place, b: Place) -> int:
    """Negative when `a` sorts before `b`: by value (none last), then stream, then id."""
    if (a.mark is None) != (b.mark is None):
        return 1 if a.mark is None else -1
    if a.mark is not None and b.mark is not None:
        left, right = order.value(a.mark), order.value(b.mark)
        if left != right:
            return -1 if (left > right if order.descending else left < right) else 1
    left_tie, right_tie = _tiebreak(rank, a), _tiebreak(rank, b)
    return int(left_tie > right_tie) - int(left_tie < right_tie)


def _tiebreak(rank: dict[StreamKey, int], place: Place) -> tuple[int, str]:
    return rank[place.provider, place.account], place.native_id


__all__ = ["list_customers_ordered", "ordered_fingerprint", "place_of"]
