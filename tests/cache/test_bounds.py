"""Per-tenant bounds on the response cache and the APQ registrations, on memory and on Redis.

Each store keeps at most N entries and B bytes per tenant, evicting that tenant's least
recently used entries; a read marks an entry used; one tenant's traffic never evicts
another's; an entry larger than B is not stored.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.cache.bounded import BoundedStore, Bounds, MemoryBoundedStore, bounded_store
from gateway.cache.store import CacheStore
from gateway.http.operations import DeclaredVariables, choose_operation, run_values
from gateway.http.rejection import Rejection
from gateway.settings.model import CacheSettings, PersistedSettings, Settings
from tests.cache.test_caching import twin_tenants
from tests.services import RedisServer, redis_server
from tests.support import GatewayClient, gateway_client

pytestmark = pytest.mark.timeout(120)


def listing(first: int, pad: int = 0) -> str:
    """A distinct document per (first, pad); `pad` changes the text, not the answer."""
    selection = "{ edges { node { displayName } } }"
    return f"{{ customers(first: {first}, providers: [LAGO]) {selection} }}" + " " * pad


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


@pytest.fixture(params=["memory", "redis"])
def cache_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "memory":
        yield None
        return
    with redis_server() as server:
        yield server.url


def bounded(cache_url: str | None, base: Settings | None = None, **limits: int) -> Settings:
    base = base or Settings()
    cache = {k: v for k, v in limits.items() if k.startswith("response_")}
    persisted = {k: v for k, v in limits.items() if k.startswith("apq_")}
    return base.model_copy(
        update={
            "cache": CacheSettings(url=cache_url, **cache),
            "persisted": PersistedSettings(**persisted),
        }
    )


async def hit(gateway: GatewayClient, query: str, tenant: str | None = None) -> bool:
    """Run `query`; True when the whole answer came from the response cache."""
    headers = {"authorization": f"Bearer key-{tenant}"} if tenant else {}
    response = await gateway.http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    assert "errors" not in response.json(), response.json()
    return response.headers.get("x-response-cache") == "hit"


async def hits_newest_first(gateway: GatewayClient, queries: list[str]) -> list[bool]:
    # Newest first: a miss re-stores its answer and evicts the oldest, which was probed already.
    return [await hit(gateway, q) for q in reversed(queries)]


async def test_the_response_cache_keeps_at_most_n_entries(cache_url: str | None) -> None:
    async with gateway_client(bounded(cache_url, response_max_entries_per_tenant=2)) as gateway:
        queries = [listing(k) for k in range(1, 6)]
        for q in queries:
            assert not await hit(gateway, q)
        assert await hits_newest_first(gateway, queries) == [True, True, False, False, False]


async def test_a_read_entry_survives_eviction(cache_url: str | None) -> None:
    async with gateway_client(bounded(cache_url, response_max_entries_per_tenant=2)) as gateway:
        one, two, three = listing(1), listing(2), listing(3)
        await hit(gateway, one)
        await hit(gateway, two)
        assert await hit(gateway, one)  # now `two` is the least recently used
        await hit(gateway, three)
        assert await hit(gateway, one)
        assert await hit(gateway, three)
        assert not await hit(gateway, two)


async def test_one_tenants_traffic_never_evicts_anothers(cache_url: str | None) -> None:
    settings = bounded(cache_url, twin_tenants(), response_max_entries_per_tenant=2)
    async with gateway_client(settings) as gateway:
        await hit(gateway, listing(1), "a")
        await hit(gateway, listing(2), "a")
        for k in range(3, 9):
            await hit(gateway, listing(k), "b")
        assert await hit(gateway, listing(2), "a")
        assert await hit(gateway, listing(1), "a")
        assert not await hit(gateway, listing(3), "b")  # b's own oldest is gone


async def test_the_byte_limit_evicts_and_refuses_an_oversized_answer(
    cache_url: str | None,
) -> None:
    # Each answer to listing(10) is about 480 bytes, stored with its expiry and ETag (about 55
    # more): two fit in 1,152 bytes, a third does not.
    settings = bounded(cache_url, response_max_bytes_per_tenant=1152)
    async with gateway_client(settings) as gateway:
        queries = [listing(10, pad) for pad in range(3)]
        for q in queries:
            await hit(gateway, q)
        assert await hits_newest_first(gateway, queries) == [True, True, False]
        # About 1.8 KB: larger than the whole budget, so never stored, and nothing evicted.
        big = listing(40)
        await hit(gateway, big)
        assert not await hit(gateway, big)
        assert await hit(gateway, queries[0])


async def register(gateway: GatewayClient, query: str, tenant: str | None = None) -> None:
    headers = {"authorization": f"Bearer key-{tenant}"} if tenant else {}
    body = {
        "query": query,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}},
    }
    response = await gateway.http.post("/graphql", json=body, headers=headers)
    assert "data" in response.json(), response.json()


async def registered(gateway: GatewayClient, query: str, tenant: str | None = None) -> bool:
    headers = {"authorization": f"Bearer key-{tenant}"} if tenant else {}
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}}
    answer: dict[str, Any] = (
        await gateway.http.post("/graphql", json=body, headers=headers)
    ).json()
    if "errors" in answer:
        assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        return False
    return True


async def test_apq_keeps_the_n_most_recently_used_registrations(cache_url: str | None) -> None:
    async with gateway_client(bounded(cache_url, apq_max_entries_per_tenant=2)) as gateway:
        one, two, three = listing(1), listing(2), listing(3)
        await register(gateway, one)
        await register(gateway, two)
        assert await registered(gateway, one)  # now `two` is the least recently used
        await register(gateway, three)
        assert [await registered(gateway, q) for q in (three, one, two)] == [True, True, False]


async def test_apq_bounds_are_per_tenant_and_refuse_an_oversized_document(
    cache_url: str | None,
) -> None:
    settings = bounded(
        cache_url, twin_tenants(), apq_max_entries_per_tenant=2, apq_max_bytes_per_tenant=1024
    )
    async with gateway_client(settings) as gateway:
        await register(gateway, listing(1), "a")
        for k in range(2, 6):
            await register(gateway, listing(k), "b")
        assert await registered(gateway, listing(1), "a")
        assert not await registered(gateway, listing(2), "b")
        oversized = listing(1, pad=1100)
        await register(gateway, oversized, "a")
        assert not await registered(gateway, oversized, "a")
        assert await registered(gateway, listing(1), "a")


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def redis_client(redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis.url)
    yield client
    await client.aclose()


async def test_redis_holds_exactly_n_entries_and_bounded_bookkeeping(
    redis: RedisServer, redis_client: aioredis.Redis
) -> None:
    settings = bounded(redis.url, response_max_entries_per_tenant=3)
    async with gateway_client(settings) as gateway:
        for k in range(1, 21):
            await hit(gateway, listing(k))
    keys = [k.decode() async for k in redis_client.scan_iter(match="cg1:*:response*")]
    kinds = {k: (await redis_client.type(k)).decode() for k in keys}
    assert sum(kind == "string" for kind in kinds.values()) == 3
    # Whatever tracks use and size is bounded too, and goes away with the entries.
    for key, kind in kinds.items():
        assert await redis_client.pttl(key) > 0, key
        if kind == "zset":
            assert await redis_client.zcard(key) == 3
        elif kind == "hash":
            assert await redis_client.hlen(key) <= 3


# The stores themselves: exact counts, bytes and bookkeeping on both backends.

BOUNDS = Bounds(max_entries=3, max_bytes=1024)


@pytest.fixture
async def lru(cache_url: str | None) -> AsyncIterator[BoundedStore]:
    store = CacheStore.from_url(cache_url)
    yield bounded_store(store, BOUNDS)
    await store.close()


async def present(lru: BoundedStore, namespace: str, keys: list[str]) -> list[str]:
    # Oldest first, so a read here cannot change which of these survive.
    return [k for k in keys if await lru.get(namespace, k) is not None]


async def test_n_inserts_leave_exactly_the_last_three(lru: BoundedStore) -> None:
    keys = [f"cg1:t:response:{i}" for i in range(50)]
    for key in keys:
        assert await lru.set("cg1:t:response", key, b"x" * 10, 60)
    assert await present(lru, "cg1:t:response", keys) == keys[-3:]


async def test_a_read_moves_an_entry_to_the_back(lru: BoundedStore) -> None:
    ns = "cg1:t:apq"
    for i in range(3):
        await lru.set(ns, f"{ns}:{i}", b"v", 60)
    assert await lru.get(ns, f"{ns}:0") == b"v"
    await lru.set(ns, f"{ns}:3", b"v", 60)
    assert await present(lru, ns, [f"{ns}:{i}" for i in range(4)]) == [
        f"{ns}:0",
        f"{ns}:2",
        f"{ns}:3",
    ]


async def test_bytes_evict_the_oldest_and_an_oversized_value_is_refused(lru: BoundedStore) -> None:
    ns = "cg1:t:response"
    assert await lru.set(ns, f"{ns}:a", b"a" * 400, 60)
    assert await lru.set(ns, f"{ns}:b", b"b" * 400, 60)
    assert await lru.set(ns, f"{ns}:c", b"c" * 400, 60)  # 1200 > 1024: `a` goes
    assert await present(lru, ns, [f"{ns}:{k}" for k in "abc"]) == [f"{ns}:b", f"{ns}:c"]
    assert not await lru.set(ns, f"{ns}:d", b"d" * 1025, 60)
    assert await lru.get(ns, f"{ns}:d") is None
    assert await present(lru, ns, [f"{ns}:{k}" for k in "bc"]) == [f"{ns}:b", f"{ns}:c"]
    # Rewriting a key replaces its bytes instead of adding to them.
    for _ in range(10):
        assert await lru.set(ns, f"{ns}:c", b"c" * 400, 60)
    assert await present(lru, ns, [f"{ns}:{k}" for k in "bc"]) == [f"{ns}:b", f"{ns}:c"]


async def test_namespaces_never_evict_each_other(lru: BoundedStore) -> None:
    await lru.set("cg1:a:response", "cg1:a:response:1", b"a", 60)
    for i in range(10):
        await lru.set("cg1:b:response", f"cg1:b:response:{i}", b"b" * 300, 60)
    assert await lru.get("cg1:a:response", "cg1:a:response:1") == b"a"


def test_memory_bookkeeping_is_bounded_and_dropped_when_empty() -> None:
    clock = [0.0]
    lru = MemoryBoundedStore(BOUNDS, clock=lambda: clock[0])

    async def fill() -> None:
        for i in range(100):
            await lru.set("cg1:t:response", f"cg1:t:response:{i}", b"x" * 100, 5)

    asyncio.run(fill())
    assert lru.usage("cg1:t:response") == (3, 300)
    clock[0] = 10.0
    for i in range(97, 100):
        assert asyncio.run(lru.get("cg1:t:response", f"cg1:t:response:{i}")) is None
    assert lru.usage("cg1:t:response") == (0, 0)
    assert not lru._namespaces


async def test_a_redis_that_fails_misses_and_drops_writes() -> None:
    with redis_server() as server:
        store = CacheStore.from_url(server.url)
        lru = bounded_store(store, BOUNDS)
        assert await lru.set("cg1:t:apq", "cg1:t:apq:1", b"q", 60)
        server.stop()
        assert await lru.get("cg1:t:apq", "cg1:t:apq:1") is None
        assert not await lru.set("cg1:t:apq", "cg1:t:apq:2", b"q", 60)
        assert store.degraded
        await store.close()


def test_declared_variables_memo_is_bounded_and_garbage_gets_no_key() -> None:
    declared = DeclaredVariables(max_tokens=100, memo_size=2)
    assert run_values(declared.operations("{"), None, {}) is None
    with pytest.raises(Rejection, match="operation"):
        choose_operation(declared.operations("query A { a } query B { b }"), None)
    assert declared.operations("query A { a } query A { b }") is None
    with pytest.raises(Rejection, match="operation"):
        choose_operation(declared.operations("query A { a }"), "Z")
    assert run_values(declared.operations("query A { a }"), "Z", {}) is None
    assert declared.operations("{ a }" + " a" * 200) is None  # past max_tokens
    operations = declared.operations("query A($x: Int = 1, $y: [Int] = [2]) { a }")
    assert choose_operation(operations, "A") == "A"
    assert run_values(operations, "A", {"z": 3}) == {"x": 1, "y": [2]}
    assert len(declared._memo) == 2


async def test_a_default_past_64_bits_is_answered_not_cached(gateway: GatewayClient) -> None:
    query = "query($n: Int = 99999999999999999999999) { customers(first: $n) { edges { cursor } } }"
    for _ in range(2):
        response = await gateway.http.post("/graphql", json={"query": query})
        # The status for a validation failure is the edge's business; it is never a 5xx.
        assert response.status_code < 500
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "x-response-cache" not in response.headers


async def test_redis_bookkeeping_that_lost_a_part_recovers_and_still_bounds(
    redis: RedisServer, redis_client: aioredis.Redis
) -> None:
    """Under `maxmemory-policy volatile-lru` Redis may evict one bookkeeping key on its own
    (they all have TTLs). Losing the sizes once made the byte total stick above the limit, the
    eviction loop run out of members and the script fail, degrading the store (found in
    review)."""
    store = CacheStore.from_url(redis.url)
    lru = bounded_store(store, Bounds(max_entries=10, max_bytes=300))
    try:
        for i in range(3):
            assert await lru.set("cg1:a:response", f"cg1:a:response:k{i}", b"x" * 100, 60)
        await redis_client.delete("cg1:a:response:sizes")  # as an eviction would
        for i in range(3, 8):
            assert await lru.set("cg1:a:response", f"cg1:a:response:k{i}", b"x" * 100, 60)
        assert not store.degraded
        keys = [f"cg1:a:response:k{i}" for i in range(8)]
        held = await present(lru, "cg1:a:response", keys)
        assert held[-1] == "cg1:a:response:k7"
        assert len(held) <= 3 + 3  # the three whose sizes were lost are evicted by count later
        total = await redis_client.hget("cg1:a:response:meta", "bytes")
        assert total is not None
        assert int(total) <= 300
    finally:
        await store.close()
