"""Work behind the requests: tasks that belong to no request.

Each runs in an empty context, so no request's ledger counts its calls and no request's
deadline bounds it; tests wait for them (`settled`), and the app cancels them when it stops
(`close`). Used by the upstream cache's stale-while-revalidate refreshes and by the kept
`sameAs` indexes.

Usage: `behind = Behind()`; `task = behind.start(coroutine)`; `await behind.settled()`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Behind:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(work, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settled(self) -> None:
        """Wait until none runs, including any one started meanwhile."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


__all__ = ["Behind"]
