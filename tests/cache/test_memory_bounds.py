"""The memory cache backend (no `cache.url`) holds a bounded amount per tenant.

Without a bound, every distinct upstream read, every retired generation's entries and every
webhook receipt stayed until its TTL ran out (up to 72 h for a receipt): a soak with webhooks
grew each worker by about 1 MiB a second. Stored values are bounded per tenant, least recently
used out first; counters (cache generations) are never evicted, so no entry can come back from
a retired generation; retiring a scope frees its entries at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

from gateway.cache.bounded import Bounds
from gateway.cache.entry import CachePolicy, Entry
from gateway.cache.keys import Account, generation_key
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER

BOUNDS = Bounds(max_entries=3, max_bytes=1_000)


def held(store: CacheStore, tenant: str) -> list[str]:
    """The keys the memory backend holds for `tenant`."""
    cache: dict[str, object] = store.backend._cache
    return sorted(k for k in cache if k.startswith(f"cg1:{tenant}:"))


async def test_the_default_store_is_bounded_per_tenant() -> None:
    store = CacheStore.from_url(None)
    for i in range(20_001):
        await store.set(f"cg1:a:k{i}", b"x", 60)
    assert len(held(store, "a")) == 20_000
    assert await store.get("cg1:a:k0") is None


async def test_each_tenant_keeps_at_most_its_bound_least_recently_used_out() -> None:
    store = CacheStore.from_url(None, memory_bounds=BOUNDS)
    for i in range(3):
        await store.set(f"cg1:a:k{i}", b"x" * 10, 60)
    await store.set("cg1:b:k0", b"y" * 10, 60)
    assert await store.get("cg1:a:k0") == b"x" * 10  # now the most recently used
    await store.set("cg1:a:k3", b"x" * 10, 60)
    await store.set("cg1:a:k4", b"x" * 10, 60)
    assert held(store, "a") == ["cg1:a:k0", "cg1:a:k3", "cg1:a:k4"]
    assert held(store, "b") == ["cg1:b:k0"]  # a's traffic never evicts b's entries


async def test_bytes_are_bounded_and_an_oversized_value_is_not_kept() -> None:
    store = CacheStore.from_url(None, memory_bounds=BOUNDS)
    await store.set("cg1:a:small", b"x" * 400, 60)
    await store.set("cg1:a:medium", b"x" * 500, 60)
    await store.set("cg1:a:more", b"x" * 300, 60)
    assert held(store, "a") == ["cg1:a:medium", "cg1:a:more"]
    await store.set("cg1:a:huge", b"x" * 1_001, 60)
    assert await store.get("cg1:a:huge") is None
    assert held(store, "a") == ["cg1:a:medium", "cg1:a:more"]


async def test_counters_are_never_evicted() -> None:
    store = CacheStore.from_url(None, memory_bounds=BOUNDS)
    scope = Account("a", LAGO, "org")
    await store.increment(generation_key(scope))
    await store.increment(generation_key(scope))
    for i in range(10):
        await store.set(f"cg1:a:k{i}", b"x" * 10, 60)
    assert await store.get_number(generation_key(scope)) == 2
    assert len(held(store, "a")) == 3 + 1


async def test_expired_values_leave_the_accounting() -> None:
    store = CacheStore.from_url(None, memory_bounds=Bounds(max_entries=2, max_bytes=1_000))
    await store.set("cg1:a:short", b"x", 0.01)
    await store.set("cg1:a:long", b"x", 60)
    await asyncio.sleep(0.05)
    assert held(store, "a") == ["cg1:a:long"]
    # Two more fit beside the live one only if the expired entry no longer counts.
    await store.set("cg1:a:next", b"x", 60)
    assert held(store, "a") == ["cg1:a:long", "cg1:a:next"]


async def test_retiring_a_scope_frees_its_entries() -> None:
    store = CacheStore.from_url(None)
    cache = UpstreamCache(store, dict.fromkeys((LAYER, CODAT, LAGO), CachePolicy(60, 30, 600)))
    scope = Account("a", LAGO, "org")
    other = Account("a", CODAT, "company")

    async def fetch() -> Entry:
        return Entry(200, b"{}")

    def validate(entry: Entry) -> None:
        return None

    for target in (scope, other):
        for page in ("1", "2"):
            await cache.fetch(target, "customers", {"page": page}, fetch, validate=validate)
    assert len([k for k in held(store, "a") if ":g0:" in k]) == 4
    await cache.retire(scope)
    remaining = [k for k in held(store, "a") if ":g0:" in k]
    assert len(remaining) == 2
    assert all(k.startswith(other.prefix()) for k in remaining)


class _Held:
    """Stands for a request's ledger in its context."""


_REQUEST_STATE: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
    "request_state", default=None
)


async def test_an_entry_does_not_keep_the_writing_request_alive() -> None:
    """aiocache's expiry timer copies the caller's context; an entry living 10 minutes then
    kept that request's ledger (and all it references) alive as long."""
    store = CacheStore.from_url(None)
    state = _Held()
    alive = weakref.ref(state)

    async def request(writer_state: _Held) -> None:
        _REQUEST_STATE.set(writer_state)
        await store.set("cg1:a:k", b"x", 600)

    await asyncio.create_task(request(state))
    await asyncio.sleep(0)  # the finished task leaves the loop's queue
    del state
    gc.collect()
    assert alive() is None
    assert await store.get("cg1:a:k") == b"x"
