"""Layer customer reads for one business."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from gateway.cache.entry import Entry
from gateway.domain.customer import Customer, CustomerStatus
from gateway.domain.filter import CustomerFilter, pushed_word
from gateway.errors import RecordUnreadable, UpstreamAuthError
from gateway.providers.base import Page
from gateway.providers.client import (
    ProviderClient,
    drop_empty,
    readable,
    stamped,
    stamped_page,
)
from gateway.providers.layer import LAYER
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.layer.connection import LayerConnection
from gateway.providers.layer.mapping import to_domain
from gateway.providers.layer.wire import LayerCustomer, LayerCustomerEnvelope, LayerCustomerList
from gateway.providers.records import record_id
from gateway.providers.upstream import Upstream

PAGE_SIZE = 100


class LayerSource(ProviderClient):
    """Reads one business's customers. `pushdown=False` sends no filter upstream (tests use it
    to prove the gateway-side filter gives the same answer)."""

    provider = LAYER

    def __init__(
        self,
        upstream: Upstream,
        connection: LayerConnection,
        tokens: LayerTokens,
        *,
        pushdown: bool = True,
    ) -> None:
        super().__init__(upstream, connection.business_id, pushdown=pushdown)
        self._connection = connection
        self._tokens = tokens
        base = connection.base_url.rstrip("/")
        business = quote(connection.business_id, safe="")
        self._customers_url = f"{base}/v1/businesses/{business}/customers"

    def can_match(self, filter: CustomerFilter) -> bool:
        # Layer customers carry no timestamps, so none is "modified since" anything.
        return filter.modified_since is None

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        params = drop_empty({"limit": str(PAGE_SIZE), "cursor": token, **self._pushed_down(filter)})
        entry = await self._list_entry(params)
        return stamped_page(self._read_page(entry), entry)

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        params = {"external_id": external_id, "include_archived": "true", "limit": "1"}
        entry = await self._list_entry(params)
        page = self._read_page(entry)
        matches = [c for c in page.items if c.external_id == external_id]
        if matches:
            return stamped(matches[0], entry)
        # Layer filtered by the external id: a record it sent that we cannot read is the one.
        return readable(page.unreadable[0][1]) if page.unreadable else None

    def _customer_url(self, segment: str) -> str:
        return f"{self._customers_url}/{segment}"

    def _decode_customer(self, raw: bytes) -> Customer | RecordUnreadable:
        body = self._parse(LayerCustomerEnvelope, self._json(raw))
        return self._record(LayerCustomer, body.data, "id", self._to_domain)

    def _page(self, raw: bytes) -> Page:
        body = self._parse(LayerCustomerList, self._object(raw))
        pagination = body.meta.pagination if body.meta else None
        next_token = pagination.cursor if pagination and pagination.has_more else None
        items, unreadable = self._records(LayerCustomer, body.data, "id", self._to_domain)
        # Layer's documented list has no total; its SDK reads an optional one.
        total = pagination.total_count if pagination else None
        return Page(items, next_token, unreadable, total=total)

    def _to_domain(self, wire: LayerCustomer, raw: object) -> Customer:
        return to_domain(wire, self.account, raw)

    def _pushed_down(self, filter: CustomerFilter) -> dict[str, str | None]:
        only_active = filter.statuses is not None and CustomerStatus.ARCHIVED not in filter.statuses
        params: dict[str, str | None] = {"include_archived": "false" if only_active else "true"}
        if self._pushdown:
            # One value over individual and company name: one word of a phrase that may span
            # both (a superset; the gateway re-checks every word).
            params["name_contains"] = pushed_word(filter.name) if filter.name else None
            params["external_id"] = filter.external_id
        return params

    def _read_page(self, entry: Entry) -> Page:
        return self._decoding("page", self._page)(entry)

    async def _list_entry(self, params: dict[str, str]) -> Entry:
        return await self._read(
            "customers", params, lambda: self._fetch_list(params), self._read_page
        )

    async def _fetch_list(self, params: dict[str, str]) -> Entry:
        # A 404 on a list means the business is unknown: the gateway's configuration.
        entry = await self._fetch(self._customers_url, params)
        # Validated before anything of it is stored: every item then fits the wire model.
        self._read_page(entry)
        # A listed customer is the same object a get returns: later gets need no call. An
        # unreadable one is stored too (a get then reports it), unless it has no usable id.
        items: list[Any] = self._object(entry.body)["data"]
        await self._upstream.cache.put_many(
            self._cache_account,
            "customer",
            [
                ({"id": native_id}, 200, orjson.dumps({"data": item}))
                for item in items
                if (native_id := record_id(item)) is not None
            ],
        )
        return entry

    async def _fetch(
        self, url: str, params: dict[str, str] | Any, *, ok: frozenset[int] = frozenset()
    ) -> Entry:
        """GET with a bearer token, and one retry with a fresh token: Layer answers 401 once
        a token has expired early."""
        for attempt in range(2):
            token = await self._tokens.get(self._upstream, self._connection)
            entry = await self._send(
                "GET",
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                ok=ok | {401},
            )
            if entry.status != 401:
                return entry
            self._tokens.discard(self._connection, token)
            if attempt:
                break
        raise UpstreamAuthError(self.provider)


__all__ = ["PAGE_SIZE", "LayerSource"]
