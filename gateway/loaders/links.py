"""`Customer.sameAs` for one request: each account the caller sees is indexed once.

The first `sameAs` a request resolves loads the view's index: every account of the caller's
tenant (a JWT caller's narrowed view: `Tenant.sources`) is listed from its first page, all at
once, through the upstream cache, up to `limits.max_filter_scan_pages` pages each: in the
source's own index pages when it has them (`AccountListing`: one read for a whole Codat company
or Lago organisation, none when a cached listing page already holds it), else in the listing's
pages `customers` reads too (Layer). Cached like any answer, the index costs no call once
warm, until its TTL or a webhook's generation bump retires it. Every other `sameAs` of the
request, however many customers a page holds, awaits that same load (a DataLoader with one
key), so links never cost a read per customer. Evidence is checked on the indexed version of
both records, so each link is seen from both of its ends. Why no provider is asked for a
page's candidates by a filter: docs/links.md.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from gateway.domain.customer import Customer, CustomerKey
from gateway.domain.filter import EMPTY_FILTER
from gateway.domain.freshness import Freshness
from gateway.domain.links import Link, LinkEvidence, LinkIndex, link_keys
from gateway.domain.provider import Provider
from gateway.errors import GatewayError, LinkScanLimit
from gateway.observability.tracing import tracer
from gateway.providers.base import AccountListing, CustomerSource
from gateway.providers.client import settle
from gateway.tenants import Tenant

# The accounts a view holds, in its sources' order: the one key of a request's index.
ViewKey = tuple[tuple[Provider, str], ...]
# A record as an index page read it, and how fresh that read was.
Read = tuple[Customer, Freshness | None]


@dataclass(frozen=True, slots=True)
class ViewIndex:
    """Every customer of the view's accounts that could be read, and why some could not."""

    index: LinkIndex
    # A failed account, or one with more pages than the bound: links to its unread customers
    # are missing.
    errors: tuple[GatewayError, ...]


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
        keys = view.index.record(customer.key) or link_keys(customer)
        errors: tuple[GatewayError, ...] = ()
        if not self._reported:
            # Once per request, on the first sameAs resolved, not once per customer.
            self._reported, errors = True, view.errors
        return SameAs(tuple(view.index.links(keys, self.kinds)), errors)

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
        customers: list[Read] = []
        errors: list[GatewayError] = []
        for read in reads:
            if isinstance(read, GatewayError):
                errors.append(read)
                continue
            found, stopped = read
            customers.extend(found)
            if stopped is not None:
                errors.append(stopped)
        return ViewIndex(LinkIndex(link_keys(c, f) for c, f in _unique(customers)), tuple(errors))

    async def _read(self, source: CustomerSource) -> tuple[list[Read], LinkScanLimit | None]:
        """The account's customers, from its first page, at most `max_pages` pages: the
        source's own index pages when it has them (one read for a whole Codat company or
        Lago organisation), else its listing's."""
        customers: list[Read] = []
        token: str | None = None
        for _ in range(self._max_pages):
            if isinstance(source, AccountListing):
                page = await source.index_page(token)
            else:
                page = await source.list_page(EMPTY_FILTER, token)
            # Each with its page's freshness: the page carries it beside its shared items.
            customers.extend((c, page.freshness) for c in page.items)
            if page.next_token is None:
                return customers, None
            token = page.next_token
        return customers, LinkScanLimit(source.provider, source.account, self._max_pages)


def _unique(customers: list[Read]) -> list[Read]:
    # A record that moved between two pages while they were read is indexed once.
    by_key: dict[CustomerKey, Read] = {}
    for read in customers:
        by_key.setdefault(read[0].key, read)
    return list(by_key.values())


__all__ = ["LinkResolver", "SameAs", "ViewIndex"]
