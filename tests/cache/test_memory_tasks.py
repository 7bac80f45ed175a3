"""The memory backend does no I/O, so its operations run inline: no task, no timeout, no trip
through the event loop per operation (aiocache's default wraps each in `asyncio.wait_for`,
which on Python 3.11 is a new task and two loop iterations on every cache read)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from gateway.cache.store import CacheStore


async def tasks_created_by(work: Coroutine[Any, Any, Any]) -> int:
    loop = asyncio.get_running_loop()
    created = 0
    previous = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any]
    ) -> asyncio.Future[Any]:
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop)

    loop.set_task_factory(counting)
    try:
        await work
    finally:
        loop.set_task_factory(previous)
    return created


async def test_memory_reads_and_writes_create_no_task() -> None:
    store = CacheStore.from_url(None)

    async def operations() -> None:
        await store.set("cg1:t:x", b"1", 60)
        assert await store.get("cg1:t:x") == b"1"
        assert await store.multi_get(["cg1:t:x", "cg1:t:y"]) == [b"1", None]
        assert await store.multi_get_numbers(["cg1:t:n"]) == [0]

    assert await tasks_created_by(operations()) == 0


async def test_the_redis_fallback_is_inline_too() -> None:
    store = CacheStore.from_url("redis://127.0.0.1:1/0")
    assert store.fallback is not None
    fallback = store.fallback

    async def operations() -> None:
        await fallback.set("cg1:t:x", b"1", ttl=60)
        assert await fallback.get("cg1:t:x") == b"1"

    assert await tasks_created_by(operations()) == 0
    await store.close()
