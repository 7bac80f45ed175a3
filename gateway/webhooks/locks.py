"""One delivery at a time per record: the check "is this event newer than the cache?" and the
write that follows must not interleave with another event for the same customer, or the older
of two concurrent events could be written last.

The lock is a set-if-absent key in the cache store (with Redis: across processes), with a lease
so a crashed process cannot hold it for ever. A delivery that finds it taken is refused with
409 and retried by the provider, by which time the other has been applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator

from gateway.cache.keys import Account
from gateway.cache.store import CacheStore

# Far longer than applying one event takes (a few store round trips of at most 0.5 s each).
LEASE_SECONDS = 10.0


class RecordBusy(Exception):
    """Another delivery for the same record is being applied right now."""


def record_lock_key(account: Account, record_id: str) -> str:
    digest = hashlib.sha256(record_id.encode()).hexdigest()[:32]
    return f"{account.prefix()}:webhook-lock:{digest}"


@contextlib.asynccontextmanager
async def record_lock(store: CacheStore, account: Account, record_id: str) -> AsyncIterator[None]:
    """Usage: `async with record_lock(store, account, customer_id): compare, then write`."""
    key = record_lock_key(account, record_id)
    # Whose lock it is: a delivery that outlived its lease must not release the next one's.
    token = secrets.token_hex(16).encode()
    if not await store.add(key, token, LEASE_SECONDS):
        if not store.degraded:
            raise RecordBusy(record_id)
        # The store is down: nothing below can be written, and the delivery is answered 503.
        yield
        return
    try:
        yield
    finally:
        await store.delete_if(key, token)


__all__ = ["LEASE_SECONDS", "RecordBusy", "record_lock", "record_lock_key"]
