"""Single-flight within a process: concurrent misses for one key share one fill.

A request's miss joins the fill in flight for its key, or starts one; a stale hit starts a
background refresh that belongs to no request. Either way one key has at most one fill.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.behind import Behind
from gateway.cache.entry import Entry
from gateway.cache.read import UNBOUNDED, Read, within
from gateway.ledger import UpstreamLedger, shared_ledger

log = logging.getLogger("gateway.cache")

# A coroutine, not any awaitable: a background refresh runs it as its own task.
Fill = Callable[[Read], Coroutine[Any, Any, Entry]]


class SingleFlight:
    """The fills in flight, by key.

    Usage: `entry = await flights.join(read)`; `flights.refresh(read)` for a stale hit.
    """

    def __init__(self, fill: Fill, report: Callable[[UpstreamLedger], None] | None = None) -> None:
        self._fill = fill
        # Where a background refresh's calls are counted (metrics): no request counts them.
        self._report = report
        self._inflight: dict[str, asyncio.Future[Entry]] = {}
        self._background = Behind()

    async def join(self, read: Read) -> Entry:
        """The entry from the fill in flight for `read.key`, started now if there is none."""
        future = self._inflight.get(read.key)
        if future is None:
            future = asyncio.ensure_future(self._fill(read))
            self._inflight[read.key] = future
            future.add_done_callback(self._settled(read.key))
        # Shielded: one waiter giving up must not cancel the fetch the others wait on. The
        # shared fetch may be a background refresh, or serve a request with a later deadline:
        # each waiter stops at its own.
        return await within(read, asyncio.shield(future))

    def refresh(self, read: Read) -> None:
        """Fill `read.key` again in the background, unless a fill is in flight already."""
        if read.key in self._inflight:
            return
        # Behind the requests: the refresh belongs to no request's ledger, nor to its deadline.
        task = self._background.start(self._reported(dataclasses.replace(read, deadline=UNBOUNDED)))
        self._inflight[read.key] = task
        task.add_done_callback(self._refreshed(read.key))

    async def _reported(self, read: Read) -> Entry:
        with shared_ledger(self._report):
            return await self._fill(read)

    async def settled(self) -> None:
        """Wait until no background refresh runs."""
        await self._background.settled()

    async def close(self) -> None:
        await self._background.close()

    def _settled(self, key: str) -> Callable[[asyncio.Future[Entry]], None]:
        def done(future: asyncio.Future[Entry]) -> None:
            self._inflight.pop(key, None)
            # Every waiter may have stopped at its deadline: mark the outcome as seen.
            if not future.cancelled():
                future.exception()

        return done

    def _refreshed(self, key: str) -> Callable[[asyncio.Task[Entry]], None]:
        def done(task: asyncio.Task[Entry]) -> None:
            self._inflight.pop(key, None)
            if not task.cancelled() and task.exception() is not None:
                log.info("background refresh failed: %s", type(task.exception()).__name__)

        return done


__all__ = ["Fill", "SingleFlight"]
