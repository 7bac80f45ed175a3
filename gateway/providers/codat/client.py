"""Codat customer reads for one company."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import quote

from gateway.domain.customer import Customer, Provider
from gateway.errors import UpstreamUnavailable
from gateway.providers._http import parse, read_json, send
from gateway.providers.base import Page
from gateway.providers.codat.mapping import to_domain
from gateway.providers.codat.query import filter_query
from gateway.providers.codat.wire import CodatCustomer, CodatCustomerList

if TYPE_CHECKING:
    import httpx

    from gateway.domain.filter import CustomerFilter
    from gateway.settings import CodatConnection

PAGE_SIZE = 100
# Codat answers 409 while the customers dataset has never been read or is still syncing.
_NOT_SYNCED = 409


class CodatSource:
    provider = Provider.CODAT

    def __init__(
        self, http: httpx.AsyncClient, connection: CodatConnection, *, pushdown: bool = True
    ) -> None:
        self._http = http
        self._connection = connection
        self._pushdown = pushdown
        base = connection.base_url.rstrip("/")
        company = quote(connection.company_id, safe="")
        self._customers_url = f"{base}/companies/{company}/data/customers"

    @property
    def scope(self) -> str:
        return self._connection.company_id

    def can_match(self, filter: CustomerFilter) -> bool:
        # Codat has no external ids.
        return filter.external_id is None

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        page = int(token) if token else 1
        params = {"page": str(page), "pageSize": str(PAGE_SIZE), "orderBy": "id"}
        if self._pushdown and (query := filter_query(filter)):
            params["query"] = query
        response = await self._get(self._customers_url, params, not_found_ok=False)
        payload = read_json(self.provider, response)
        body = parse(self.provider, CodatCustomerList, payload)
        items = tuple(
            to_domain(w, self.scope, r)
            for w, r in zip(body.results, payload["results"], strict=True)
        )
        has_next = bool(body.links and body.links.next) or (
            body.pageNumber * body.pageSize < body.totalResults
        )
        return Page(items=items, next_token=str(page + 1) if has_next and items else None)

    async def get(self, native_id: str) -> Customer | None:
        url = f"{self._customers_url}/{quote(native_id, safe='')}"
        response = await self._get(url, {}, not_found_ok=True)
        if response.status_code == 404:
            return None
        payload = read_json(self.provider, response)
        return to_domain(parse(self.provider, CodatCustomer, payload), self.scope, payload)

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        return None

    async def _get(self, url: str, params: dict[str, str], *, not_found_ok: bool) -> httpx.Response:
        request = self._http.build_request(
            "GET", url, params=params, headers={"Authorization": self._authorization()}
        )
        response = await send(
            self._http,
            self.provider,
            request,
            passthrough=frozenset({404, _NOT_SYNCED} if not_found_ok else {_NOT_SYNCED}),
        )
        if response.status_code == _NOT_SYNCED:
            raise UpstreamUnavailable(self.provider)
        return response

    def _authorization(self) -> str:
        # Codat's Basic scheme carries the key alone, base64-encoded, with no user:password pair.
        key = self._connection.api_key.get_secret_value().encode()
        return f"Basic {base64.b64encode(key).decode()}"


__all__ = ["PAGE_SIZE", "CodatSource"]
