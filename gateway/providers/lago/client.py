"""Lago customer reads for one organisation (the API key is the account)."""

from __future__ import annotations

import httpx

from gateway.cache.entry import Entry
from gateway.domain.customer import Customer, CustomerStatus
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter, pushed_word
from gateway.errors import RecordUnreadable
from gateway.providers.base import Page
from gateway.providers.client import ProviderClient, drop_empty, stamped_page
from gateway.providers.lago import LAGO
from gateway.providers.lago.connection import LagoConnection
from gateway.providers.lago.mapping import to_domain
from gateway.providers.lago.wire import LagoCustomer, LagoCustomerEnvelope, LagoCustomerList
from gateway.providers.upstream import Upstream

PAGE_SIZE = 100
# An index page (`index_page`): one read lists an organisation of up to this many customers.
# The server caps `per_page` nowhere (Kaminari without `max_per_page`), but a body past the
# response cap (`max_response_bytes`, 5 MiB) is refused and counts against the breaker: this
# leaves each record 5 KB, more than twice what a customer with taxes and integrations takes.
INDEX_PAGE_SIZE = 1000
# Lago addresses a customer by its external id: the provider id an unreadable record reports.
_ID = "external_id"


def rate_limit_reset(response: httpx.Response) -> float | None:
    """Lago says when to come back in `X-RateLimit-Reset`, as seconds until the window resets."""
    for header in ("retry-after", "x-ratelimit-reset"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


class LagoSource(ProviderClient):
    provider = LAGO

    def __init__(
        self, upstream: Upstream, connection: LagoConnection, *, pushdown: bool = True
    ) -> None:
        super().__init__(upstream, connection.organization_id, pushdown=pushdown)
        self._authorization = f"Bearer {connection.api_key.get_secret_value()}"
        self._customers_url = f"{connection.base_url.rstrip('/')}/customers"

    def can_match(self, filter: CustomerFilter) -> bool:
        # Lago serves only live customers, all of them ACTIVE.
        return filter.statuses is None or CustomerStatus.ACTIVE in filter.statuses

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        return await self._list(self._list_params(filter, token))

    async def index_page(self, token: str | None) -> Page:
        # Lago filters by one search term or one external id at a time, never by a page's
        # emails, tax ids and integration ids at once: `sameAs` indexes the organisation.
        if token is None:
            listed = self._list_params(EMPTY_FILTER, None)
            first = await self._cached("customers", listed, self._page_of)
            if first is not None and (page := self._page_of(first)).next_token is None:
                return stamped_page(page, first)
        return await self._list({"page": token or "1", "per_page": str(INDEX_PAGE_SIZE)})

    def _list_params(self, filter: CustomerFilter, token: str | None) -> dict[str, str]:
        params = {"page": token or "1", "per_page": str(PAGE_SIZE)}
        if self._pushdown:
            params |= drop_empty(
                {"search_term": search_term(filter), "external_id": filter.external_id}
            )
        return params

    async def _list(self, params: dict[str, str]) -> Page:
        # List items lack the get-only fields, so they are not stored as gets.
        page = self._page_of
        entry = await self._read(
            "customers", params, lambda: self._fetch(self._customers_url, params), page
        )
        return stamped_page(page(entry), entry)

    def _page_of(self, entry: Entry) -> Page:
        return self._decoding("page", self._page)(entry)

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        # Lago addresses customers by external id only; the native id is the external id.
        return await self.get(external_id)

    def _page(self, raw: bytes) -> Page:
        body = self._parse(LagoCustomerList, self._json(raw))
        items, unreadable = self._records(LagoCustomer, body.customers, _ID, self._to_domain)
        next_page = body.meta.next_page
        next_token = str(next_page) if next_page else None
        return Page(items, next_token, unreadable, total=body.meta.total_count)

    def _customer_url(self, segment: str) -> str:
        return f"{self._customers_url}/{segment}"

    def _decode_customer(self, raw: bytes) -> Customer | RecordUnreadable:
        body = self._parse(LagoCustomerEnvelope, self._json(raw))
        return self._record(LagoCustomer, body.customer, _ID, self._to_domain)

    def _to_domain(self, wire: LagoCustomer, raw: object) -> Customer:
        return to_domain(wire, self.account, raw)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization}


def search_term(filter: CustomerFilter) -> str | None:
    """Lago's `search_term`, an ILIKE of one value over each of name, firstname, lastname,
    legal_name, external id and email *separately*: the email, else one word of the name or
    search text (a phrase would have to sit whole in one field; a word of a match does)."""
    if filter.email:
        return filter.email
    text = filter.name or filter.search
    return pushed_word(text) if text else None


__all__ = ["INDEX_PAGE_SIZE", "PAGE_SIZE", "LagoSource", "rate_limit_reset", "search_term"]
