"""Read-through caching of upstream responses, with freshness windows and single-flight.

An entry is fresh for `ttl`; for `stale_while_revalidate` more it is served while one
background refresh runs; for `stale_if_error` more it is served only when the provider fails
(and the request is told so). Concurrent misses for one key make one upstream call: within a
process through a shared task, across processes (Redis) through a short lease lock.

Entries are bytes (status, time stored, body), so no caller can mutate a shared entry.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from gateway.cache.decoded import Decoded
from gateway.cache.keys import Scope, entry_key, generation_key, lock_key
from gateway.cache.store import CacheStore
from gateway.domain.customer import Provider
from gateway.errors import UpstreamError
from gateway.ledger import count_lookup, current_ledger, note_freshness
from gateway.observability.tracing import tracer

log = logging.getLogger("gateway.cache")
# How often a process waiting on another process's fetch looks for the result.
POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl: float
    stale_while_revalidate: float
    stale_if_error: float

    @property
    def lifetime(self) -> float:
        """How long the store keeps an entry: as long as any window may still use it."""
        return self.ttl + max(self.stale_while_revalidate, self.stale_if_error)


@dataclass(frozen=True, slots=True)
class Entry:
    """What the provider answered: 200 with a body, or 404 (cached too: "no such customer")."""

    status: int
    body: bytes
    stored_at: float = 0.0

    def encode(self) -> bytes:
        return f"{self.status} {self.stored_at!r}\n".encode() + self.body

    @classmethod
    def decode(cls, raw: bytes | None) -> Entry | None:
        if raw is None:
            return None
        header, _, body = raw.partition(b"\n")
        try:
            status, stored_at = header.split(b" ")
            return cls(int(status), body, float(stored_at))
        except ValueError:
            return None


Fetch = Callable[[], Awaitable[Entry]]


class UpstreamCache:
    """Usage: `entry = await cache.fetch(scope, "customer", {"id": x}, fetch)`."""

    def __init__(
        self,
        store: CacheStore,
        policies: Mapping[Provider, CachePolicy],
        *,
        lock_lease: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policies = policies
        self.lock_lease = lock_lease
        self.clock = clock
        self._inflight: dict[str, asyncio.Future[Entry]] = {}
        # Parsed answers, shared read-only: providers parse a cached body once per process.
        self.decoded = Decoded()
        self._background: set[asyncio.Task[Entry]] = set()

    async def fetch(
        self, scope: Scope, resource: str, params: Mapping[str, str], fetch: Fetch
    ) -> Entry:
        with tracer.start_as_current_span(
            "cache.fetch",
            attributes={
                "gateway.provider": scope.provider.value,
                "gateway.tenant": scope.tenant,
                "gateway.resource": resource,
                "gateway.cache_hit": False,
            },
        ) as span:
            entry, hit = await self._fetch(scope, resource, params, fetch)
            span.set_attribute("gateway.cache_hit", hit)
            return entry

    async def _fetch(
        self, scope: Scope, resource: str, params: Mapping[str, str], fetch: Fetch
    ) -> tuple[Entry, bool]:
        policy = self.policies[scope.provider]
        key = entry_key(scope, await self.generation(scope), resource, params)
        entry = Entry.decode(await self.store.get(key))
        age = self.clock() - entry.stored_at if entry else 0.0
        if entry is not None and age < policy.ttl + policy.stale_while_revalidate:
            count_lookup(scope.provider, hit=True)
            note_freshness(policy.ttl - age)
            if age >= policy.ttl:
                self._refresh(key, fetch, policy)
            return entry, True
        count_lookup(scope.provider, hit=False)
        try:
            fetched = await self._single_flight(key, fetch, policy)
            note_freshness(policy.ttl - (self.clock() - fetched.stored_at))
            return fetched, False
        except UpstreamError:
            if entry is None or age >= policy.ttl + policy.stale_if_error:
                raise
            if (ledger := current_ledger()) is not None:
                ledger.stale_served.add(scope.provider)
            return entry, True

    async def lookup_many(
        self, scope: Scope, resource: str, params: list[Mapping[str, str]]
    ) -> list[Entry | None]:
        """Fresh entries for several reads in one round trip; None where there is none."""
        policy = self.policies[scope.provider]
        generation = await self.generation(scope)
        raws = await self.store.multi_get(
            [entry_key(scope, generation, resource, p) for p in params]
        )
        now = self.clock()
        found: list[Entry | None] = []
        for raw in raws:
            entry = Entry.decode(raw)
            fresh = entry is not None and now - entry.stored_at < policy.ttl
            count_lookup(scope.provider, hit=fresh)
            if entry is not None and fresh:
                note_freshness(policy.ttl - (now - entry.stored_at))
            found.append(entry if fresh else None)
        return found

    async def peek(self, scope: Scope, resource: str, params: Mapping[str, str]) -> Entry | None:
        """The stored entry at any age, uncounted: for webhooks, which serve no read."""
        key = entry_key(scope, await self.generation(scope), resource, params)
        return Entry.decode(await self.store.get(key))

    async def put(
        self, scope: Scope, resource: str, params: Mapping[str, str], status: int, body: bytes
    ) -> None:
        """Store what a provider said elsewhere (a list page, a webhook) under a read's key."""
        await self.put_many(scope, resource, [(params, status, body)])

    async def put_many(
        self,
        scope: Scope,
        resource: str,
        entries: Sequence[tuple[Mapping[str, str], int, bytes]],
    ) -> None:
        policy = self.policies[scope.provider]
        generation = await self.generation(scope)
        now = self.clock()
        await self.store.multi_set(
            [
                (entry_key(scope, generation, resource, params), Entry(status, body, now).encode())
                for params, status, body in entries
            ],
            policy.lifetime,
        )

    async def generation(self, scope: Scope) -> int:
        ledger = current_ledger()
        memo_key = (scope.tenant, scope.provider, scope.scope)
        if ledger is not None and memo_key in ledger.generations:
            return ledger.generations[memo_key]
        raw = await self.store.get_number(generation_key(scope))
        generation = raw or 0
        if ledger is not None:
            ledger.generations[memo_key] = generation
        return generation

    async def retire(self, scope: Scope) -> None:
        """Make every entry of `scope` unreachable (they expire on their own)."""
        await self.store.increment(generation_key(scope))
        if (ledger := current_ledger()) is not None:
            ledger.generations.pop((scope.tenant, scope.provider, scope.scope), None)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _single_flight(self, key: str, fetch: Fetch, policy: CachePolicy) -> Awaitable[Entry]:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fill(key, fetch, policy))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        # Shielded: one waiter giving up must not cancel the fetch the others wait on.
        return asyncio.shield(future)

    def _refresh(self, key: str, fetch: Fetch, policy: CachePolicy) -> None:
        if key in self._inflight:
            return
        # An empty context: the refresh belongs to no request's ledger.
        task = asyncio.get_running_loop().create_task(
            self._fill(key, fetch, policy), context=contextvars.Context()
        )
        self._inflight[key] = task
        self._background.add(task)
        task.add_done_callback(self._refreshed(key))

    def _refreshed(self, key: str) -> Callable[[asyncio.Task[Entry]], None]:
        def done(task: asyncio.Task[Entry]) -> None:
            self._inflight.pop(key, None)
            self._background.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.info("background refresh failed: %s", type(task.exception()).__name__)

        return done

    async def _fill(self, key: str, fetch: Fetch, policy: CachePolicy) -> Entry:
        locked = False
        if self.store.kind != "memory":
            locked = await self.store.add(lock_key(key), b"1", self.lock_lease)
            if not locked and not self.store.degraded:
                waited = await self._wait_for_other_process(key, policy)
                if waited is not None:
                    return waited
            elif locked:
                # Another process may have filled the entry and let go of the lock between
                # our miss and our taking the lock: look once more before calling.
                filled = Entry.decode(await self.store.get(key))
                if filled is not None and self.clock() - filled.stored_at < policy.ttl:
                    await self.store.delete(lock_key(key))
                    return filled
        try:
            fetched = await fetch()
            entry = Entry(fetched.status, fetched.body, self.clock())
            await self.store.set(key, entry.encode(), policy.lifetime)
            return entry
        finally:
            if locked:
                await self.store.delete(lock_key(key))

    async def _wait_for_other_process(self, key: str, policy: CachePolicy) -> Entry | None:
        deadline = time.monotonic() + self.lock_lease
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            entry = Entry.decode(await self.store.get(key))
            if entry is not None and self.clock() - entry.stored_at < policy.ttl:
                return entry
        # The other process did not deliver within its lease: fetch ourselves.
        return None


__all__ = ["CachePolicy", "Entry", "Fetch", "UpstreamCache"]
