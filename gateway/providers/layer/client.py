"""Layer customer reads for one business."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

import orjson

from gateway.cache.keys import Scope
from gateway.cache.upstream import Entry
from gateway.domain.customer import Customer, CustomerStatus, Provider
from gateway.domain.filter import CustomerFilter
from gateway.errors import GatewayError, UpstreamAuthError, UpstreamBadResponse
from gateway.providers._http import (
    Upstream,
    cacheable,
    drop_empty,
    parse,
    read_each,
    read_json,
    read_one,
    read_through,
    send,
)
from gateway.providers.base import Page
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.layer.mapping import to_domain
from gateway.providers.layer.wire import LayerCustomerEnvelope, LayerCustomerList
from gateway.providers.paths import path_segment
from gateway.settings import LayerConnection

PAGE_SIZE = 100


class LayerSource:
    """Reads one business's customers. `pushdown=False` sends no filter upstream (tests use it
    to prove the gateway-side filter gives the same answer)."""

    provider = Provider.LAYER

    def __init__(
        self,
        upstream: Upstream,
        connection: LayerConnection,
        tokens: LayerTokens,
        *,
        pushdown: bool = True,
    ) -> None:
        self._upstream = upstream
        self._connection = connection
        self._tokens = tokens
        self._pushdown = pushdown
        self._cache_scope = Scope(upstream.tenant, self.provider, connection.business_id)
        # Parsed pages are shared per tenant and account only: ids embed the account.
        self._memo = f"{self._cache_scope.prefix()}"
        base = connection.base_url.rstrip("/")
        business = quote(connection.business_id, safe="")
        self._customers_url = f"{base}/v1/businesses/{business}/customers"

    @property
    def scope(self) -> str:
        return self._connection.business_id

    def can_match(self, filter: CustomerFilter) -> bool:
        # Layer customers carry no timestamps, so none is "modified since" anything.
        return filter.modified_since is None

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        params = drop_empty({"limit": str(PAGE_SIZE), "cursor": token, **self._pushed_down(filter)})
        return self._read_page(await self._list_entry(params))

    def _page(self, raw: bytes) -> Page:
        payload = self._object(raw)
        body = parse(self.provider, LayerCustomerList, payload)
        pagination = body.meta.pagination if body.meta else None
        next_token = pagination.cursor if pagination and pagination.has_more else None
        items = tuple(
            to_domain(wire, self.scope, raw)
            for wire, raw in zip(body.data, payload["data"], strict=True)
        )
        return Page(items=items, next_token=next_token)

    async def get(self, native_id: str) -> Customer | None:
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
        body = parse(self.provider, LayerCustomerEnvelope, payload)
        return to_domain(body.data, self.scope, payload["data"])

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        return await read_each(self.get, native_ids)

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        params = {"external_id": external_id, "include_archived": "true", "limit": "1"}
        payload = self._object((await self._list_entry(params)).body)
        body = parse(self.provider, LayerCustomerList, payload)
        matches = [
            to_domain(w, self.scope, r)
            for w, r in zip(body.data, payload["data"], strict=True)
            if w.external_id == external_id
        ]
        return matches[0] if matches else None

    def _pushed_down(self, filter: CustomerFilter) -> dict[str, str | None]:
        only_active = filter.statuses is not None and CustomerStatus.ARCHIVED not in filter.statuses
        params: dict[str, str | None] = {"include_archived": "false" if only_active else "true"}
        if self._pushdown:
            params["name_contains"] = filter.name
            params["external_id"] = filter.external_id
        return params

    def _read_page(self, entry: Entry) -> Page:
        return self._upstream.cache.decoded.get(entry.body, f"{self._memo}:page", self._page)

    async def _list_entry(self, params: dict[str, str]) -> Entry:
        return await read_through(
            self._upstream,
            self._cache_scope,
            "customers",
            params,
            lambda: self._fetch_list(params),
            self._read_page,
        )

    def _object(self, raw: bytes) -> dict[str, Any]:
        payload = read_json(self.provider, raw)
        if not isinstance(payload, dict):
            raise UpstreamBadResponse(self.provider)
        return payload

    async def _fetch_list(self, params: dict[str, str]) -> Entry:
        entry = await self._fetch(self._customers_url, params, False)
        # Validated before anything of it is stored: every item then fits the wire model.
        self._read_page(entry)
        # A listed customer is the same object a get returns: later gets need no call.
        items = self._object(entry.body)["data"]
        await self._upstream.cache.put_many(
            self._cache_scope,
            "customer",
            [({"id": item["id"]}, 200, orjson.dumps({"data": item})) for item in items],
        )
        return entry

    async def _fetch(self, url: str, params: dict[str, str], not_found_ok: bool) -> Entry:
        """GET with a bearer token. A 404 comes back only where it means "no such customer";
        on a list it means the business is unknown, which is the gateway's configuration."""
        passthrough = frozenset({401, 404}) if not_found_ok else frozenset({401})
        # One retry with a fresh token: Layer answers 401 once a token has expired early.
        for attempt in range(2):
            token = await self._tokens.get(self._upstream, self._connection)
            request = self._upstream.http.build_request(
                "GET", url, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            response = await send(self._upstream, self.provider, request, passthrough=passthrough)
            if response.status_code != 401:
                return cacheable(response)
            self._tokens.discard(self._connection, token)
            if attempt:
                break
        raise UpstreamAuthError(self.provider)


__all__ = ["PAGE_SIZE", "LayerSource"]
