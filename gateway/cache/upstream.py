"""Read-through caching of upstream responses, with freshness windows and single-flight.

An entry is fresh for `ttl`; for `stale_while_revalidate` more it is served while one
background refresh runs; for `stale_if_error` more it is served only when the provider fails
(and the request is told so). Concurrent misses for one key make one upstream call: within a
process through a shared task (`gateway.cache.flight`), across processes (Redis) through a
short lease lock (`gateway.cache.lease`).

Only answers the provider's reader accepts are stored: every read names a `validate` that
parses the body (into the shared `Decoded` memo, so the parse is not repeated) and raises
`UpstreamBadResponse` for a body that is garbage or of the wrong shape. Such an answer is
never stored and never replaces a good entry, so stale-if-error keeps serving the good one;
bytes in the store that do not validate (from an older version, say) count as a miss.

A client may demand a maximum age (`gateway.ledger.demanded_max_age`): an entry that old or
older is read again, as a miss is; if the provider then fails, stale-if-error still serves
it. Every entry a read returns carries its `freshness` (docs/freshness.md): UPSTREAM when
filled while the read waited, CACHE or WEBHOOK (who wrote it) within its TTL, STALE past its
TTL or past the client's max-age.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from gateway.cache.decoded import Decoded
from gateway.cache.entries import Entries
from gateway.cache.entry import CachePolicy, Entry, Fetch, Origin, Validate, is_fresh, usable
from gateway.cache.flight import SingleFlight
from gateway.cache.keys import Account, entry_key
from gateway.cache.lease import fill
from gateway.cache.read import UNBOUNDED, Deadline, Read
from gateway.cache.store import CacheStore
from gateway.domain.freshness import Freshness, ServedFrom
from gateway.domain.provider import Provider
from gateway.errors import UpstreamError
from gateway.ledger import (
    UpstreamLedger,
    count_lookup,
    current_ledger,
    demanded_max_age,
    note_freshness,
    note_served,
)
from gateway.observability.tracing import tracer


class UpstreamCache(Entries):
    """Usage: `entry = await cache.fetch(account, "customer", {"id": x}, fetch, validate=v,
    deadline=timer)`."""

    def __init__(
        self,
        store: CacheStore,
        policies: Mapping[Provider, CachePolicy],
        *,
        lock_lease: float = 2.0,
        clock: Callable[[], float] = time.time,
        report: Callable[[UpstreamLedger], None] | None = None,
    ) -> None:
        """`report`: where the calls of background refreshes are counted (metrics)."""
        super().__init__(store, policies, clock)
        self.lock_lease = lock_lease
        # Parsed answers, shared read-only: providers parse a cached body once per process.
        self.decoded = Decoded()
        self._flights = SingleFlight(self._fill, report)

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
        """The entry for the read, with `freshness` saying how old it is and how it came."""
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
            policy = self.policies[account.provider]
            read = Read(
                key, account.provider, policy, fetch, validate, deadline, demanded_max_age()
            )
            entry, hit = await self._fetch(read)
            span.set_attribute("gateway.cache_hit", hit)
            return entry

    async def _fetch(self, read: Read) -> tuple[Entry, bool]:
        policy, provider = read.policy, read.provider
        entry = usable(await self.store.get(read.key), read.validate)
        age = self.clock() - entry.stored_at if entry else 0.0
        if (
            entry is not None
            and age < policy.ttl + policy.stale_while_revalidate
            and read.accepts(age)
        ):
            count_lookup(provider, hit=True)
            note_freshness(policy.ttl - age)
            if age >= policy.ttl:
                self._flights.refresh(read)
                return self._served(provider, entry, ServedFrom.STALE), True
            return self._served(provider, entry, _kept(entry)), True
        count_lookup(provider, hit=False)
        try:
            fetched = await self._flights.join(read)
            note_freshness(policy.ttl - (self.clock() - fetched.stored_at))
            # Filled while this request waited: by its own call, or one it joined.
            came = ServedFrom.WEBHOOK if fetched.origin is Origin.WEBHOOK else ServedFrom.UPSTREAM
            return self._served(provider, fetched, came), False
        except UpstreamError:
            if entry is None or age >= policy.ttl + policy.stale_if_error:
                raise
            if (ledger := current_ledger()) is not None:
                ledger.stale_served.add(provider)
            return self._served(provider, entry, ServedFrom.STALE), True

    async def lookup_many(
        self,
        account: Account,
        resource: str,
        params: list[Mapping[str, str]],
        *,
        validate: Validate,
    ) -> list[Entry | None]:
        """Fresh, valid entries (young enough for the client) for several reads in one round
        trip, each with its `freshness`; None where there is none."""
        policy = self.policies[account.provider]
        max_age = demanded_max_age()
        generation = await self.generation(account)
        raws = await self.store.multi_get(
            [entry_key(account, generation, resource, p) for p in params]
        )
        now = self.clock()
        found: list[Entry | None] = []
        for raw in raws:
            entry = usable(raw, validate)
            if is_fresh(entry, policy, now) and (
                max_age is None or now - entry.stored_at < max_age
            ):
                count_lookup(account.provider, hit=True)
                note_freshness(policy.ttl - (now - entry.stored_at))
                found.append(self._served(account.provider, entry, _kept(entry), now))
            else:
                count_lookup(account.provider, hit=False)
                found.append(None)
        return found

    def _served(
        self, provider: Provider, entry: Entry, came: ServedFrom, now: float | None = None
    ) -> Entry:
        """`entry` with how fresh it is as served now, noted in the request's ledger."""
        now = self.clock() if now is None else now
        freshness = Freshness.at(entry.stored_at, now, came)
        note_served(provider, freshness)
        return replace(entry, freshness=freshness)

    async def settled(self) -> None:
        """Wait until no background refresh runs (tests, benchmarks)."""
        await self._flights.settled()

    async def close(self) -> None:
        await self._flights.close()

    async def _fill(self, read: Read) -> Entry:
        return await fill(read, self.store, lease=self.lock_lease, clock=self.clock)


def _kept(entry: Entry) -> ServedFrom:
    """How an entry within its TTL was served: from the cache, or as a webhook wrote it."""
    return ServedFrom.WEBHOOK if entry.origin is Origin.WEBHOOK else ServedFrom.CACHE


__all__ = ["UpstreamCache"]
