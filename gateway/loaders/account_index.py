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

Usage: `reads, stopped = await indexes.read(tenant_id, source, max_pages)`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.cache.entries import Named
from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER
from gateway.domain.freshness import Freshness, ServedFrom
from gateway.errors import GatewayError, LinkScanLimit
from gateway.ledger import demanded_max_age, demanding_max_age, note_freshness, note_served
from gateway.providers.base import AccountListing, CustomerSource

log = logging.getLogger("gateway.links")

# A record as an index read it, and how fresh that read was.
Read = tuple[Customer, Freshness | None]
# An account's records, and the bound that stopped its read short (None: read whole).
AccountRead = tuple[list[Read], LinkScanLimit | None]


@dataclass(frozen=True, slots=True)
class Indexed:
    """One kept record: when its data left the provider (the cache's clock, epoch seconds),
    and whether a webhook wrote it."""

    customer: Customer
    stored_at: float
    webhook: bool = False

    @classmethod
    def of(cls, customer: Customer, freshness: Freshness | None, now: float) -> Indexed:
        if freshness is None:
            return cls(customer, now)
        webhook = freshness.served_from is ServedFrom.WEBHOOK
        return cls(customer, freshness.fetched_at.timestamp(), webhook)


@dataclass(eq=False)
class Kept:
    """An account's last full read, as changes since have made it."""

    # By native id, in the order the account listed them (a created one last).
    records: dict[str, Indexed]
    stopped: LinkScanLimit | None
    # The cache generation the records are current to.
    generation: int
    # When the oldest page of the full read left the provider: the index's age.
    oldest: float
    # Index pages the full read took: one means a refresh costs one read at most.
    pages: int
    # Customers a webhook named that are being read behind the requests: served as STALE.
    behind: set[str] = field(default_factory=set)
    # A change nobody named: every record may be out of date until the account is read again.
    unnamed: bool = False
    # Held while a request brings the records up to date, so changes are applied once.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def served(self, account: Account, now: float, ttl: float, stale: bool) -> list[Read]:
        """The records with how a request gets them now, noted on its ledger per way served."""
        reads: list[Read] = []
        oldest: dict[ServedFrom, Freshness] = {}
        for native_id, record in self.records.items():
            age = max(0.0, now - record.stored_at)
            if stale or age >= ttl or native_id in self.behind:
                served_from = ServedFrom.STALE
            else:
                served_from = ServedFrom.WEBHOOK if record.webhook else ServedFrom.CACHE
            freshness = Freshness.at(record.stored_at, now, served_from)
            reads.append((record.customer, freshness))
            if served_from not in oldest or age > oldest[served_from].age_seconds:
                oldest[served_from] = freshness
        for freshness in oldest.values():
            note_served(account.provider, freshness)
        # A STALE record keeps the answer out of the whole-response cache.
        note_freshness(0.0 if ServedFrom.STALE in oldest else ttl - (now - self.oldest))
        return reads


