"""Filling an entry once across processes: a short lease lock in a shared (Redis) store.

The process that takes the lease calls the provider and stores the answer; the others poll
the store until the entry appears, their lease-holder's lease runs out (then they call
themselves), or their own deadline does (`UpstreamTimeout`). A memory store is one process's
own, so it takes no lease: single-flight within the process is enough there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gateway.cache.entry import Entry, usable
from gateway.cache.keys import lock_key
from gateway.cache.read import Read
from gateway.cache.store import CacheStore
from gateway.errors import UpstreamTimeout

# How often a process waiting on another process's fetch looks for the result.
POLL_SECONDS = 0.02


async def fill(read: Read, store: CacheStore, *, lease: float, clock: Callable[[], float]) -> Entry:
    """Fetch, validate and store the entry for `read`, unless another process does it first.

    Usage: `entry = await fill(read, store, lease=2.0, clock=time.time)`.
    """
    key, policy = read.key, read.policy
    locked = False
    if store.kind != "memory":
        locked = await store.add(lock_key(key), b"1", lease)
        if not locked and not store.degraded:
            waited = await _wait_for_other_process(read, store, lease=lease, clock=clock)
            if waited is not None:
                return waited
        elif locked:
            # Another process may have filled the entry and let go of the lock between
            # our miss and our taking the lock: look once more before calling.
            filled = usable(await store.get(key), read.validate)
            if read.fresh(filled, clock()):
                await store.delete(lock_key(key))
                return filled
    try:
        fetched = await read.fetch()
        entry = Entry(fetched.status, fetched.body, clock())
        if entry.status == 200:
            # Before storing: a body the reader cannot use must not replace a good one.
            read.validate(entry)
        await store.set(key, entry.encode(), policy.lifetime)
        return entry
    finally:
        if locked:
            await store.delete(lock_key(key))


async def _wait_for_other_process(
    read: Read, store: CacheStore, *, lease: float, clock: Callable[[], float]
) -> Entry | None:
    """The entry another process is fetching, once stored; None when its lease ran out
    first (then we fetch ourselves); UpstreamTimeout when our deadline runs out first."""
    remaining = read.deadline.remaining()
    until = time.monotonic() + min(lease, remaining)
    while (left := until - time.monotonic()) > 0:
        await asyncio.sleep(min(POLL_SECONDS, left))
        entry = usable(await store.get(read.key), read.validate)
        if read.fresh(entry, clock()):
            return entry
    if remaining <= lease:
        raise UpstreamTimeout(read.provider)
    # The other process did not deliver within its lease: fetch ourselves.
    return None


__all__ = ["POLL_SECONDS", "fill"]
