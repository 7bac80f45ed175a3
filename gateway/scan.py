"""Reading one provider's stream of matching customers, a bounded number of pages at a time.

The gateway re-checks every customer against the filter, so a filter a provider cannot apply
upstream may match few of the items it reads. Without a bound, one request could read every
page of a large account (or loop forever on a provider that keeps sending empty pages with a
next token). `scan` stops after `max_pages` pages and says where it stopped, so the next
request continues exactly there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.cursor import START, StreamPosition, is_carriable_token
from gateway.domain.customer import Customer
from gateway.domain.filter import CustomerFilter
from gateway.domain.freshness import Freshness
from gateway.errors import RecordUnreadable, StreamScanLimit, UpstreamBadResponse, UpstreamError
from gateway.providers.base import CustomerSource


@dataclass(frozen=True, slots=True)
class Taken:
    customer: Customer
    # The position just after this customer.
    after: StreamPosition
    # Records the gateway could not read between the previous customer read and this one:
    # reported with this customer, so a listing reports each one once, where it would be.
    unreadable: tuple[RecordUnreadable, ...] = ()
    # How fresh the read of its page was (`Page.freshness`).
    freshness: Freshness | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    taken: tuple[Taken, ...]
    # Where the page bound stopped the scan (the start of the first page not read); None when
    # the scan found what it was asked for or reached the end of the stream.
    stopped_at: StreamPosition | None
    # Unreadable records after the last customer taken, up to where the scan ended.
    unreadable: tuple[RecordUnreadable, ...] = ()


async def scan(
    source: CustomerSource,
    filter: CustomerFilter,
    start: StreamPosition,
    count: int,
    max_pages: int,
) -> Scan:
    """Up to `count` matching customers from `start`, reading at most `max_pages` pages."""
    taken: list[Taken] = []
    # Unreadable records passed since the last customer taken. Whether a filter would have
    # matched them cannot be known, so every one the scan passes is reported.
    passed: list[RecordUnreadable] = []
    token, skip, yielded = start.token, start.skip, start.yielded
    for _ in range(max_pages):
        page = await source.list_page(filter, token)
        if page.next_token is not None and not is_carriable_token(page.next_token):
            # A token no cursor could carry: the stream cannot be resumed past this page.
            raise UpstreamBadResponse(source.provider)
        # Those before item `skip` were passed (and reported) by an earlier scan.
        unread = [(before, e) for before, e in page.unreadable if before >= skip]
        last = len(page.items) - 1
        # Unreadable records after the page's last item are passed only by resuming on it.
        trailed = any(before > last for before, _ in unread)
        items = page.items
        for index in range(skip, len(items)):
            if unread:  # rare: most pages read every record
                passed.extend(e for before, e in unread if before == index)
            customer = items[index]
            if not filter.matches(customer):
                continue
            yielded += 1
            if index < last or trailed:
                after = StreamPosition(token, index + 1, yielded)
            else:
                # Point past a finished page, so resuming never re-reads it.
                after = StreamPosition(page.next_token, 0, yielded, page.next_token is None)
            taken.append(Taken(customer, after, tuple(passed), page.freshness))
            passed.clear()
            if len(taken) == count:
                return Scan(tuple(taken), None)
        passed.extend(e for before, e in unread if before >= len(page.items))
        if page.next_token is None:
            return Scan(tuple(taken), None, tuple(passed))
        token, skip = page.next_token, 0
    return Scan(tuple(taken), StreamPosition(token, 0, yielded), tuple(passed))


# "Every customer": a count no scan reaches, so it reads to the end of the stream.
EVERY = sys.maxsize


async def scan_from_start(
    wanted: Sequence[tuple[CustomerSource, int]],
    filter: CustomerFilter,
    max_pages: int,
    too_long: type[StreamScanLimit],
) -> list[Scan] | tuple[UpstreamError, ...]:
    """Each source's first `count` matching customers, read concurrently from its start (the
    backward and ordered pages, which place every customer before the ones they show): the
    scans in order, or the provider failures, without which no place is known. A scan the page
    bound stopped raises `too_long`, naming its stream."""
    reads = await asyncio.gather(
        *(scan(s, filter, START, count, max_pages) for s, count in wanted),
        return_exceptions=True,
    )
    failed = tuple(r for r in reads if isinstance(r, UpstreamError))
    if failed:
        return failed
    scans: list[Scan] = []
    for (source, _), read in zip(wanted, reads, strict=True):
        if isinstance(read, BaseException):
            raise read
        if read.stopped_at is not None:
            raise too_long(source.provider, source.account, max_pages)
        scans.append(read)
    return scans


__all__ = ["EVERY", "Scan", "Taken", "scan", "scan_from_start"]