class AccountIndexes:
    """Every tenant's kept account indexes; one per gateway process."""

    def __init__(self, cache: UpstreamCache, max_records: int) -> None:
        self._cache = cache
        self._max_records = max_records
        self._kept: OrderedDict[Account, Kept] = OrderedDict()
        # Full reads in flight, by account: concurrent needs share one.
        self._reading: dict[Account, asyncio.Future[AccountRead]] = {}
        self._background: set[asyncio.Task[None]] = set()

    @property
    def records(self) -> int:
        """How many customers are kept, over every account."""
        return sum(len(k.records) for k in self._kept.values())

    async def read(self, tenant: str, source: CustomerSource, max_pages: int) -> AccountRead:
        """The account's customers for `sameAs`, each with how fresh this request gets it."""
        account = Account(tenant, source.provider, source.account)
        generation = await self._cache.generation(account)
        ttl = self._cache.policies[source.provider].ttl
        kept = self._kept.get(account)
        demand = demanded_max_age()
        if kept is not None and demand is not None and self._now() - kept.oldest >= demand:
            kept = None
        if kept is not None and kept.generation != generation:
            kept = await self._catch_up(account, source, kept, generation, max_pages)
        now = self._now()
        outdated = kept is not None and (kept.unnamed or now - kept.oldest >= ttl)
        if kept is None or (outdated and kept.pages == 1):
            return await self._read_whole(account, source, max_pages)
        if outdated:
            self._refresh(account, source, max_pages)
        self._kept.move_to_end(account)
        return kept.served(account, now, ttl, outdated), kept.stopped

    def warm(self, tenant: str, sources: Iterable[CustomerSource], max_pages: int) -> None:
        """Read each account whole behind every request, unless one is kept or being read."""
        for source in sources:
            account = Account(tenant, source.provider, source.account)
            if account not in self._kept:
                self._refresh(account, source, max_pages)

    async def settled(self) -> None:
        """Wait until nothing runs behind the requests (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _now(self) -> float:
        return self._cache.clock()

    async def _catch_up(
        self, account: Account, source: CustomerSource, kept: Kept, generation: int, pages: int
    ) -> Kept | None:
        """`kept` with every change up to `generation` applied; None when it cannot be (the
        store's generations started again)."""
        async with kept.lock:
            if kept.generation == generation:
                # Another request applied them while this one waited.
                return kept
            if generation < kept.generation:
                self._forget(account, kept)
                return None
            changes = await self._cache.changes(account, kept.generation, generation)
            kept.generation = generation
            named = [c for c in changes if c is not None]
            if len(named) < len(changes):
                kept.unnamed = True
                return kept
            await self._apply(account, source, kept, _latest(named))
            return kept

    async def _apply(
        self, account: Account, source: CustomerSource, kept: Kept, changes: dict[str, ChangeKind]
    ) -> None:
        gone = [i for i, kind in changes.items() if kind is ChangeKind.DELETED]
        for native_id in gone:
            kept.records.pop(native_id, None)
            kept.behind.discard(native_id)
        named = [i for i in changes if i not in gone]
        peeked = await asyncio.gather(*(source.peek(i) for i in named))
        now = self._now()
        for native_id, customer in zip(named, peeked, strict=True):
            if customer is None:
                kept.behind.add(native_id)
                self._behind(account, self._read_one(account, source, kept, native_id))
            else:
                kept.records[native_id] = Indexed.of(customer, customer.freshness, now)
                kept.behind.discard(native_id)

    async def _read_one(
        self, account: Account, source: CustomerSource, kept: Kept, native_id: str
    ) -> None:
        try:
            customer = await source.get(native_id)
        except GatewayError as exc:
            # Left STALE, and the whole account read again when next asked for.
            log.info("link index: a changed customer could not be read: %s", exc.code)
            kept.unnamed = True
            return
        if self._kept.get(account) is not kept or native_id not in kept.behind:
            # Read whole since, or changed again and taken from the cache: this is older.
            return
        kept.behind.discard(native_id)
        if customer is None:
            kept.records.pop(native_id, None)
        else:
            kept.records[native_id] = Indexed.of(customer, customer.freshness, self._now())

    async def _read_whole(
        self, account: Account, source: CustomerSource, max_pages: int
    ) -> AccountRead:
        """The account read whole within the request, and kept; a read in flight is joined,
        but by a client demanding a younger answer than a shared read may give."""
        if demanded_max_age() is not None:
            return await self._list(account, source, max_pages)
        reading = self._reading.get(account)
        if reading is None:
            reading = self._start(account, self._list(account, source, max_pages))
        # Shielded: one waiter giving up must not cancel the read the others wait on.
        return await asyncio.shield(reading)

    def _refresh(self, account: Account, source: CustomerSource, max_pages: int) -> None:
        """Read the account whole behind the requests, unless a read of it is in flight. It
        takes no cache entry past the TTL, or the kept index would be no younger."""
        if account in self._reading:
            return
        ttl = self._cache.policies[source.provider].ttl

        async def fresh_list() -> AccountRead:
            with demanding_max_age(ttl):
                return await self._list(account, source, max_pages)

        self._behind(account, self._start(account, fresh_list(), context=contextvars.Context()))

    def _start(
        self,
        account: Account,
        work: Coroutine[Any, Any, AccountRead],
        context: contextvars.Context | None = None,
    ) -> asyncio.Future[AccountRead]:
        reading = asyncio.get_running_loop().create_task(work, context=context)
        self._reading[account] = reading
        reading.add_done_callback(self._done_reading(account))
        return reading

    def _done_reading(self, account: Account) -> Callable[[asyncio.Future[AccountRead]], None]:
        def done(reading: asyncio.Future[AccountRead]) -> None:
            self._reading.pop(account, None)
            # Every waiter may have given up: mark the outcome as seen.
            if not reading.cancelled():
                reading.exception()

        return done

    async def _list(self, account: Account, source: CustomerSource, max_pages: int) -> AccountRead:
        # The generation before the first page: a change during the read is applied after.
        generation = await self._cache.generation(account)
        reads: list[Read] = []
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
            # Each with its page's freshness: the page carries it beside its shared items.
            reads.extend((c, page.freshness) for c in page.items)
            if page.next_token is None:
                break
            token = page.next_token
        now = self._now()
        records: dict[str, Indexed] = {}
        for customer, freshness in reads:
            # A record that moved between two pages while they were read is indexed once.
            records.setdefault(customer.key.native_id, Indexed.of(customer, freshness, now))
        oldest = min((r.stored_at for r in records.values()), default=now)
        self._keep(account, Kept(records, stopped, generation, oldest, pages))
        return reads, stopped

    def _keep(self, account: Account, kept: Kept) -> None:
        previous = self._kept.pop(account, None)
        if previous is not None:
            # Its reads behind the requests are for records this read supersedes.
            previous.behind.clear()
        if len(kept.records) > self._max_records:
            # Larger than the bound alone: served to the request that read it, never kept.
            return
        self._kept[account] = kept
        total = self.records
        while total > self._max_records:
            _, evicted = self._kept.popitem(last=False)
            total -= len(evicted.records)

    def _forget(self, account: Account, kept: Kept) -> None:
        if self._kept.get(account) is kept:
            del self._kept[account]

    def _behind(self, account: Account, work: Awaitable[object]) -> None:
        """Run `work` behind the requests: in an empty context, so no request's ledger counts
        its calls and no request's deadline bounds it."""
        task = asyncio.get_running_loop().create_task(
            _logged(account, work), context=contextvars.Context()
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _logged(account: Account, work: Awaitable[object]) -> None:
    try:
        await work
    except GatewayError as exc:
        # Kept as it was: the next request that needs the account tries again.
        log.info(
            "link index: %s account of tenant %s not read: %s",
            account.provider.value,
            account.tenant,
            exc.code,
        )


def _latest(changes: list[Named]) -> dict[str, ChangeKind]:
    """Each customer's last change, in the order first named."""
    latest: dict[str, ChangeKind] = {}
    for native_id, kind in changes:
        latest[native_id] = kind
    return latest


__all__ = ["AccountIndexes", "AccountRead", "Read"]
