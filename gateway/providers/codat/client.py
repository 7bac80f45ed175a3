"""Codat customer reads for one company."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import orjson

from gateway.cache.entry import Entry
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.errors import GatewayError, RecordUnreadable, UpstreamUnavailable
from gateway.providers.base import Page
from gateway.providers.client import ProviderClient, settle, stamped
from gateway.providers.codat import CODAT
from gateway.providers.codat.connection import CodatConnection
from gateway.providers.codat.mapping import to_domain
from gateway.providers.codat.query import MAX_QUERY_LENGTH, any_of, filter_query, is_plain
from gateway.providers.codat.wire import CodatCustomer, CodatCustomerList
from gateway.providers.paths import path_segment
from gateway.providers.records import Unreadable, fresh, record_id
from gateway.providers.upstream import Upstream

PAGE_SIZE = 100
# An index page (`index_page`): one read lists a company of up to this many customers.
# `pageSize` may reach 5000 (2000 says Codat's PagingInfo schema), but a body past the
# response cap (`max_response_bytes`, 5 MiB) is refused and counts against the breaker: this
# leaves each record 5 KB, several times what a customer with addresses and contacts takes.
INDEX_PAGE_SIZE = 1000
# Codat answers 409 while the customers dataset has never been read or is still syncing.
_NOT_SYNCED = 409


class CodatSource(ProviderClient):
    provider = CODAT

    def __init__(
        self, upstream: Upstream, connection: CodatConnection, *, pushdown: bool = True
    ) -> None:
        super().__init__(upstream, connection.company_id, pushdown=pushdown)
        # Codat's Basic scheme carries the key alone, base64-encoded, with no user:password.
        key = connection.api_key.get_secret_value().encode()
        self._authorization = f"Basic {base64.b64encode(key).decode()}"
        base = connection.base_url.rstrip("/")
        company = quote(connection.company_id, safe="")
        self._customers_url = f"{base}/companies/{company}/data/customers"

    def can_match(self, filter: CustomerFilter) -> bool:
        # Codat has no external ids.
        return filter.external_id is None

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        page = int(token) if token else 1
        return self._as_page(await self._list_entry(self._list_params(filter, page)), page)

    async def index_page(self, token: str | None) -> Page:
        # A filtered read (`query`) matches stored text exactly, so it would miss a tax id
        # another provider writes differently, and a page's emails, tax ids and ids soon pass
        # the query's 2048 characters: `sameAs` indexes the company instead.
        if token is None:
            first = await self._cached(
                "customers", self._list_params(EMPTY_FILTER, 1), self._read_page
            )
            if first is not None and not self._read_page(first).has_next:
                return self._as_page(first, 1)
        page = int(token) if token else 1
        params = {"page": str(page), "pageSize": str(INDEX_PAGE_SIZE), "orderBy": "id"}
        return self._as_page(await self._list_entry(params), page)

    def _list_params(self, filter: CustomerFilter, page: int) -> dict[str, str]:
        params = {"page": str(page), "pageSize": str(PAGE_SIZE), "orderBy": "id"}
        if self._pushdown and (query := filter_query(filter)):
            params["query"] = query
        return params

    def _as_page(self, entry: Entry, page: int) -> Page:
        listed = self._read_page(entry)
        more = listed.has_next and (listed.items or listed.unreadable)
        next_token = str(page + 1) if more else None
        return Page(listed.items, next_token, listed.unreadable, listed.total, entry.freshness)

    def _page(self, raw: bytes) -> _Listed:
        body = self._parse(CodatCustomerList, self._json(raw))
        items, unreadable = self._records(CodatCustomer, body.results, "id", self._to_domain)
        has_next = bool(body.links and body.links.next) or (
            body.pageNumber * body.pageSize < body.totalResults
        )
        return _Listed(items, unreadable, has_next, body.totalResults)

    def _to_domain(self, wire: CodatCustomer, raw: object) -> Customer:
        return to_domain(wire, self.account, raw)

    def _customer_url(self, segment: str) -> str:
        return f"{self._customers_url}/{segment}"

    def _decode_customer(self, raw: bytes) -> Customer | RecordUnreadable:
        return self._record(CodatCustomer, self._object(raw), "id", self._to_domain)

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """Cached ids from the cache; the rest in as few `id=a||id=b` list calls as the
        2048-character query limit allows. Ids the query language could misread are read
        one by one."""
        cached = await self._upstream.cache.lookup_many(
            self._cache_account,
            "customer",
            [{"id": i} for i in native_ids],
            validate=self._customer,
        )
        results: dict[str, Customer | GatewayError | None] = {
            i: _settled(self._customer(e), e)
            for i, e in zip(native_ids, cached, strict=True)
            if e is not None
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

    async def _get_batch(self, ids: list[str]) -> dict[str, Customer | GatewayError | None]:
        params = {"page": "1", "pageSize": str(len(ids)), "query": any_of("id", "=", ids)}
        entry = await self._list_entry(params, asked=ids)
        listed = self._read_page(entry)
        found: dict[str, Customer | GatewayError] = {
            c.key.native_id: stamped(c, entry) for c in listed.items
        }
        found.update(
            (e.provider_id, fresh(e)) for _, e in listed.unreadable if e.provider_id is not None
        )
        return {i: found.get(i) for i in ids}

    def _read_page(self, entry: Entry) -> _Listed:
        return self._decoding("page", self._page)(entry)

    async def _list_entry(self, params: dict[str, str], asked: list[str] | None = None) -> Entry:
        return await self._read(
            "customers", params, lambda: self._fetch_list(params, asked), self._read_page
        )

    async def _fetch_list(self, params: dict[str, str], asked: list[str] | None) -> Entry:
        """List, and store each customer listed under its own get key, so later reads of it
        need no call; for a batch read (`asked`), the ids it did not list are stored as
        not found."""
        entry = await self._fetch(self._customers_url, params)
        # Validated before anything of it is stored: every item then fits the wire model.
        self._read_page(entry)
        results = self._json(entry.body)["results"]
        # An unreadable item is stored too (a get of it then reports it); one without an id
        # we could address cannot be.
        primed: list[tuple[dict[str, str], int, bytes]] = [
            ({"id": native_id}, 200, orjson.dumps(item))
            for item in results
            if (native_id := record_id(item)) is not None
        ]
        if asked:
            listed = {params["id"] for params, _, _ in primed}
            primed += [({"id": i}, 404, b"") for i in asked if i not in listed]
        await self._upstream.cache.put_many(self._cache_account, "customer", primed)
        return entry

    def _customer(self, entry: Entry) -> Customer | RecordUnreadable | None:
        if entry.status == 404:
            return None
        return self._decoding("customer", self._decode_customer)(entry)

    async def _fetch(
        self, url: str, params: Mapping[str, str], *, ok: frozenset[int] = frozenset()
    ) -> Entry:
        entry = await self._send(
            "GET",
            url,
            params=params,
            headers={"Authorization": self._authorization},
            ok=ok | {_NOT_SYNCED},
        )
        if entry.status == _NOT_SYNCED:
            raise UpstreamUnavailable(self.provider)
        return entry


@dataclass(frozen=True, slots=True)
class _Listed:
    """A list answer as read: its records, whether Codat has more, and how many in all."""

    items: tuple[Customer, ...]
    unreadable: tuple[Unreadable, ...]
    has_next: bool
    total: int


def _settled(
    record: Customer | RecordUnreadable | None, entry: Entry
) -> Customer | GatewayError | None:
    if isinstance(record, RecordUnreadable):
        return fresh(record)
    return stamped(record, entry) if record is not None else None


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


__all__ = ["INDEX_PAGE_SIZE", "PAGE_SIZE", "CodatSource"]
