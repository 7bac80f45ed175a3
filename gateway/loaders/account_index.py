"""Each account's customers as `sameAs` indexes them, kept between requests and kept current.

A request's `sameAs` (gateway/loaders/links.py) needs every customer of every account its
view holds. Listing a large account takes several reads, so the last full read of each
account is kept here (keyed tenant first, bounded), and brought up to date without reading
the account again:

- A webhook that names its customer (Layer, Lago) records which one, and how, under the
  account's new cache generation (`Entries.retire`). The next request applies every change
  since the kept generation: a DELETED customer leaves; any other is taken from a fresh cache
  entry when a read or the webhook itself put one there (no call); failing that, the kept
  record is served as STALE while one read by id runs behind the request.
- A change nobody named (a Codat sync, or a record of it the store lost) and an index past
  its provider's TTL are read again whole: within the request when the account fits one index
  page (one read at most, often a cache hit), else behind it, the kept index served as STALE
  meanwhile.
- A client demanding a younger answer (`max-age`) than the kept read gets the account read
  again within its request.

So once an account is indexed, a page's `sameAs` costs at most one read per provider, and
usually none. An account's first index is read by the request that needs it, unless
`[cache] links_prewarm` started it when the tenant was loaded. The kept indexes hold at most
`[cache] links_max_records` customers in all, the least recently used account out first.

Usage: `view = await indexes.read(tenant_id, source, max_pages)`; `view.index.links(keys)`,
`view.freshness(native_id)`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.behind import Behind
from gateway.cache.entries import Named
from gateway.cache.keys import Account
from gateway.cache.read import UNBOUNDED, Deadline, until
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER
from gateway.domain.freshness import Freshness, ServedFrom
from gateway.domain.links import LinkIndex, LinkKeys, link_keys
from gateway.domain.provider import Provider
from gateway.errors import GatewayError, LinkScanLimit
from gateway.ledger import (
    UpstreamLedger,
    current_ledger,
    demanded_max_age,
    demanding_max_age,
    note_freshness,
    note_served,
    shared_ledger,
)
from gateway.providers.base import AccountListing, CustomerSource

log = logging.getLogger("gateway.links")

# A full read (or how it failed), and what it noted, for each request that waits on it to
# fold in: a failed read's calls and failures count as much as a good one's.
Noted = tuple["AccountView | GatewayError", UpstreamLedger]


@dataclass(frozen=True, slots=True)
class Indexed:
    """One kept record, with the keys it is linked by (computed once, not per request); when
    its data left the provider (the cache's clock, epoch seconds), and whether a webhook
    wrote it."""

    keys: LinkKeys
    stored_at: float
    webhook: bool = False

    @classmethod
    def of(cls, customer: Customer, freshness: Freshness | None, now: float) -> Indexed:
        if freshness is None:
            return cls(link_keys(customer), now)
        webhook = freshness.served_from is ServedFrom.WEBHOOK
        return cls(link_keys(customer), freshness.fetched_at.timestamp(), webhook)


@dataclass(frozen=True)
class Records:
    """An account's records at one moment: never changed once made, so a request holds a
    consistent one while changes make the next."""

    # By native id, in the order the account listed them (a created one last).
    by_id: Mapping[str, Indexed]
    # Customers a webhook named that are being read behind the requests, served as STALE;
    # each with the ticket of its latest read, the only one whose answer is taken.
    behind: Mapping[str, int] = field(default_factory=dict)

    @functools.cached_property
    def index(self) -> LinkIndex:
        return LinkIndex(r.keys for r in self.by_id.values())

    @functools.cached_property
    def webhook_oldest(self) -> float | None:
        """When the oldest record a webhook wrote was written; None when there is none."""
        return min((r.stored_at for r in self.by_id.values() if r.webhook), default=None)

    def changed(self, updates: Mapping[str, Indexed | None], behind: Mapping[str, int]) -> Records:
        """These records with `updates` applied (None: gone) and `behind` as given."""
        by_id = dict(self.by_id)
        for native_id, record in updates.items():
            if record is None:
                by_id.pop(native_id, None)
            else:
                by_id[native_id] = record
        return Records(by_id, behind)


@dataclass(eq=False)
class Kept:
    """An account's last full read, as changes since have made it."""

    records: Records
    stopped: LinkScanLimit | None
    # The cache generation the records are current to.
    generation: int
    # When the oldest page of the full read left the provider: the index's age.
    oldest: float
    # Index pages the full read took: one means a refresh costs one read at most.
    pages: int
    # A change nobody named: every record may be out of date until the account is read again.
    unnamed: bool = False
    # The last ticket given to a read by id behind the requests.
    tickets: int = 0
    # Held while a request brings the records up to date, so changes are applied once.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's index as one request sees it: its records, and how fresh each is."""

    account: Account
    records: Records
    stopped: LinkScanLimit | None
    now: float
    ttl: float
    # Every record is served as STALE: the index is past its TTL, or a change nobody named
    # came since.
    stale: bool
    # The full read made for this request: each record as its page was served.
    read: Mapping[str, Freshness | None] | None = None

    @property
    def index(self) -> LinkIndex:
        return self.records.index

    def freshness(self, native_id: str) -> Freshness | None:
        if self.read is not None:
            return self.read.get(native_id)
        record = self.records.by_id[native_id]
        return Freshness.at(record.stored_at, self.now, self._served_from(native_id, record))

    def _served_from(self, native_id: str, record: Indexed) -> ServedFrom:
        aged = self.now - record.stored_at >= self.ttl
        if self.stale or aged or native_id in self.records.behind:
            return ServedFrom.STALE
        return ServedFrom.WEBHOOK if record.webhook else ServedFrom.CACHE

    def note(self, provider: Provider, oldest: float) -> None:
        """Tell the request's ledger how old the index it was served is, and how it came; a
        STALE record keeps the answer out of the whole-response cache."""
        outdated = self.stale or self.now - oldest >= self.ttl
        main = ServedFrom.STALE if outdated else ServedFrom.CACHE
        note_served(provider, Freshness.at(oldest, self.now, main))
        webhook = self.records.webhook_oldest
        if webhook is not None and not self.stale and self.now - webhook < self.ttl:
            note_served(provider, Freshness.at(webhook, self.now, ServedFrom.WEBHOOK))
        for native_id in self.records.behind.keys() & self.records.by_id.keys():
            stored_at = self.records.by_id[native_id].stored_at
            note_served(provider, Freshness.at(stored_at, self.now, ServedFrom.STALE))
        fresh_for = 0.0 if outdated or self.records.behind else self.ttl - (self.now - oldest)
        note_freshness(fresh_for)


class AccountIndexes:
    """Every tenant's kept account indexes; one per gateway process."""

    def __init__(
        self,
        cache: UpstreamCache,
        max_records: int,
        report: Callable[[UpstreamLedger], None] | None = None,
        deadline: Deadline = UNBOUNDED,
    ) -> None:
        """`deadline`: the current request's (the resilience timer), which bounds how long a
        request waits on a read another started."""
        self._cache = cache
        self._deadline = deadline
        self._max_records = max_records
        # Where reads behind the requests are counted (metrics), since no request counts them.
        self._report = report
        self._kept: OrderedDict[Account, Kept] = OrderedDict()
        # Full reads in flight, by account: concurrent needs share one.
        self._reading: dict[Account, asyncio.Future[Noted]] = {}
        self._background = Behind()

    @property
    def records(self) -> int:
        """How many customers are kept, over every account."""
        return sum(len(k.records.by_id) for k in self._kept.values())

    @property
    def accounts(self) -> int:
        """How many accounts are kept."""
        return len(self._kept)

    async def read(self, tenant: str, source: CustomerSource, max_pages: int) -> AccountView:
        """The account's index for `sameAs`, as fresh as this request may have it."""
        account = Account(tenant, source.provider, source.account)
        generation = await self._cache.generation(account)
        ttl = self._cache.policies[source.provider].ttl
        kept = self._kept.get(account)
        demand = demanded_max_age()
        if kept is not None and demand is not None and self._now() - kept.oldest >= demand:
            kept = None
        if kept is not None and kept.generation != generation:
            kept = await self._catch_up(account, source, kept, generation)
        now = self._now()
        outdated = kept is not None and (kept.unnamed or now - kept.oldest >= ttl)
        if kept is None or (outdated and kept.pages == 1):
            return await self._read_whole(account, source, max_pages)
        if outdated:
            self._refresh(account, source, max_pages)
        if self._kept.get(account) is kept:
            # Still kept (an eviction may have come while changes were applied).
            self._kept.move_to_end(account)
        view = AccountView(account, kept.records, kept.stopped, now, ttl, outdated)
        view.note(source.provider, kept.oldest)
        return view

    def warm(self, tenant: str, sources: Iterable[CustomerSource], max_pages: int) -> None:
        """Read each account whole behind every request, unless one is kept or being read."""
        for source in sources:
            account = Account(tenant, source.provider, source.account)
            if account not in self._kept:
                self._refresh(account, source, max_pages)

    async def settled(self) -> None:
        """Wait until nothing runs behind the requests (tests, shutdown)."""
        await self._background.settled()

    async def close(self) -> None:
        await self._background.close()

    def _now(self) -> float:
        return self._cache.clock()

    async def _catch_up(
        self, account: Account, source: CustomerSource, kept: Kept, generation: int
    ) -> Kept | None:
        """`kept` with every change up to `generation` applied; None when it cannot be (the
        store's generations started again)."""
        async with kept.lock:
            if kept.generation == generation:
                # Another request applied them while this one waited.
                return kept
            if generation < kept.generation:
                if await self._cache.stored_generation(account) >= kept.generation:
                    # The request read the generation before changes the index has applied
                    # since: the index is newer than it asked for.
                    return kept
                # The store's generations started again: what changed since is unknown.
                self._forget(account, kept)
                return None
            changes = await self._cache.changes(account, kept.generation, generation)
            named = [c for c in changes if c is not None]
            if len(named) < len(changes):
                kept.unnamed = True
            else:
                await self._apply(account, source, kept, _latest(named))
            kept.generation = generation
            return kept

    async def _apply(
        self, account: Account, source: CustomerSource, kept: Kept, changes: dict[str, ChangeKind]
    ) -> None:
        named = [i for i, kind in changes.items() if kind is not ChangeKind.DELETED]
        peeked = await asyncio.gather(*(source.peek(i) for i in named))
        # From here to the end nothing awaits: no read behind lands in between.
        now = self._now()
        updates: dict[str, Indexed | None] = {}
        behind = dict(kept.records.behind)
        for native_id, kind in changes.items():
            if kind is ChangeKind.DELETED:
                updates[native_id] = None
                behind.pop(native_id, None)
        for native_id, customer in zip(named, peeked, strict=True):
            if customer is None:
                # A read by id behind the request; a read of an earlier change of the same
                # customer still in flight is now outdated, its ticket no longer the latest.
                kept.tickets += 1
                behind[native_id] = kept.tickets
                self._background.start(
                    self._read_one(account, source, kept, native_id, kept.tickets)
                )
            else:
                updates[native_id] = Indexed.of(customer, customer.freshness, now)
                behind.pop(native_id, None)
        kept.records = kept.records.changed(updates, behind)

    async def _read_one(
        self, account: Account, source: CustomerSource, kept: Kept, native_id: str, ticket: int
    ) -> None:
        try:
            with shared_ledger(self._report):
                customer = await source.get(native_id)
        except GatewayError as exc:
            # Left STALE, and the whole account read again when next asked for.
            log.info("link index: a changed customer could not be read: %s", exc.code)
            kept.unnamed = True
            return
        if self._kept.get(account) is not kept or kept.records.behind.get(native_id) != ticket:
            # Read whole since, or changed again since this read began: its answer may be
            # older than what the index holds or is reading now.
            return
        record = None if customer is None else Indexed.of(customer, customer.freshness, self._now())
        behind = {i: t for i, t in kept.records.behind.items() if i != native_id}
        kept.records = kept.records.changed({native_id: record}, behind)

    async def _read_whole(
        self, account: Account, source: CustomerSource, max_pages: int
    ) -> AccountView:
        """The account read whole within the request, and kept; a read in flight is joined,
        but by a client demanding a younger answer than a shared read may give."""
        if demanded_max_age() is not None:
            return await self._list(account, source, max_pages)
        reading = self._reading.get(account)
        started = reading is None
        if reading is None:
            reading = self._start(account, self._noted(self._list(account, source, max_pages)))
        # Shielded: one waiter giving up (at its own deadline) must not cancel the read the
        # others wait on.
        read, noted = await until(self._deadline, source.provider, asyncio.shield(reading))
        if (ledger := current_ledger()) is not None:
            # Each waiter's answer is as fresh (or as stale) as the read: its ledger says so,
            # and only the request that started the read counts its calls.
            ledger.fold(noted, calls=started)
        if isinstance(read, GatewayError):
            # Shared by every waiter: raised without the traceback an earlier raise left.
            raise read.with_traceback(None)
        return read

    def _refresh(self, account: Account, source: CustomerSource, max_pages: int) -> None:
        """Read the account whole behind the requests, unless a read of it is in flight. It
        takes no cache entry past the TTL, or the kept index would be no younger."""
        if account in self._reading:
            return
        ttl = self._cache.policies[source.provider].ttl

        async def fresh_list() -> Noted:
            with demanding_max_age(ttl):
                return await self._noted(self._list(account, source, max_pages))

        self._start(account, fresh_list(), behind=True)

    async def _noted(self, work: Awaitable[AccountView]) -> Noted:
        behind = current_ledger() is None
        read: AccountView | GatewayError
        # Behind the requests, no request folds the ledger in: the metrics count it.
        with shared_ledger(self._report if behind else None) as ledger:
            try:
                read = await work
            except GatewayError as exc:
                read = exc
        if behind and isinstance(read, GatewayError):
            # Kept as it was: the next request that needs the account tries again.
            log.info("link index: an account was not read behind the requests: %s", read.code)
        return read, ledger

    def _start(
        self, account: Account, work: Coroutine[Any, Any, Noted], *, behind: bool = False
    ) -> asyncio.Future[Noted]:
        """The account's full read in flight, which others may join: in the request's
        context, or (`behind`) in none, as work behind the requests."""
        if behind:
            reading = self._background.start(work)
        else:
            reading = asyncio.get_running_loop().create_task(work)
        self._reading[account] = reading
        reading.add_done_callback(self._done_reading(account))
        return reading

    def _done_reading(self, account: Account) -> Callable[[asyncio.Future[Noted]], None]:
        def done(reading: asyncio.Future[Noted]) -> None:
            self._reading.pop(account, None)
            # Every waiter may have given up: mark the outcome as seen. A provider's failure
            # is the read's value (`_noted`), so anything raised is a bug: said, not lost.
            if not reading.cancelled() and (exc := reading.exception()) is not None:
                log.error("link index: a full read failed", exc_info=exc)

        return done

    async def _list(self, account: Account, source: CustomerSource, max_pages: int) -> AccountView:
        # The generation before the first page: a change during the read is applied after.
        generation = await self._cache.generation(account)
        by_id: dict[str, Indexed] = {}
        served: dict[str, Freshness | None] = {}
        token: str | None = None
        stopped: LinkScanLimit | None = None
        pages = 0
        while True:
            if pages == max_pages:
                stopped = LinkScanLimit(source.provider, source.account, max_pages)
                break
            if isinstance(source, AccountListing):
                page = await source.index_page(token)
            else:
                page = await source.list_page(EMPTY_FILTER, token)
            pages += 1
            now = self._now()
            for customer in page.items:
                native_id = customer.key.native_id
                # A record that moved between two pages while they were read is indexed once.
                if native_id not in by_id:
                    by_id[native_id] = Indexed.of(customer, page.freshness, now)
                    served[native_id] = page.freshness
            if page.next_token is None:
                break
            token = page.next_token
        now = self._now()
        records = Records(by_id)
        oldest = min((r.stored_at for r in by_id.values()), default=now)
        self._keep(account, Kept(records, stopped, generation, oldest, pages))
        ttl = self._cache.policies[source.provider].ttl
        return AccountView(account, records, stopped, now, ttl, stale=False, read=served)

    def _keep(self, account: Account, kept: Kept) -> None:
        self._kept.pop(account, None)
        if _weight(kept) > self._max_records:
            # Larger than the bound alone: served to the request that read it, never kept.
            return
        self._kept[account] = kept
        total = sum(_weight(k) for k in self._kept.values())
        while total > self._max_records:
            _, evicted = self._kept.popitem(last=False)
            total -= _weight(evicted)

    def _forget(self, account: Account, kept: Kept) -> None:
        if self._kept.get(account) is kept:
            del self._kept[account]


def _weight(kept: Kept) -> int:
    """What a kept account counts against `links_max_records`: its records, and at least
    one, so accounts with none (claimed by tokens, say) are bounded too."""
    return max(1, len(kept.records.by_id))


def _latest(changes: list[Named]) -> dict[str, ChangeKind]:
    """Each customer's last change, in the order first named."""
    latest: dict[str, ChangeKind] = {}
    for native_id, kind in changes:
        latest[native_id] = kind
    return latest


__all__ = ["AccountIndexes", "AccountView", "Indexed", "Records"]
