"""Codat customer reads for one company."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from functools import partial
from urllib.parse import quote

import orjson

from gateway.cache.keys import Scope
from gateway.cache.upstream import Entry
from gateway.domain.customer import Customer, Provider
from gateway.domain.filter import CustomerFilter
from gateway.errors import GatewayError, UpstreamUnavailable
from gateway.providers._http import (
    Upstream,
    cacheable,
    parse,
    read_json,
    read_one,
    read_through,
    send,
    settle,
)
from gateway.providers.base import Page
from gateway.providers.codat.mapping import to_domain
from gateway.providers.codat.query import MAX_QUERY_LENGTH, any_of, filter_query, is_plain
from gateway.providers.codat.wire import CodatCustomer, CodatCustomerList
from gateway.providers.paths import path_segment
from gateway.settings import CodatConnection

PAGE_SIZE = 100
# Codat answers 409 while the customers dataset has never been read or is still syncing.
_NOT_SYNCED = 409


class CodatSource:
    provider = Provider.CODAT

    def __init__(
        self, upstream: Upstream, connection: CodatConnection, *, pushdown: bool = True
    ) -> None:
        self._upstream = upstream
        self._connection = connection
        self._pushdown = pushdown
        self._cache_scope = Scope(upstream.tenant, self.provider, connection.company_id)
        # Parsed pages are shared per tenant and account only: ids embed the account.
        self._memo = f"{self._cache_scope.prefix()}"
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
        items, has_next = self._read_page(await self._list_entry(params))
        return Page(items=items, next_token=str(page + 1) if has_next and items else None)

    def _page(self, raw: bytes) -> tuple[tuple[Customer, ...], bool]:
        payload = read_json(self.provider, raw)
        body = parse(self.provider, CodatCustomerList, payload)
        items = tuple(
            to_domain(w, self.scope, r)
            for w, r in zip(body.results, payload["results"], strict=True)
        )
        has_next = bool(body.links and body.links.next) or (
            body.pageNumber * body.pageSize < body.totalResults
        )
        return items, has_next

    async def get(self, native_id: str) -> Customer | None:
        segment = path_segment(native_id)
        if segment is None:
            return None
        url = f"{self._customers_url}/{segment}"
        fetch = partial(self._fetch, url, {}, True)
        return await read_one(
            self._upstream, self._cache_scope, self._memo, native_id, fetch, self._decode
        )

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """Cached ids from the cache; the rest in as few `id=a||id=b` list calls as the
        2048-character query limit allows. Ids the query language could misread are read
        one by one."""
        cached = await self._upstream.cache.lookup_many(
            self._cache_scope, "customer", [{"id": i} for i in native_ids], validate=self._customer
        )
        results: dict[str, Customer | GatewayError | None] = {
            i: self._customer(e) for i, e in zip(native_ids, cached, strict=True) if e is not None
        }
        missing = [i for i in dict.fromkeys(native_ids) if i not in results]
        # An id no URL path can carry names no customer, read alone or in a batch.
        results.update((i, None) for i in missing if path_segment(i) is None)
        missing = [i for i in missing if i not in results]
        batches = _batches([i for i in missing if is_plain(i)])
        singles = [i for i in missing if not is_plain(i)]
        batch_outcomes, single_outcomes = await asyncio.gather(
            asyncio.gather(*(self._get_batch(b) for b in batches), return_exceptions=True),
            asyncio.gather(*(self.get(i) for i in singles), return_exceptions=True),
        )
        for batch, outcome in zip(batches, settle(batch_outcomes), strict=True):
            # A failed batch fails its own ids only.
            results.update(
                dict.fromkeys(batch, outcome) if isinstance(outcome, GatewayError) else outcome
            )
        results.update(zip(singles, settle(single_outcomes), strict=True))
        return results

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        return None

    async def _get_batch(self, ids: list[str]) -> dict[str, Customer | None]:
        params = {"page": "1", "pageSize": str(len(ids)), "query": any_of("id", "=", ids)}
        items, _ = self._read_page(await self._list_entry(params, asked=ids))
        found = {c.key.native_id: c for c in items}
        return {i: found.get(i) for i in ids}

    def _read_page(self, entry: Entry) -> tuple[tuple[Customer, ...], bool]:
        return self._upstream.cache.decoded.get(entry.body, f"{self._memo}:page", self._page)

    async def _list_entry(self, params: dict[str, str], asked: list[str] | None = None) -> Entry:
        return await read_through(
            self._upstream,
            self._cache_scope,
            "customers",
            params,
            lambda: self._fetch_list(params, asked),
            self._read_page,
        )

    async def _fetch_list(self, params: dict[str, str], asked: list[str] | None) -> Entry:
        """List, and store each customer listed under its own get key, so later reads of it
        need no call; for a batch read (`asked`), the ids it did not list are stored as
        not found."""
        entry = await self._fetch(self._customers_url, params, False)
        # Validated before anything of it is stored: every item then fits the wire model.
        self._read_page(entry)
        results = read_json(self.provider, entry.body)["results"]
        primed: list[tuple[dict[str, str], int, bytes]] = [
            ({"id": item["id"]}, 200, orjson.dumps(item)) for item in results
        ]
        if asked:
            listed = {params["id"] for params, _, _ in primed}
            primed += [({"id": i}, 404, b"") for i in asked if i not in listed]
        await self._upstream.cache.put_many(self._cache_scope, "customer", primed)
        return entry

    def _customer(self, entry: Entry) -> Customer | None:
        if entry.status == 404:
            return None
        return self._upstream.cache.decoded.get(entry.body, f"{self._memo}:customer", self._decode)

    def _decode(self, raw: bytes) -> Customer:
        payload = read_json(self.provider, raw)
        return to_domain(parse(self.provider, CodatCustomer, payload), self.scope, payload)

    async def _fetch(self, url: str, params: dict[str, str], not_found_ok: bool) -> Entry:
        request = self._upstream.http.build_request(
            "GET", url, params=params, headers={"Authorization": self._authorization()}
        )
        passthrough = {404, _NOT_SYNCED} if not_found_ok else {_NOT_SYNCED}
        response = await send(
            self._upstream, self.provider, request, passthrough=frozenset(passthrough)
        )
        if response.status_code == _NOT_SYNCED:
            raise UpstreamUnavailable(self.provider)
        return cacheable(response)

    def _authorization(self) -> str:
        # Codat's Basic scheme carries the key alone, base64-encoded, with no user:password pair.
        key = self._connection.api_key.get_secret_value().encode()
        return f"Basic {base64.b64encode(key).decode()}"


def _batches(ids: list[str]) -> list[list[str]]:
    """Split ids into OR-queries that each stay under Codat's query length limit."""
    batches: list[list[str]] = []
    current: list[str] = []
    length = 2  # the braces of a group
    for native_id in dict.fromkeys(ids):
        clause = len("id=") + len(native_id) + len("||")
        if current and length + clause > MAX_QUERY_LENGTH:
            batches.append(current)
            current, length = [], 2
        current.append(native_id)
        length += clause
    if current:
        batches.append(current)
    return batches


__all__ = ["PAGE_SIZE", "CodatSource"]
