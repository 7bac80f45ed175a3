"""Read-through caching of upstream responses, with freshness windows and single-flight.

An entry is fresh for `ttl`; for `stale_while_revalidate` more it is served while one
background refresh runs; for `stale_if_error` more it is served only when the provider fails
(and the request is told so). Concurrent misses for one key make one upstream call: within a
process through a shared task, across processes (Redis) through a short lease lock.

Entries are bytes (status, time stored, body), so no caller can mutate a shared entry.

Only answers the provider's reader accepts are stored: every read names a `validate` that
parses the body (into the shared `Decoded` memo, so the parse is not repeated) and raises
`UpstreamBadResponse` for a body that is garbage or of the wrong shape. Such an answer is
never stored and never replaces a good entry, so stale-if-error keeps serving the good one;
bytes in the store that do not validate (from an older version, say) count as a miss.

Every wait a read makes on someone else's work (the shared task of a concurrent miss, the
lease of another process) ends when the request's deadline does, with `UpstreamTimeout`.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.cache.decoded import Decoded
from gateway.cache.keys import Account, entry_key, generation_key, generation_prefix, lock_key
from gateway.cache.store import CacheStore
from gateway.domain.provider import Provider
from gateway.errors import UpstreamError, UpstreamTimeout
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
# Raises an UpstreamError (UpstreamBadResponse) when a 200's body is not what the reader needs.
Validate = Callable[[Entry], object]


class Deadline(Protocol):
    """What a read may still wait: `gateway.resilience.policy.Timer` is one."""

    def remaining(self) -> float: ...


class _Unbounded:
    def remaining(self) -> float:
        return math.inf


UNBOUNDED: Deadline = _Unbounded()


@dataclass(frozen=True, slots=True)
class _Read:
    """One read-through: where, how to fetch, how to check, and how long it may wait."""

    key: str
    provider: Provider
    policy: CachePolicy
    fetch: Fetch
    validate: Validate
    deadline: Deadline


class UpstreamCache:
    """Usage: `entry = await cache.fetch(account, "customer", {"id": x}, fetch, validate=v,
    deadline=timer)`."""

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
        self,
        account: Account,
        resource: str,
        params: Mapping[str, str],
        fetch: Fetch,
        *,
        validate: Validate,
        deadline: Deadline = UNBOUNDED,
    ) -> Entry:
        with tracer.start_as_current_span(
            "cache.fetch",
            attributes={
                "gateway.provider": account.provider.value,
                "gateway.tenant": account.tenant,
                "gateway.resource": resource,
                "gateway.cache_hit": False,
            },
        ) as span:
            key = entry_key(account, await self.generation(account), resource, params)
            read = _Read(
                key, account.provider, self.policies[account.provider], fetch, validate, deadline
            )
            entry, hit = await self._fetch(read)
            span.set_attribute("gateway.cache_hit", hit)
            return entry

    async def _fetch(self, read: _Read) -> tuple[Entry, bool]:
        policy, provider = read.policy, read.provider
        entry = self._usable(Entry.decode(await self.store.get(read.key)), read.validate)
        age = self.clock() - entry.stored_at if entry else 0.0
        if entry is not None and age < policy.ttl + policy.stale_while_revalidate:
            count_lookup(provider, hit=True)
            note_freshness(policy.ttl - age)
            if age >= policy.ttl:
                self._refresh(read)
            return entry, True
        count_lookup(provider, hit=False)
        try:
            fetched = await self._single_flight(read)
            note_freshness(policy.ttl - (self.clock() - fetched.stored_at))
            return fetched, False
        except UpstreamError:
            if entry is None or age >= policy.ttl + policy.stale_if_error:
                raise
            if (ledger := current_ledger()) is not None:
                ledger.stale_served.add(provider)
            return entry, True

    async def lookup_many(
        self,
        account: Account,
        resource: str,
        params: list[Mapping[str, str]],
        *,
        validate: Validate,
    ) -> list[Entry | None]:
        """Fresh, valid entries for several reads in one round trip; None where there is none."""
        policy = self.policies[account.provider]
        generation = await self.generation(account)
        raws = await self.store.multi_get(
            [entry_key(account, generation, resource, p) for p in params]
        )
        now = self.clock()
        found: list[Entry | None] = []
        for raw in raws:
            entry = self._usable(Entry.decode(raw), validate)
            fresh = entry is not None and now - entry.stored_at < policy.ttl
            count_lookup(account.provider, hit=fresh)
            if entry is not None and fresh:
                note_freshness(policy.ttl - (now - entry.stored_at))
            found.append(entry if fresh else None)
        return found

    async def peek(
        self, account: Account, resource: str, params: Mapping[str, str]
    ) -> Entry | None:
        """The stored entry at any age, uncounted: for webhooks, which serve no read."""
        key = entry_key(account, await self.generation(account), resource, params)
        return Entry.decode(await self.store.get(key))

    async def put(
        self, account: Account, resource: str, params: Mapping[str, str], status: int, body: bytes
    ) -> None:
        """Store what a provider said elsewhere (a list page, a webhook) under a read's key.
        The caller has validated `body` already (reads treat bytes that fail as a miss)."""
        await self.put_many(account, resource, [(params, status, body)])

    async def put_new(
        self, account: Account, resource: str, params: Mapping[str, str], status: int, body: bytes
    ) -> bool:
        """`put`, unless the entry exists already; False then. After a `retire`, an entry in
        the new generation can only come from a read that fetched since, so it is at least as
        new as anything the caller holds, and must win."""
        policy = self.policies[account.provider]
        key = entry_key(account, await self.generation(account), resource, params)
        return await self.store.add(
            key, Entry(status, body, self.clock()).encode(), policy.lifetime
        )

    async def put_many(
        self,
        account: Account,
        resource: str,
        entries: Sequence[tuple[Mapping[str, str], int, bytes]],
    ) -> None:
        policy = self.policies[account.provider]
        generation = await self.generation(account)
        now = self.clock()
        await self.store.multi_set(
            [
                (
                    entry_key(account, generation, resource, params),
                    Entry(status, body, now).encode(),
                )
                for params, status, body in entries
            ],
            policy.lifetime,
        )

    async def generation(self, account: Account) -> int:
        ledger = current_ledger()
        memo_key = (account.tenant, account.provider, account.id)
        if ledger is not None and memo_key in ledger.generations:
            return ledger.generations[memo_key]
        raw = await self.store.get_number(generation_key(account))
        generation = raw or 0
        if ledger is not None:
            ledger.generations[memo_key] = generation
        return generation

    async def retire(self, account: Account) -> None:
        """Make every entry of `account` unreachable, and free them where the store can."""
        generation = await self.store.increment(generation_key(account))
        if generation is not None:
            # Unreachable from now on: without this they held memory until their TTL.
            await self.store.forget_prefix(generation_prefix(account, generation - 1))
        if (ledger := current_ledger()) is not None:
            ledger.generations.pop((account.tenant, account.provider, account.id), None)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    @staticmethod
    def _usable(entry: Entry | None, validate: Validate) -> Entry | None:
        """`entry` if its reader accepts it; stored bytes that do not parse are a miss."""
        if entry is None or entry.status != 200:
            return entry
        try:
            validate(entry)
        except UpstreamError:
            log.info("a stored entry did not validate; reading it again")
            return None
        return entry

    async def _single_flight(self, read: _Read) -> Entry:
        future = self._inflight.get(read.key)
        if future is None:
            future = asyncio.ensure_future(self._fill(read))
            self._inflight[read.key] = future
            future.add_done_callback(self._settled(read.key))
        # Shielded: one waiter giving up must not cancel the fetch the others wait on. The
        # shared fetch may be a background refresh, or serve a request with a later deadline:
        # each waiter stops at its own.
        return await _within(read, asyncio.shield(future))

    def _settled(self, key: str) -> Callable[[asyncio.Future[Entry]], None]:
        def done(future: asyncio.Future[Entry]) -> None:
            self._inflight.pop(key, None)
            # Every waiter may have stopped at its deadline: mark the outcome as seen.
            if not future.cancelled():
                future.exception()

        return done

    def _refresh(self, read: _Read) -> None:
        if read.key in self._inflight:
            return
        # An empty context: the refresh belongs to no request's ledger, nor to its deadline.
        task = asyncio.get_running_loop().create_task(
            self._fill(dataclasses.replace(read, deadline=UNBOUNDED)),
            context=contextvars.Context(),
        )
        self._inflight[read.key] = task
        self._background.add(task)
        task.add_done_callback(self._refreshed(read.key))

    def _refreshed(self, key: str) -> Callable[[asyncio.Task[Entry]], None]:
        def done(task: asyncio.Task[Entry]) -> None:
            self._inflight.pop(key, None)
            self._background.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.info("background refresh failed: %s", type(task.exception()).__name__)

        return done

    async def _fill(self, read: _Read) -> Entry:
        key, policy = read.key, read.policy
        locked = False
        if self.store.kind != "memory":
            locked = await self.store.add(lock_key(key), b"1", self.lock_lease)
            if not locked and not self.store.degraded:
                waited = await self._wait_for_other_process(read)
                if waited is not None:
                    return waited
            elif locked:
                # Another process may have filled the entry and let go of the lock between
                # our miss and our taking the lock: look once more before calling.
                filled = self._usable(Entry.decode(await self.store.get(key)), read.validate)
                if filled is not None and self.clock() - filled.stored_at < policy.ttl:
                    await self.store.delete(lock_key(key))
                    return filled
        try:
            fetched = await read.fetch()
            entry = Entry(fetched.status, fetched.body, self.clock())
            if entry.status == 200:
                # Before storing: a body the reader cannot use must not replace a good one.
                read.validate(entry)
            await self.store.set(key, entry.encode(), policy.lifetime)
            return entry
        finally:
            if locked:
                await self.store.delete(lock_key(key))

    async def _wait_for_other_process(self, read: _Read) -> Entry | None:
        """The entry another process is fetching, once stored; None when its lease ran out
        first (then we fetch ourselves); UpstreamTimeout when our deadline runs out first."""
        remaining = read.deadline.remaining()
        until = time.monotonic() + min(self.lock_lease, remaining)
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(POLL_SECONDS, left))
            entry = self._usable(Entry.decode(await self.store.get(read.key)), read.validate)
            if entry is not None and self.clock() - entry.stored_at < read.policy.ttl:
                return entry
        if remaining <= self.lock_lease:
            raise UpstreamTimeout(read.provider)
        # The other process did not deliver within its lease: fetch ourselves.
        return None


async def _within(read: _Read, waited: Awaitable[Entry]) -> Entry:
    """`waited`, or UpstreamTimeout once the read's deadline has passed."""
    remaining = read.deadline.remaining()
    limit = asyncio.timeout(None if math.isinf(remaining) else max(0.0, remaining))
    try:
        async with limit:
            return await waited
    except TimeoutError:
        if limit.expired():
            raise UpstreamTimeout(read.provider) from None
        raise


__all__ = ["UNBOUNDED", "CachePolicy", "Deadline", "Entry", "Fetch", "UpstreamCache", "Validate"]
