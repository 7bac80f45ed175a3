"""A byte store over aiocache that never fails a request.

Memory by default; Redis when a URL is configured, so several processes share entries. When
Redis errors, the store logs once, reports itself degraded, and serves from a bounded cache in
this process for a short pause before trying Redis again: an outage costs sharing, not caching
(every replica would otherwise send all its reads upstream at once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from aiocache import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer

from gateway.cache.bounded import Bounds
from gateway.cache.memory import BoundedMemoryCache
from gateway.settings.model import CacheSettings

log = logging.getLogger("gateway.cache")

# How long a failed backend is left alone before the next attempt.
RETRY_PAUSE_SECONDS = 5.0
# A Redis round trip slower than this counts as a failure: a slow cache must not slow reads.
OPERATION_TIMEOUT_SECONDS = 0.5
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# What the memory backend holds per tenant unless told otherwise (the settings' defaults).
MEMORY_BOUNDS = Bounds(
    CacheSettings().memory_max_entries_per_tenant, CacheSettings().memory_max_bytes_per_tenant
)


class _Bytes(BaseSerializer):
    DEFAULT_ENCODING = None

    def dumps(self, value: Any) -> Any:
        return value

    def loads(self, value: Any) -> Any:
        return value


class _RedisCache(RedisCache):
    """aiocache's Redis backend, minus the redis-py calls it makes that redis-py deprecated
    (`setex`/`psetex` and `close`)."""

    async def _set(
        self,
        key: str,
        value: bytes,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> Any:
        if _cas_token is not None or ttl is None:
            return await super()._set(key, value, ttl, _cas_token, _conn)
        return await self.client.set(key, value, px=int(ttl * 1000))

    async def _close(self, *args: Any, _conn: Any = None, **kwargs: Any) -> None:
        await self.client.aclose(close_connection_pool=True)


class CacheStore:
    """Usage: `store = CacheStore.from_url(settings.cache.url)`; values are bytes."""

    def __init__(
        self,
        backend: BaseCache,
        kind: str,
        clock: Callable[[], float] = time.monotonic,
        fallback: BoundedMemoryCache | None = None,
    ) -> None:
        self.backend = backend
        # Reads of the memory backend skip aiocache's per-call layers (its enabled switch,
        # timeout and plugin hooks, none of which the gateway uses): no I/O, and the response
        # cache's fast path reads it twice per request.
        self._memory = backend if isinstance(backend, BoundedMemoryCache) else None
        # Where operations go while the backend is down (Redis only): entries of this process.
        self.fallback = fallback
        self.kind = kind
        self._clock = clock
        self._down_until = 0.0
        self.last_error: str | None = None
        # Operations that did not reach the backend (failed, or skipped while degraded). Only
        # grows: a caller compares it before and after its writes to know they all happened,
        # which `degraded` cannot say once a health check has cleared it.
        self.unavailable = 0
        # redis-py script objects by source: EVALSHA, and EVAL only when Redis lacks the script.
        self._scripts: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str | None, *, memory_bounds: Bounds = MEMORY_BOUNDS) -> CacheStore:
        """Redis for a URL; otherwise memory, holding at most `memory_bounds` per tenant."""
        if not url:
            return cls(BoundedMemoryCache(memory_bounds, serializer=_Bytes()), "memory")
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError("cache.url must be a redis:// or rediss:// URL")
        backend = _RedisCache(
            serializer=_Bytes(),
            endpoint=parsed.hostname or "127.0.0.1",
            port=parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 0),
            password=parsed.password,
            ssl=parsed.scheme == "rediss",
            timeout=OPERATION_TIMEOUT_SECONDS,
            create_connection_timeout=OPERATION_TIMEOUT_SECONDS,
        )
        fallback = BoundedMemoryCache(memory_bounds, serializer=_Bytes())
        return cls(backend, "redis", fallback=fallback)

    @property
    def degraded(self) -> bool:
        return self._clock() < self._down_until

    async def get(self, key: str) -> bytes | None:
        if self._memory is not None:
            value = await self._memory._get(key)
        else:
            value = await self._call("get", key)
        return value if isinstance(value, bytes) else None

    async def get_number(self, key: str) -> int | None:
        """A counter kept by `increment` (Redis returns it as bytes, memory as an int)."""
        value = await self._call("get", key)
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._call("set", key, value, ttl=_ttl(ttl))

    async def multi_get(self, keys: list[str]) -> list[bytes | None]:
        values = await self._call("multi_get", keys) if keys else []
        if values is None:
            return [None] * len(keys)
        return [v if isinstance(v, bytes) else None for v in values]

    async def multi_get_numbers(self, keys: list[str]) -> list[int]:
        """Counters kept by `increment`, 0 where absent (or when the backend is down)."""
        if self._memory is not None:
            values = await self._memory._multi_get(keys) if keys else []
        else:
            values = await self._call("multi_get", keys) if keys else []
        numbers = []
        for value in values or [None] * len(keys):
            try:
                numbers.append(int(value) if value is not None else 0)
            except (TypeError, ValueError):
                numbers.append(0)
        return numbers

    async def multi_set(self, pairs: list[tuple[str, bytes]], ttl: float) -> None:
        if pairs:
            await self._call("multi_set", pairs, ttl=_ttl(ttl))

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set `key` only if absent; False when it exists (or the backend is down)."""
        if not self.degraded:
            try:
                await self.backend.add(key, value, ttl=_ttl(ttl))
            except ValueError:
                return False
            except Exception as exc:  # noqa: BLE001 - any backend failure degrades, never fails
                self._failed("add", exc)
            else:
                return True
        else:
            self.unavailable += 1
        if self.fallback is None:
            return False
        try:
            await self.fallback.add(key, value, ttl=_ttl(ttl))
        except ValueError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    async def delete_if(self, key: str, value: bytes) -> None:
        """Delete `key` only while it still holds `value` (a lock's owner token), atomically."""
        if isinstance(self.backend, BoundedMemoryCache):
            self.backend.delete_if(key, value)
            return
        await self.eval(_DELETE_IF, [key], [value])
        if self.fallback is not None:
            # The lock may have been taken here while Redis was down.
            self.fallback.delete_if(key, value)

    async def forget_prefix(self, prefix: str) -> None:
        """Drop every entry under `prefix` now, where the backend can do it cheaply (memory);
        Redis lets them expire, within its own `maxmemory` policy."""
        if isinstance(self.backend, BoundedMemoryCache):
            self.backend.drop_prefix(prefix)

    async def increment(self, key: str) -> int | None:
        value = await self._call("increment", key, 1)
        return int(value) if value is not None else None

    async def eval(self, script: str, keys: list[str], args: list[object]) -> str | None:
        """Run a Lua script on Redis; None on the memory backend or when Redis fails."""
        client = getattr(self.backend, "client", None)
        if client is None or self.degraded:
            return None
        try:
            result = await client.eval(script, len(keys), *keys, *args)
        except Exception as exc:  # noqa: BLE001 - a failing Redis degrades, never fails
            self._failed("eval", exc)
            return None
        return result.decode() if isinstance(result, bytes) else str(result)

    async def run_script(self, script: str, keys: list[str], args: list[object]) -> Any:
        """Run a Lua script on Redis and return its raw reply (bytes stay bytes); None on the
        memory backend, while degraded, or when Redis fails."""
        client = getattr(self.backend, "client", None)
        if client is None or self.degraded:
            return None
        runner = self._scripts.get(script)
        if runner is None:
            runner = self._scripts[script] = client.register_script(script)
        try:
            # aiocache's own timeout does not cover a direct client call.
            async with asyncio.timeout(OPERATION_TIMEOUT_SECONDS):
                return await runner(keys=keys, args=args)
        except Exception as exc:  # noqa: BLE001 - a failing Redis degrades, never fails
            self._failed("script", exc)
            return None

    async def ping(self) -> bool:
        """Try the backend now, even while degraded; used by health checks."""
        try:
            await self.backend.exists("cg1:ping")
        except Exception as exc:  # noqa: BLE001
            self._failed("ping", exc)
            return False
        self._down_until = 0.0
        return True

    async def close(self) -> None:
        try:
            await self.backend.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("cache backend did not close cleanly: %s", type(exc).__name__)

    async def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        if not self.degraded:
            try:
                return await getattr(self.backend, operation)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                self._failed(operation, exc)
        else:
            self.unavailable += 1
        if self.fallback is None:
            return None
        return await getattr(self.fallback, operation)(*args, **kwargs)

    def _failed(self, operation: str, exc: Exception) -> None:
        self.unavailable += 1
        if not self.degraded:
            log.warning(
                "cache backend (%s) failed on %s (%s); serving from this process for %.0fs",
                self.kind,
                operation,
                type(exc).__name__,
                RETRY_PAUSE_SECONDS,
            )
        self.last_error = type(exc).__name__
        self._down_until = self._clock() + RETRY_PAUSE_SECONDS


def _ttl(seconds: float) -> float:
    # A float keeps millisecond precision in Redis (PX); zero would mean "forever".
    return max(0.001, float(seconds))


__all__ = ["OPERATION_TIMEOUT_SECONDS", "RETRY_PAUSE_SECONDS", "CacheStore"]
