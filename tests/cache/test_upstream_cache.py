"""UpstreamCache on its own: single-flight within an instance and across instances that share
one Redis, as two gateway processes do; and every wait on someone else's fetch stopping at
the waiting request's deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from gateway.cache.entry import CachePolicy, Entry
from gateway.cache.keys import Account, entry_key
from gateway.cache.read import Read
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.errors import UpstreamTimeout
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from tests.services import RedisServer, redis_server

POLICY = CachePolicy(ttl=60, stale_while_revalidate=0, stale_if_error=0)
SCOPE = Account("t", LAGO, "org")


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def cache(url: str | None) -> UpstreamCache:
    return UpstreamCache(
        CacheStore.from_url(url), dict.fromkeys((LAYER, CODAT, LAGO), POLICY), lock_lease=2
    )


def accept(entry: Entry) -> None:
    """A reader that takes any body (these tests are about who fetches, not what)."""


class Left:
    """A request deadline with a fixed number of seconds left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def remaining(self) -> float:
        return self.seconds


class SlowFetch:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> Entry:
        self.calls += 1
        await asyncio.sleep(0.05)
        return Entry(200, b'{"customer": {}}')


async def test_concurrent_misses_in_one_instance_make_one_call() -> None:
    fetch, one = SlowFetch(), cache(None)
    entries = await asyncio.gather(
        *(one.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept) for _ in range(30))
    )
    assert fetch.calls == 1
    assert {e.body for e in entries} == {b'{"customer": {}}'}


async def test_instances_sharing_redis_make_one_call_between_them(redis: RedisServer) -> None:
    instances = [cache(redis.url) for _ in range(3)]
    try:
        for round_ in range(10):
            fetch = SlowFetch()
            await asyncio.gather(
                *(
                    c.fetch(SCOPE, "r", {"round": str(round_)}, fetch, validate=accept)
                    for c in instances * 5
                )
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
        await first.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept)
        # `second` missed before `first` stored the entry and took the lock after `first` let
        # go of it: it must read the entry, not call again.
        key = entry_key(SCOPE, 0, "r", {"k": "v"})
        entry = await second._fill(Read(key, SCOPE.provider, POLICY, fetch, accept, Left(8)))
        assert fetch.calls == 1
        assert entry.body == b'{"customer": {}}'
    finally:
        await first.store.close()
        await second.store.close()


class HeldFetch:
    """A fetch that answers only when released, as a slow provider or refresh would."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> Entry:
        self.calls += 1
        await self.release.wait()
        return Entry(200, b'{"customer": {}}')


async def test_a_waiter_on_a_shared_fetch_stops_at_its_own_deadline() -> None:
    one, fetch = cache(None), HeldFetch()
    first = asyncio.create_task(
        one.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept, deadline=Left(8))
    )
    await asyncio.sleep(0)
    # Guard only: today this waiter got the entry once the fetch was released, a second on.
    asyncio.get_running_loop().call_later(1.0, fetch.release.set)
    with pytest.raises(UpstreamTimeout) as raised:
        await one.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept, deadline=Left(0.01))
    assert raised.value.provider is LAGO
    # The shared fetch goes on for the request that started it, and is made once.
    fetch.release.set()
    assert (await first).body == b'{"customer": {}}'
    assert fetch.calls == 1


async def test_a_waiter_with_no_time_left_does_not_wait_at_all() -> None:
    one, fetch = cache(None), HeldFetch()
    first = asyncio.create_task(one.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(1.0, fetch.release.set)
    with pytest.raises(UpstreamTimeout):
        await one.fetch(SCOPE, "r", {"k": "v"}, fetch, validate=accept, deadline=Left(-1))
    fetch.release.set()
    await first


async def test_waiting_for_another_process_stops_at_the_deadline(redis: RedisServer) -> None:
    """Another process holds the fetch lease (2 s); a request with 50 ms left gets
    UPSTREAM_TIMEOUT by then, and does not call the provider itself."""
    one = cache(redis.url)
    try:
        key = entry_key(SCOPE, 0, "r", {"k": "v"})
        assert await one.store.add(f"{key}:lock", b"1", 2)
        fetch = SlowFetch()
        with pytest.raises(UpstreamTimeout):
            await one._fill(Read(key, SCOPE.provider, POLICY, fetch, accept, Left(0.05)))
        assert fetch.calls == 0
    finally:
        await one.store.close()


async def test_a_lease_shorter_than_the_deadline_is_waited_out_then_fetched(
    redis: RedisServer,
) -> None:
    one = UpstreamCache(
        CacheStore.from_url(redis.url), dict.fromkeys((LAYER, CODAT, LAGO), POLICY), lock_lease=0.05
    )
    try:
        key = entry_key(SCOPE, 0, "r", {"k": "v"})
        assert await one.store.add(f"{key}:lock", b"1", 2)
        fetch = SlowFetch()
        entry = await one._fill(Read(key, SCOPE.provider, POLICY, fetch, accept, Left(8)))
        assert entry.body == b'{"customer": {}}'
        assert fetch.calls == 1
    finally:
        await one.store.close()
