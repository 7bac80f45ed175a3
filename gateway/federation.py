"""Paging over several providers at once, behind one cursor.

Order: customers are interleaved stream by stream, a stream being one provider account
(`stream_key`). The n-th customer (after filtering) of each stream comes before the (n+1)-th
of any, and within one rank streams follow the order of `sources` (the registry's, then each
provider's accounts in the order configured). Each provider keeps its own native order
(Layer: API order; Codat: by id; Lago: newest first). So a walk with any page size sees every
customer once, in the same order every time, and each page asks all providers concurrently.

Each provider reads at most `max_scan_pages` pages per request (gateway/scan.py). A provider
the bound stopped holds back whatever would sort after its next match, so the order still does
not depend on the page size; its position moves to where the scan stopped, and a page left
short by that says so with one FilterScanLimit per stopped provider.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import orjson

from gateway.cursor import (
    START,
    Cursor,
    CursorKey,
    StreamKey,
    StreamPosition,
    decode_cursor,
    encode_cursor,
)
from gateway.domain.customer import Customer
from gateway.domain.filter import CustomerFilter
from gateway.domain.freshness import Freshness
from gateway.errors import (
    FilterScanLimit,
    GatewayError,
    InvalidCursor,
    RecordUnreadable,
    UpstreamError,
)
from gateway.providers.base import CustomerSource
from gateway.scan import Scan, Taken, scan
from gateway.settings.model import LimitSettings

DEFAULT_MAX_SCAN_PAGES = LimitSettings().max_filter_scan_pages


@dataclass(frozen=True, slots=True)
class Edge:
    customer: Customer
    cursor: str
    # How fresh this read of the customer is; None: as `customer.freshness` says.
    freshness: Freshness | None = None


@dataclass(frozen=True, slots=True)
class FederatedPage:
    edges: tuple[Edge, ...]
    has_next_page: bool
    end_cursor: str | None
    # Providers that failed (their customers are missing from this page, not skipped for good)
    # or whose scan the page bound stopped (FilterScanLimit).
    errors: tuple[GatewayError, ...]
    start_cursor: str | None = None
    has_previous_page: bool = False
    # How many customers match in all, when the page had to read them all to be given.
    total: int | None = None


async def list_customers(
    sources: Sequence[CustomerSource],
    filter: CustomerFilter,
    first: int,
    after: str | None,
    *,
    tenant: str = "",
    key: CursorKey | None = None,
    max_scan_pages: int = DEFAULT_MAX_SCAN_PAGES,
) -> FederatedPage:
    """One page of `first` customers after the cursor `after`.

    Cursors are signed with `key` (the per-process key by default) and bound to `tenant`, the
    sources' accounts and `filter`; each provider reads at most `max_scan_pages` pages.
    """
    ordered = list(sources)
    rank = {stream_key(s): i for i, s in enumerate(ordered)}
    fingerprint = fingerprint_of(tenant, ordered, filter)
    positions: dict[StreamKey, StreamPosition] = {stream_key(s): START for s in ordered}
    if after is not None:
        positions = open_cursor(after, key, fingerprint, positions)
    # Known without a call: the cursor counts the customers shown before it.
    has_previous_page = shown_before(positions)

    live = [s for s in ordered if s.can_match(filter) and not positions[stream_key(s)].done]
    outcomes = await asyncio.gather(
        *(scan(s, filter, positions[stream_key(s)], first + 1, max_scan_pages) for s in live),
        return_exceptions=True,
    )
    candidates: list[Taken] = []
    stopped: dict[StreamKey, StreamPosition] = {}
    errors: list[GatewayError] = []
    for source, outcome in zip(live, outcomes, strict=True):
        if isinstance(outcome, UpstreamError):
            errors.append(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        elif outcome.stopped_at is not None:
            stopped[stream_key(source)] = outcome.stopped_at
            candidates.extend(outcome.taken)
        elif not outcome.taken:
            positions[stream_key(source)] = StreamPosition(done=True)
        else:
            candidates.extend(outcome.taken)
    # Providers that cannot match the filter are finished before they start.
    for source in ordered:
        if not source.can_match(filter):
            positions[stream_key(source)] = StreamPosition(done=True)

    place = partial(interleave_place, rank)
    candidates.sort(key=place)
    # A stopped provider's next match comes at the earliest right after what it found: nothing
    # placed after that may be shown yet, or the order would depend on the page size.
    horizon = min(((s.yielded + 1, rank[p]) for p, s in stopped.items()), default=None)
    shown = [t for t in candidates if horizon is None or place(t) < horizon][:first]
    edges = []
    for taken in shown:
        positions[stream_of(taken)] = taken.after
        cursor = encode_cursor(Cursor(fingerprint, dict(positions)), key)
        edges.append(Edge(taken.customer, cursor, taken.freshness))
        errors.extend(taken.unreadable)
    end_cursor = edges[-1].cursor if edges else after
    resumed = _resume_stopped(stopped, candidates, shown, positions, rank)
    errors.extend(_unreadable_after(live, outcomes, candidates, shown, stopped, resumed))
    if resumed:
        end_cursor = encode_cursor(Cursor(fingerprint, dict(positions)), key)
        if len(shown) < first:
            # The page is short because the bound stopped these providers' scans.
            errors.extend(FilterScanLimit(p) for p, _ in resumed)
    return FederatedPage(
        edges=tuple(edges),
        has_next_page=len(candidates) > len(shown) or bool(stopped),
        end_cursor=end_cursor,
        errors=tuple(errors),
        start_cursor=edges[0].cursor if edges else after,
        has_previous_page=has_previous_page,
    )


def open_cursor(
    text: str,
    key: CursorKey | None,
    fingerprint: str,
    positions: dict[StreamKey, StreamPosition],
) -> dict[StreamKey, StreamPosition]:
    """The positions `text` holds, if it was issued for `fingerprint` and these providers.

    Checked before any provider is asked: a refused cursor costs no upstream call.
    """
    cursor = decode_cursor(text, key)
    if cursor.filter_fingerprint != fingerprint or set(cursor.positions) != set(positions):
        raise InvalidCursor(
            "Invalid cursor: it was issued for another filter, provider set or caller"
        )
    return dict(cursor.positions)


def shown_before(positions: dict[StreamKey, StreamPosition]) -> bool:
    return any(s.yielded for s in positions.values())


def _resume_stopped(
    stopped: dict[StreamKey, StreamPosition],
    candidates: list[Taken],
    shown: list[Taken],
    positions: dict[StreamKey, StreamPosition],
    rank: dict[StreamKey, int],
) -> list[StreamKey]:
    """Move each stopped provider whose finds were all shown to where its scan stopped, so
    the next page reads on from there; the providers moved, in provider order."""
    if not stopped:
        return []
    shown_ids = {id(t) for t in shown}
    unshown = {stream_of(t) for t in candidates if id(t) not in shown_ids}
    moved = sorted((p for p in stopped if p not in unshown), key=rank.__getitem__)
    for provider in moved:
        positions[provider] = stopped[provider]
    return moved


def _unreadable_after(
    live: Sequence[CustomerSource],
    outcomes: Sequence[Scan | BaseException],
    candidates: list[Taken],
    shown: list[Taken],
    stopped: dict[StreamKey, StreamPosition],
    resumed: list[StreamKey],
) -> list[RecordUnreadable]:
    """Unreadable records a scan passed after its last find, for each stream this page
    moves past them: every find shown, and the scan ended (or stopped and was resumed)."""
    if not any(isinstance(o, Scan) and o.unreadable for o in outcomes):
        return []
    shown_ids = {id(t) for t in shown}
    unshown = {stream_of(t) for t in candidates if id(t) not in shown_ids}
    found: list[RecordUnreadable] = []
    for source, outcome in zip(live, outcomes, strict=True):
        stream = stream_key(source)
        if not isinstance(outcome, Scan) or stream in unshown:
            continue
        if stream not in stopped or stream in resumed:
            found.extend(outcome.unreadable)
    return found


def interleave_place(rank: dict[StreamKey, int], taken: Taken) -> tuple[int, int]:
    """Where `taken` stands in the interleave (gateway/backward.py walks the same order)."""
    return taken.after.yielded, rank[stream_of(taken)]


def stream_key(source: CustomerSource) -> StreamKey:
    """The stream a source's customers form: its provider and account."""
    return source.provider, source.account


def stream_of(taken: Taken) -> StreamKey:
    # A customer's key names the account that sent it, which is its source's.
    return taken.customer.key.provider, taken.customer.key.account


def fingerprint_of(tenant: str, sources: Sequence[CustomerSource], filter: CustomerFilter) -> str:
    """What a cursor is bound to: the tenant, each source's account, the filter."""
    bound = [tenant, [[s.provider.value, s.account] for s in sources], filter.fingerprint()]
    return hashlib.sha256(orjson.dumps(bound)).hexdigest()[:32]


__all__ = [
    "DEFAULT_MAX_SCAN_PAGES",
    "Edge",
    "FederatedPage",
    "fingerprint_of",
    "interleave_place",
    "list_customers",
    "open_cursor",
    "shown_before",
    "stream_key",
    "stream_of",
]
