"""aiocache's memory backend, bounded per tenant.

aiocache's `SimpleMemoryCache` keeps every value until its TTL runs out, so a process's memory
grew with every distinct read, every entry of a retired generation and every webhook receipt.
Here the stored values of each tenant (the part of the key after `cg1:`) are kept within
`Bounds`, least recently used out first, so one tenant's traffic never evicts another's.
Counters (cache generations, kept by `increment`) are not values and are never evicted: an
evicted generation would bring a retired generation's entries back.

Usage: `CacheStore.from_url(None, memory_bounds=Bounds(20_000, 64 * 2**20))`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiocache import SimpleMemoryCache
from aiocache.backends.memory import SimpleMemoryBackend

from gateway.cache.bounded import Bounds

# The context expiry timers run in: no request's.
_NO_REQUEST = contextvars.Context()


@dataclass
class _Usage:
    # key -> stored size; first is least recently used.
    sizes: OrderedDict[str, int] = field(default_factory=OrderedDict)
    bytes: int = 0


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]
    """A `SimpleMemoryCache` whose byte values are bounded per tenant (see the module)."""

    def __init__(self, bounds: Bounds, **kwargs: Any) -> None:
        # No I/O, so no timeout: aiocache would otherwise run every operation under
        # `asyncio.wait_for`, a task and two event-loop trips per cache read on Python 3.11.
        kwargs.setdefault("timeout", None)
        super().__init__(**kwargs)
        self.bounds = bounds
        self._tenants: dict[str, _Usage] = {}

    async def _get(self, key: str, encoding: str = "utf-8", _conn: Any = None) -> Any:
        value = await super()._get(key, encoding=encoding, _conn=_conn)
        if value is not None:
            self._touch(key)
        return value

    async def _multi_get(self, keys: list[str], encoding: str = "utf-8", _conn: Any = None) -> Any:
        values = await super()._multi_get(keys, encoding=encoding, _conn=_conn)
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                self._touch(key)
        return values

    async def _set(
        self,
        key: str,
        value: Any,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> Any:
        # `multi_set` and `add` come through here too. The expiry is scheduled here rather
        # than by aiocache, whose timer copies the caller's context: an entry living ten
        # minutes kept the request that wrote it (its ledger, its spans) alive as long.
        stored = await super()._set(key, value, ttl=None, _cas_token=_cas_token, _conn=_conn)
        if stored:
            if ttl:
                self._handlers[key] = asyncio.get_running_loop().call_later(
                    ttl, self._SimpleMemoryBackend__delete, key, context=_NO_REQUEST
                )
            self._account(key, value)
        return stored

    def _SimpleMemoryBackend__delete(self, key: str) -> int:
        # Every removal, a `delete` or a TTL running out, ends here (aiocache's private
        # `__delete`): the accounting follows the store exactly.
        self._forget(key)
        removed: int = SimpleMemoryBackend._SimpleMemoryBackend__delete(self, key)
        return removed

    def delete_if(self, key: str, value: bytes) -> bool:
        """Delete `key` only while it holds `value`, in one step (no await between)."""
        if self._cache.get(key) != value:
            return False
        self._SimpleMemoryBackend__delete(key)
        return True

    def drop_prefix(self, prefix: str) -> int:
        """Remove every value whose key starts with `prefix` (a retired generation's entries);
        the number removed. Costs one pass over that tenant's keys."""
        usage = self._tenants.get(_tenant(prefix))
        if usage is None:
            return 0
        doomed = [k for k in usage.sizes if k.startswith(prefix)]
        for key in doomed:
            self._SimpleMemoryBackend__delete(key)
        return len(doomed)

    def _account(self, key: str, value: Any) -> None:
        self._forget(key)
        if not isinstance(value, bytes | bytearray):
            return
        usage = self._tenants.setdefault(_tenant(key), _Usage())
        if len(value) > self.bounds.max_bytes:
            self._SimpleMemoryBackend__delete(key)
            return
        usage.sizes[key] = len(value)
        usage.bytes += len(value)
        while len(usage.sizes) > self.bounds.max_entries or usage.bytes > self.bounds.max_bytes:
            self._SimpleMemoryBackend__delete(next(iter(usage.sizes)))

    def _touch(self, key: str) -> None:
        usage = self._tenants.get(_tenant(key))
        if usage is not None and key in usage.sizes:
            usage.sizes.move_to_end(key)

    def _forget(self, key: str) -> None:
        tenant = _tenant(key)
        usage = self._tenants.get(tenant)
        if usage is None:
            return
        size = usage.sizes.pop(key, None)
        if size is not None:
            usage.bytes -= size
        if not usage.sizes:
            del self._tenants[tenant]


def _tenant(key: str) -> str:
    """`cg1:<tenant>:…` → `<tenant>` (keys are tenant first, gateway/cache/keys.py)."""
    parts = key.split(":", 2)
    return parts[1] if len(parts) > 2 else ""


__all__ = ["BoundedMemoryCache"]
