"""An account's cached entries under its current generation: written, peeked at, retired.

Every entry key carries the account's generation; bumping it (`retire`) makes all the
account's entries unreachable at once. A request looks the generation up once, through its
ledger, so all its reads of one account use one generation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import orjson

from gateway.cache.entry import CachePolicy, Entry, Origin
from gateway.cache.keys import Account, change_key, entry_key, generation_key, generation_prefix
from gateway.cache.store import CacheStore
from gateway.domain.change import ChangeKind
from gateway.domain.provider import Provider
from gateway.ledger import current_ledger

# One customer a webhook named, by native id, and what happened to it.
Named = tuple[str, ChangeKind]


class Entries:
    """Writes and generations; `UpstreamCache` adds the read-through on top.

    Usage: `await cache.put(account, "customer", {"id": x}, 200, body)`;
    `await cache.retire(account)`.
    """

    def __init__(
        self,
        store: CacheStore,
        policies: Mapping[Provider, CachePolicy],
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.policies = policies
        self.clock = clock

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
        self,
        account: Account,
        resource: str,
        params: Mapping[str, str],
        status: int,
        body: bytes,
        *,
        origin: Origin = Origin.UPSTREAM,
    ) -> bool:
        """`put`, unless the entry exists already; False then. After a `retire`, an entry in
        the new generation can only come from a read that fetched since, so it is at least as
        new as anything the caller holds, and must win. `origin`: who says what it holds (a
        webhook's entry is served as WEBHOOK)."""
        policy = self.policies[account.provider]
        key = entry_key(account, await self.generation(account), resource, params)
        return await self.store.add(
            key, Entry(status, body, self.clock(), origin).encode(), policy.lifetime
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
        memo_key = _memo_key(account)
        if ledger is not None and memo_key in ledger.generations:
            return ledger.generations[memo_key]
        generation = await self.stored_generation(account)
        if ledger is not None:
            ledger.generations[memo_key] = generation
        return generation

    async def stored_generation(self, account: Account) -> int:
        """The account's generation as the store holds it now, whatever the request read."""
        return await self.store.get_number(generation_key(account)) or 0

    async def retire(self, account: Account, change: Named | None = None) -> None:
        """Make every entry of `account` unreachable, and free them where the store can.
        `change`: the one customer (native id) the webhook says changed, and how; recorded
        under the new generation, so what an index of the account holds can be brought up to
        date without reading the account again (`changes`)."""
        generation = await self.store.increment(generation_key(account))
        if generation is not None:
            if change is not None:
                record = orjson.dumps([change[0], change[1].value])
                lifetime = self.policies[account.provider].lifetime
                await self.store.set(change_key(account, generation), record, lifetime)
            # Unreachable from now on: without this they held memory until their TTL.
            await self.store.forget_prefix(generation_prefix(account, generation - 1))
        if (ledger := current_ledger()) is not None:
            ledger.generations.pop(_memo_key(account), None)

    async def changes(self, account: Account, since: int, until: int) -> list[Named | None]:
        """What each bump from generation `since` to `until` changed, in order; None for a
        bump nobody named a customer for (a Codat sync), or whose record is gone."""
        if until <= since:
            return []
        raws = await self.store.multi_get(
            [change_key(account, g) for g in range(since + 1, until + 1)]
        )
        return [_named(raw) for raw in raws]


def _named(raw: bytes | None) -> Named | None:
    if raw is None:
        return None
    try:
        native_id, kind = orjson.loads(raw)
        return str(native_id), ChangeKind(kind)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        # Written by another version: as good as lost, so the account is read whole.
        return None


def _memo_key(account: Account) -> tuple[str, Provider, str]:
    """Where a request's ledger keeps the generation it read for `account`."""
    return (account.tenant, account.provider, account.id)


__all__ = ["Entries", "Named"]
