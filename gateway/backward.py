"""Paging `customers` backwards (`last`/`before`) over providers that only page forwards.

A cursor is a forward position: per provider, how many customers it has yielded (its place in
the interleave, gateway/federation.py) and where its stream stands. The interleave order is a
property of the data, so the customers before a cursor are, for each stream (a provider
account), its first
`yielded` matching customers. No provider can be read backwards from a position, so a
backward page re-reads each provider forwards from its start, as far as the cursor counts,
merges what it read in the interleave order and keeps the last `last` before the cursor's own
customer. Every edge gets the same forward cursor a forward walk would give it, so a client can
turn round at any edge. Without `before`, the page is the end of the list: every provider is
read to its end.

Cost: a backward page reads every provider from its first page up to the cursor (upstream
pages are cached, so a walk back over pages just read is mostly cache hits), at most
`max_scan_pages` pages per provider; a cursor further in than that is refused with one
BACKWARD_SCAN_LIMIT error rather than answered with a page that skips customers. A failing
provider leaves the page empty with its error (the others' places cannot be known without it),
never the whole response.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from gateway.cursor import START, Cursor, CursorKey, StreamKey, StreamPosition, encode_cursor
from gateway.domain.filter import CustomerFilter
from gateway.errors import BackwardScanLimit, GatewayError
from gateway.federation import (
    DEFAULT_MAX_SCAN_PAGES,
    Edge,
    FederatedPage,
    fingerprint_of,
    interleave_place,
    open_cursor,
    stream_key,
    stream_of,
)
from gateway.providers.base import CustomerSource
from gateway.scan import EVERY, Taken, scan_from_start


async def list_customers_before(
    sources: Sequence[CustomerSource],
    filter: CustomerFilter,
    last: int,
    before: str | None,
    *,
    tenant: str = "",
    key: CursorKey | None = None,
    max_scan_pages: int = DEFAULT_MAX_SCAN_PAGES,
) -> FederatedPage:
    """The `last` customers before the cursor `before` (before the end when None)."""
    ordered = list(sources)
    rank = {stream_key(s): i for i, s in enumerate(ordered)}
    at = partial(interleave_place, rank)
    fingerprint = fingerprint_of(tenant, ordered, filter)
    start = {stream_key(s): _start(s, filter) for s in ordered}
    wanted = {stream_key(s): EVERY for s in ordered}
    bound: tuple[int, int] | None = None
    if before is not None:
        wanted = {p: s.yielded for p, s in open_cursor(before, key, fingerprint, start).items()}
        # The cursor's own customer: the last of the interleave prefix it counts.
        bound = max(((n, rank[p]) for p, n in wanted.items() if n), default=(0, -1))
    live = [s for s in ordered if not start[stream_key(s)].done and wanted[stream_key(s)]]
    reads = await scan_from_start(
        [(s, wanted[stream_key(s)]) for s in live], filter, max_scan_pages, BackwardScanLimit
    )
    if isinstance(reads, tuple):
        # The others' places cannot be known without the failed provider: an empty page with
        # its error, so the field (and its siblings) stay; a retry may find it back.
        return _unplaced(before, reads)
    candidates = [t for read in reads for t in read.taken]
    trailing = [e for read in reads for e in read.unreadable]
    candidates.sort(key=at)
    if bound is not None:
        candidates = [t for t in candidates if at(t) < bound]
    cut = max(len(candidates) - last, 0)
    edges = _edges(candidates, cut, start, fingerprint, key)
    # Each unreadable record is reported with the customer after it, as forwards; those after
    # every stream's last customer belong to the end of the list, the page without `before`.
    unreadable = [e for t in candidates[cut:] for e in t.unreadable]
    if before is None:
        unreadable.extend(trailing)
    return FederatedPage(
        edges=edges,
        # With `before`, the cursor's own customer comes next.
        has_next_page=before is not None,
        end_cursor=edges[-1].cursor if edges else before,
        errors=tuple(unreadable),
        start_cursor=edges[0].cursor if edges else before,
        has_previous_page=cut > 0,
    )


def _unplaced(before: str | None, errors: tuple[GatewayError, ...]) -> FederatedPage:
    return FederatedPage(
        edges=(),
        has_next_page=before is not None,
        end_cursor=before,
        errors=errors,
        start_cursor=before,
        # Unknown: say there may be more, so a client tries again rather than stopping.
        has_previous_page=True,
    )


def _start(source: CustomerSource, filter: CustomerFilter) -> StreamPosition:
    # As forwards: a provider that cannot match the filter is finished before it starts.
    return START if source.can_match(filter) else StreamPosition(done=True)


def _edges(
    merged: list[Taken],
    cut: int,
    start: dict[StreamKey, StreamPosition],
    fingerprint: str,
    key: CursorKey | None,
) -> tuple[Edge, ...]:
    """Edges for `merged[cut:]`, each with the forward position just after it."""
    positions = dict(start)
    edges = []
    for index, taken in enumerate(merged):
        positions[stream_of(taken)] = taken.after
        if index >= cut:
            cursor = encode_cursor(Cursor(fingerprint, dict(positions)), key)
            edges.append(Edge(taken.customer, cursor, taken.freshness))
    return tuple(edges)


__all__ = ["list_customers_before"]
