"""Layer customer reads for one business."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from gateway.domain.customer import Customer, CustomerStatus, Provider
from gateway.errors import UpstreamAuthError
from gateway.providers._http import drop_empty, parse, read_json, send
from gateway.providers.base import Page
from gateway.providers.layer.mapping import to_domain
from gateway.providers.layer.wire import LayerCustomerEnvelope, LayerCustomerList

if TYPE_CHECKING:
    import httpx

    from gateway.domain.filter import CustomerFilter
    from gateway.providers.layer.auth import LayerTokens
    from gateway.settings import LayerConnection

PAGE_SIZE = 100


class LayerSource:
    """Reads one business's customers. `pushdown=False` sends no filter upstream (tests use it
    to prove the gateway-side filter gives the same answer)."""

    provider = Provider.LAYER

    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: LayerConnection,
        tokens: LayerTokens,
        *,
        pushdown: bool = True,
    ) -> None:
        self._http = http
        self._connection = connection
        self._tokens = tokens
        self._pushdown = pushdown
        base = connection.base_url.rstrip("/")
        self._customers_url = (
            f"{base}/v1/businesses/{quote(connection.business_id, safe='')}/customers"
        )

    @property
    def scope(self) -> str:
        return self._connection.business_id

    def can_match(self, filter: CustomerFilter) -> bool:
        # Layer customers carry no timestamps, so none is "modified since" anything.
        return filter.modified_since is None

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        params = {"limit": str(PAGE_SIZE), "cursor": token, **self._pushed_down(filter)}
        response = await self._get(self._customers_url, drop_empty(params), not_found_ok=False)
        payload = read_json(self.provider, response)
        body = parse(self.provider, LayerCustomerList, payload)
        pagination = body.meta.pagination if body.meta else None
        next_token = pagination.cursor if pagination and pagination.has_more else None
        items = tuple(
            to_domain(wire, self.scope, raw)
            for wire, raw in zip(body.data, payload["data"], strict=True)
        )
        return Page(items=items, next_token=next_token)

    async def get(self, native_id: str) -> Customer | None:
        url = f"{self._customers_url}/{quote(native_id, safe='')}"
        response = await self._get(url, {}, not_found_ok=True)
        if response.status_code == 404:
            return None
        payload = read_json(self.provider, response)
        body = parse(self.provider, LayerCustomerEnvelope, payload)
        return to_domain(body.data, self.scope, payload["data"])

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        params = {"external_id": external_id, "include_archived": "true", "limit": "1"}
        response = await self._get(self._customers_url, params, not_found_ok=False)
        payload = read_json(self.provider, response)
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

    async def _get(self, url: str, params: dict[str, str], *, not_found_ok: bool) -> httpx.Response:
        """GET with a bearer token. A 404 comes back only where it means "no such customer";
        on a list it means the business is unknown, which is the gateway's configuration."""
        passthrough = frozenset({401, 404}) if not_found_ok else frozenset({401})
        # One retry with a fresh token: Layer answers 401 once a token has expired early.
        for attempt in range(2):
            token = await self._tokens.get(self._http, self._connection)
            request = self._http.build_request(
                "GET", url, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            response = await send(self._http, self.provider, request, passthrough=passthrough)
            if response.status_code != 401:
                return response
            self._tokens.discard(self._connection, token)
            if attempt:
                break
        raise UpstreamAuthError(self.provider)


__all__ = ["PAGE_SIZE", "LayerSource"]
