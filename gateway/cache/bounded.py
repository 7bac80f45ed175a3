"""Per-tenant bounded stores: at most N entries and B bytes per namespace, least recently
used out first.

A namespace is one tenant's share of one kind of entry (its whole responses, its APQ
registrations): `cg1:<tenant>:response`, `cg1:<tenant>:apq`. Reading an entry marks it used;
storing one past either limit evicts that namespace's least recently used entries, and never
another namespace's; an entry larger than B is not stored. Bytes are the stored value's length.

Usage: `lru = bounded_store(store, Bounds(1000, 32 * 2**20))`, then
`await lru.set(namespace, key, value, ttl)` and `await lru.get(namespace, key)`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # Only named in annotations: the store itself is bounded with `Bounds` from here.
    from gateway.cache.store import CacheStore


@dataclass(frozen=True, slots=True)
class Bounds:
    """The most one namespace may hold."""

    max_entries: int
    max_bytes: int


class BoundedStore(Protocol):
    async def get(self, namespace: str, key: str) -> bytes | None: ...

    async def set(self, namespace: str, key: str, value: bytes, ttl: float) -> bool:
        """Store `value` for `ttl` seconds; False when it is not stored."""
        ...


def bounded_store(store: CacheStore, bounds: Bounds) -> BoundedStore:
    """Redis when the store is Redis (one LRU shared by every process), memory otherwise."""
    if store.kind == "memory":
        return MemoryBoundedStore(bounds)
    return RedisBoundedStore(store, bounds)


def namespace_of(key: str) -> str:
    """The namespace of an entry key: everything before its last `:` (the entry's own part)."""
    return key.rpartition(":")[0]


@dataclass
class _Namespace:
    # key -> (value, expires at); first is least recently used.
    entries: OrderedDict[str, tuple[bytes, float]] = field(default_factory=OrderedDict)
    bytes: int = 0

    def forget(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.bytes -= len(entry[0])


class MemoryBoundedStore:
    """One process's LRU per namespace. An expired entry leaves on its next read or when it
    is the least recently used; either way the limits hold, expired entries included."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self.clock = clock
        self._namespaces: dict[str, _Namespace] = {}

    async def get(self, namespace: str, key: str) -> bytes | None:
        space = self._namespaces.get(namespace)
        entry = space.entries.get(key) if space else None
        if space is None or entry is None:
            return None
        if entry[1] <= self.clock():
            self._forget(namespace, space, key)
            return None
        space.entries.move_to_end(key)
        return entry[0]

    async def set(self, namespace: str, key: str, value: bytes, ttl: float) -> bool:
        space = self._namespaces.setdefault(namespace, _Namespace())
        space.forget(key)
        if len(value) > self.bounds.max_bytes:
            self._drop_if_empty(namespace, space)
            return False
        space.entries[key] = (value, self.clock() + ttl)
        space.bytes += len(value)
        while len(space.entries) > self.bounds.max_entries or space.bytes > self.bounds.max_bytes:
            space.forget(next(iter(space.entries)))
        return True

    def usage(self, namespace: str) -> tuple[int, int]:
        """Entries and bytes held for `namespace`, expired ones included."""
        space = self._namespaces.get(namespace)
        return (len(space.entries), space.bytes) if space else (0, 0)

    def _forget(self, namespace: str, space: _Namespace, key: str) -> None:
        space.forget(key)
        self._drop_if_empty(namespace, space)

    def _drop_if_empty(self, namespace: str, space: _Namespace) -> None:
        if not space.entries:
            self._namespaces.pop(namespace, None)


# Lua rather than MULTI: eviction must read (the least recently used member, the running
# byte total) and act on what it read in the same atomic step, which MULTI cannot do without
# WATCH-and-retry loops that contend between processes. Per namespace:
#   <ns>:lru    sorted set of entry keys, scored by a use counter (deterministic, unlike TIME)
#   <ns>:sizes  hash of entry key -> stored bytes
#   <ns>:meta   hash: `tick` (the use counter) and `bytes` (the running total)
# The bookkeeping never holds more members than the entry limit, and expires no earlier
# than the longest-lived entry stored (PEXPIRE on each store), so an idle tenant's
# bookkeeping leaves with its entries. An entry that expired by TTL keeps its bookkeeping
# until eviction reaches it (it is then the least recently used, or close).
# The evicted keys are not declared in KEYS, so this is for a single Redis, not a cluster.
_GET = """
local value = redis.call('GET', KEYS[1])
if value and redis.call('ZSCORE', KEYS[2], KEYS[1]) then
  redis.call('ZADD', KEYS[2], 'XX', redis.call('HINCRBY', KEYS[3], 'tick', 1), KEYS[1])
end
return value
"""

_SET = """
local key, lru, sizes, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local value, ttl = ARGV[1], tonumber(ARGV[2])
local max_entries, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local function forget(member)
  local size = redis.call('HGET', sizes, member)
  if size then
    redis.call('HDEL', sizes, member)
    redis.call('HINCRBY', meta, 'bytes', -tonumber(size))
  end
  redis.call('ZREM', lru, member)
end
forget(key)
local size = string.len(value)
if size > max_bytes then
  redis.call('DEL', key)
  return 0
end
redis.call('SET', key, value, 'PX', ttl)
redis.call('ZADD', lru, redis.call('HINCRBY', meta, 'tick', 1), key)
redis.call('HSET', sizes, key, size)
local total = redis.call('HINCRBY', meta, 'bytes', size)
-- The new entry is the most recently used and fits alone, so it is never the one evicted.
while redis.call('ZCARD', lru) > max_entries or total > max_bytes do
  local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
  if not oldest or oldest == key then
    -- Only the new entry is left yet the total says too much: part of the bookkeeping was
    -- evicted by Redis itself (volatile-lru). Count the bytes afresh from what is known.
    total = 0
    for _, known in ipairs(redis.call('HVALS', sizes)) do
      total = total + tonumber(known)
    end
    redis.call('HSET', meta, 'bytes', total)
    break
  end
  forget(oldest)
  redis.call('DEL', oldest)
  total = tonumber(redis.call('HGET', meta, 'bytes'))
end
for _, name in ipairs({lru, sizes, meta}) do
  if redis.call('PTTL', name) < ttl then
    redis.call('PEXPIRE', name, ttl)
  end
end
return 1
"""


class RedisBoundedStore:
    """The LRU kept in Redis, so every process shares one set of limits per namespace. When
    Redis fails, reads miss and writes are dropped (the store degrades, as everywhere)."""

    def __init__(self, store: CacheStore, bounds: Bounds) -> None:
        self.store = store
        self.bounds = bounds

    async def get(self, namespace: str, key: str) -> bytes | None:
        value = await self.store.run_script(
            _GET, [key, f"{namespace}:lru", f"{namespace}:meta"], []
        )
        return value if isinstance(value, bytes) else None

    async def set(self, namespace: str, key: str, value: bytes, ttl: float) -> bool:
        stored = await self.store.run_script(
            _SET,
            [key, f"{namespace}:lru", f"{namespace}:sizes", f"{namespace}:meta"],
            [value, max(1, round(ttl * 1000)), self.bounds.max_entries, self.bounds.max_bytes],
        )
        return bool(stored == 1)


__all__ = [
    "BoundedStore",
    "Bounds",
    "MemoryBoundedStore",
    "RedisBoundedStore",
    "bounded_store",
    "namespace_of",
]
