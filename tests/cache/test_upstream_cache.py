"""UpstreamCache on its own: single-flight within an instance and across instances that share
one Redis, as two gateway processes do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gateway.cache.keys import Scope, entry_key
from gateway.cache.store import CacheStore
from gateway.cache.upstream import CachePolicy, Entry, UpstreamCache
from gateway.domain.customer import Provider
from tests.services import RedisServer, redis_server

POLICY = CachePolicy(ttl=60, stale_while_revalidate=0, stale_if_error=0)
SCOPE = Scope("t", Provider.LAGO, "org")


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def cache(url: str | None) -> UpstreamCache:
    return UpstreamCache(CacheStore.from_url(url), dict.fromkeys(Provider, POLICY), lock_lease=2)


class SlowFetch:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> Entry:
        self.calls += 1
        await asyncio.sleep(0.05)
        return Entry(200, b'{"customer": {}}')


async def test_concurrent_misses_in_one_instance_make_one_call() -> None:
    fetch, one = SlowFetch(), cache(None)
    entries = await asyncio.gather(*(one.fetch(SCOPE, "r", {"k": "v"}, fetch) for _ in range(30)))
    assert fetch.calls == 1
    assert {e.body for e in entries} == {b'{"customer": {}}'}


async def test_instances_sharing_redis_make_one_call_between_them(redis: RedisServer) -> None:
    instances = [cache(redis.url) for _ in range(3)]
    try:
        for round_ in range(10):
            fetch = SlowFetch()
            await asyncio.gather(
                *(c.fetch(SCOPE, "r", {"round": str(round_)}, fetch) for c in instances * 5)
            )
            assert fetch.calls == 1, f"round {round_}"
    finally:
        for c in instances:
            await c.store.close()


async def test_a_lock_taken_after_another_instance_filled_the_entry_does_not_refetch(
    redis: RedisServer,
) -> None:
    first, second = cache(redis.url), cache(redis.url)
    try:
        fetch = SlowFetch()
        await first.fetch(SCOPE, "r", {"k": "v"}, fetch)
        # `second` missed before `first` stored the entry and took the lock after `first` let
        # go of it: it must read the entry, not call again.
        key = entry_key(SCOPE, 0, "r", {"k": "v"})
        entry = await second._fill(key, fetch, POLICY)
        assert fetch.calls == 1
        assert entry.body == b'{"customer": {}}'
    finally:
        await first.store.close()
        await second.store.close()
