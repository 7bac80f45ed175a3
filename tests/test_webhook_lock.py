"""A delivery releases only its own record lock (found in review: one that outlived its lease
deleted the next delivery's lock, letting a third interleave with it)."""

from __future__ import annotations

import pytest

from gateway.cache.keys import Account
from gateway.cache.store import CacheStore
from gateway.providers.lago import LAGO
from gateway.webhooks.locks import RecordBusy, record_lock, record_lock_key
from tests.services import redis_server

SCOPE = Account("t", LAGO, "org")


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_a_lock_that_outlived_its_lease_does_not_release_the_next(backend: str) -> None:
    with redis_server() as server:
        store = CacheStore.from_url(server.url if backend == "redis" else None)
        try:
            async with record_lock(store, SCOPE, "cust-1"):
                # The lease runs out while this delivery is still applying…
                await store.delete(record_lock_key(SCOPE, "cust-1"))
                # …and the next delivery takes the lock.
                second = record_lock(store, SCOPE, "cust-1")
                await second.__aenter__()
            # The first has released: the second's lock must still hold.
            with pytest.raises(RecordBusy):
                async with record_lock(store, SCOPE, "cust-1"):
                    pass
            await second.__aexit__(None, None, None)
            async with record_lock(store, SCOPE, "cust-1"):
                pass
        finally:
            await store.close()
