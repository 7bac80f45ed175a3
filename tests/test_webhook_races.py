"""What a webhook writes never hides a newer read, and a write that failed is never
acknowledged, however the cache backend's health looks by the time the answer is sent
(found by review: a read between the retire and the write, and a health check clearing the
store's degraded flag)."""

from __future__ import annotations

from gateway.cache.entry import CachePolicy, Entry
from gateway.cache.keys import Account
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from tests.services import free_port

SCOPE = Account("t", LAGO, "org")
KEY = {"id": "cust-1"}


def cache() -> UpstreamCache:
    return UpstreamCache(
        CacheStore.from_url(None), dict.fromkeys((LAYER, CODAT, LAGO), CachePolicy(60, 30, 600))
    )


async def test_a_write_from_an_event_never_replaces_what_a_read_stored_since() -> None:
    upstream = cache()
    await upstream.retire(SCOPE)
    # A read since the retire stored Lago's current state…
    await upstream.put(SCOPE, "customer", KEY, 200, b'{"customer": {"name": "current"}}')
    # …so the late event's merge does not go in.
    assert not await upstream.put_new(SCOPE, "customer", KEY, 200, b'{"customer": {"name": "old"}}')
    entry = await upstream.peek(SCOPE, "customer", KEY)
    assert isinstance(entry, Entry)
    assert entry.body == b'{"customer": {"name": "current"}}'
    # Into an empty place it goes.
    other = {"id": "cust-2"}
    assert await upstream.put_new(SCOPE, "customer", other, 200, b'{"customer": {}}')


async def test_writes_that_failed_or_were_skipped_stay_counted_through_a_health_check() -> None:
    store = CacheStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        before = store.unavailable
        await store.set("cg1:t:k", b"x", 60)
        assert store.degraded
        assert await store.ping() is False
        await store.set("cg1:t:k", b"x", 60)  # skipped while degraded: counted too
        assert store.unavailable >= before + 2
    finally:
        await store.close()
