"""`Customer.sameAs` for one request: each account the caller sees is indexed once.

The first `sameAs` a request resolves loads the view's index: every account of the caller's
tenant (a JWT caller's narrowed view: `Tenant.sources`), all at once, each as its kept index
gives it (gateway/loaders/account_index.py: read whole once, then kept current from webhooks'
records of what changed, so a warm account costs no call and a stale one at most one). Every
other `sameAs` of the request, however many customers a page holds, awaits that same load (a
DataLoader with one key), so links never cost a read per customer. Evidence is checked on the
indexed version of both records, so each link is seen from both of its ends. Why no provider
is asked for a page's candidates by a filter: docs/links.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from gateway.domain.customer import Customer, CustomerKey
from gateway.domain.links import Link, LinkEvidence, LinkKeys
from gateway.domain.provider import Provider
from gateway.errors import GatewayError
from gateway.loaders.account_index import AccountView
from gateway.observability.tracing import tracer
from gateway.providers.base import CustomerSource
from gateway.providers.client import settle
from gateway.tenants import Tenant

# The accounts a view holds, in its sources' order: the one key of a request's index.
ViewKey = tuple[tuple[Provider, str], ...]


@dataclass(frozen=True, slots=True)
class ViewIndex:
    """The index of every account of the view that could be read, and why some could not."""

    # In the view's sources' order: the order links are listed in.
    accounts: tuple[AccountView, ...]
    # A failed account, or one with more pages than the bound: links to its unread customers
    # are missing.
    errors: tuple[GatewayError, ...]

    def account_of(self, key: CustomerKey) -> AccountView | None:
        """The index of `key`'s account; None when the account could not be read."""
        for account in self.accounts:
            if account.account.provider == key.provider and account.account.id == key.account:
                return account
        return None

    def links(self, keys: LinkKeys, kinds: frozenset[LinkEvidence]) -> list[Link]:
        """Every record linked to `keys`' record, each with how fresh this request has it."""
        found: list[Link] = []
        for account in self.accounts:
            for link in account.index.links(keys, kinds):
                fresh = account.freshness(link.keys.key.native_id)
                found.append(Link(dataclasses.replace(link.keys, freshness=fresh), link.evidence))
        return found


@dataclass(frozen=True, slots=True)
class SameAs:
    """A customer's links, and the errors this request has not yet reported."""

    links: tuple[Link, ...]
    errors: tuple[GatewayError, ...]


class LinkResolver:
    """Usage: `context.links = LinkResolver(tenant, max_pages)`, one per request (its memo
    must never serve another request or caller); `await context.links.same_as(customer)`."""

    def __init__(self, tenant: Tenant, max_pages: int) -> None:
        self._tenant = tenant
        self._max_pages = max_pages
        self.kinds = frozenset(LinkEvidence(k) for k in tenant.settings.link_evidence)
        self._views: DataLoader[ViewKey, ViewIndex] = DataLoader(load_fn=self._load)
        self._reported = False

    async def same_as(self, customer: Customer) -> SameAs:
        """The customers linked to `customer` among those the caller may see."""
        if not self.kinds:
            # No evidence is accepted: nothing to link, so nothing is read.
            return SameAs((), ())
        view = await self._views.load(tuple((s.provider, s.account) for s in self._tenant.sources))
        # As its account's index holds it, so a link is seen from both of its ends. None when
        # no index holds it (its account failed, its error reported; past the bound of pages;
        # created since and still being read): no other record lists it either.
        own = view.account_of(customer.key)
        keys = None if own is None else own.index.record(customer.key)
        errors: tuple[GatewayError, ...] = ()
        if not self._reported:
            # Once per request, on the first sameAs resolved, not once per customer.
            self._reported, errors = True, view.errors
        if keys is None:
            return SameAs((), errors)
        return SameAs(tuple(view.links(keys, self.kinds)), errors)

    async def _load(self, keys: list[ViewKey]) -> list[ViewIndex]:
        with tracer.start_as_current_span(
            "loader.same_as",
            attributes={"gateway.tenant": self._tenant.id, "gateway.accounts": len(keys[0])},
        ):
            return [await self._build()] * len(keys)

    async def _build(self) -> ViewIndex:
        sources = self._tenant.sources
        reads = settle(
            await asyncio.gather(*(self._read(s) for s in sources), return_exceptions=True)
        )
        accounts: list[AccountView] = []
        errors: list[GatewayError] = []
        for read in reads:
            if isinstance(read, GatewayError):
                errors.append(read)
                continue
            accounts.append(read)
            if read.stopped is not None:
                errors.append(read.stopped)
        return ViewIndex(tuple(accounts), tuple(errors))

    async def _read(self, source: CustomerSource) -> AccountView:
        return await self._tenant.indexes.read(self._tenant.id, source, self._max_pages)


def prewarm_links(tenant: Tenant, max_pages: int) -> None:
    """Start reading the tenant's accounts for `sameAs` behind every request (`[cache]
    links_prewarm`), so no request pays for an account's first index."""
    if tenant.settings.link_evidence:
        tenant.indexes.warm(tenant.id, tenant.sources, max_pages)


__all__ = ["LinkResolver", "SameAs", "ViewIndex", "prewarm_links"]
