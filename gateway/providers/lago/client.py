"""Lago customer reads for one organisation (the API key is the scope)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import httpx

from gateway.cache.keys import Scope
from gateway.cache.upstream import Entry
from gateway.domain.customer import Customer, CustomerStatus, Provider
from gateway.domain.filter import CustomerFilter
from gateway.errors import GatewayError
from gateway.providers._http import (
    Upstream,
    cacheable,
    decoding,
    drop_empty,
    parse,
    read_each,
    read_json,
    read_one,
    read_through,
    send,
)
from gateway.providers.base import Page
from gateway.providers.lago.mapping import to_domain
from gateway.providers.lago.wire import LagoCustomerEnvelope, LagoCustomerList
from gateway.providers.paths import path_segment
from gateway.settings import LagoConnection

PAGE_SIZE = 100


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


class LagoSource:
    provider = Provider.LAGO

    def __init__(
        self, upstream: Upstream, connection: LagoConnection, *, pushdown: bool = True
    ) -> None:
        self._upstream = upstream
        self._connection = connection
        self._pushdown = pushdown
        self._cache_scope = Scope(upstream.tenant, self.provider, connection.organization_id)
        # Parsed pages are shared per tenant and account only: ids embed the account.
        self._memo = f"{self._cache_scope.prefix()}"
        self._customers_url = f"{connection.base_url.rstrip('/')}/customers"

    @property
    def scope(self) -> str:
        return self._connection.organization_id

    @property
    def cache_scope(self) -> Scope:
        return self._cache_scope

    def can_match(self, filter: CustomerFilter) -> bool:
        # Lago serves only live customers, all of them ACTIVE.
        return filter.statuses is None or CustomerStatus.ACTIVE in filter.statuses

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        params = {"page": token or "1", "per_page": str(PAGE_SIZE)}
        if self._pushdown:
            # search_term is an ILIKE over names, external id and email: a superset of each
            # of our text filters, and one value is all it takes.
            params |= drop_empty(
                {
                    "search_term": filter.email or filter.name or filter.search,
                    "external_id": filter.external_id,
                }
            )
        # List items lack the get-only fields, so they are not stored as gets.
        page = decoding(self._upstream, f"{self._memo}:page", self._page)
        entry = await read_through(
            self._upstream,
            self._cache_scope,
            "customers",
            params,
            lambda: self._fetch(self._customers_url, params, False),
            page,
        )
        return page(entry)

    def _page(self, raw: bytes) -> Page:
        payload = read_json(self.provider, raw)
        body = parse(self.provider, LagoCustomerList, payload)
        items = tuple(
            to_domain(w, self.scope, r)
            for w, r in zip(body.customers, payload["customers"], strict=True)
        )
        next_page = body.meta.next_page
        return Page(items=items, next_token=str(next_page) if next_page else None)

    async def get(self, native_id: str) -> Customer | None:
        # Lago addresses customers by external id only; the native id is the external id.
        segment = path_segment(native_id)
        if segment is None:
            return None
        url = f"{self._customers_url}/{segment}"
        fetch = partial(self._fetch, url, {}, True)
        return await read_one(
            self._upstream, self._cache_scope, self._memo, native_id, fetch, self._customer
        )

    def _customer(self, raw: bytes) -> Customer:
        payload = read_json(self.provider, raw)
        body = parse(self.provider, LagoCustomerEnvelope, payload)
        return to_domain(body.customer, self.scope, payload["customer"])

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        return await read_each(self.get, native_ids)

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        return await self.get(external_id)

    async def _fetch(self, url: str, params: dict[str, str], not_found_ok: bool) -> Entry:
        key = self._connection.api_key.get_secret_value()
        request = self._upstream.http.build_request(
            "GET", url, params=params, headers={"Authorization": f"Bearer {key}"}
        )
        passthrough = frozenset({404}) if not_found_ok else frozenset()
        response = await send(
            self._upstream,
            self.provider,
            request,
            retry_after=rate_limit_reset,
            passthrough=passthrough,
        )
        return cacheable(response)


__all__ = ["PAGE_SIZE", "LagoSource", "rate_limit_reset"]
