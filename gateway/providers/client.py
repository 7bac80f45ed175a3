"""What the three clients read the same way: GETs through the cache, JSON, wire models.

A client says what differs: its URLs and headers, which statuses mean something for an
endpoint (a 404 on a get is "no such customer"), and how a body maps to customers. The
transport below has already retried what could be retried.

Parsed answers are shared by every read of the same bytes, so what a read returns is stamped
afterwards with the freshness of the entry that read got (docs/freshness.md): a customer read
by id is copied with it (`stamped`); a page carries it beside its shared items
(`stamped_page`), since copying every item of every page read cost more than the rest of a
request.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import orjson
import pydantic

from gateway.cache.entry import Entry, Fetch, Validate
from gateway.cache.keys import Account
from gateway.domain.customer import Customer
from gateway.domain.provider import Provider
from gateway.errors import (
    GatewayError,
    RecordUnreadable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRejected,
)
from gateway.providers.base import Page
from gateway.providers.paths import path_segment
from gateway.providers.records import (
    MapRecord,
    Unreadable,
    fresh,
    read_record,
    read_records,
)
from gateway.providers.upstream import Upstream

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
T = TypeVar("T")


class ProviderClient:
    """The base of a provider's customer source: one tenant's reads of one account."""

    provider: ClassVar[Provider]

    def __init__(self, upstream: Upstream, account: str, *, pushdown: bool = True) -> None:
        self._upstream = upstream
        self._pushdown = pushdown
        self._cache_account = Account(upstream.tenant, self.provider, account)
        # Parsed answers are shared per tenant and account only: ids embed the account.
        self._memo = self._cache_account.prefix()

    @property
    def account(self) -> str:
        return self._cache_account.id

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        return None

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """One get per id, concurrently (the gate bounds how many reach the provider at
        once); a failed id carries its own error. Providers with a multi-id read override."""
        results = await asyncio.gather(*(self.get(i) for i in native_ids), return_exceptions=True)
        return dict(zip(native_ids, settle(results), strict=True))

    async def get(self, native_id: str) -> Customer | None:
        """One customer by id, through the cache: None on a (cached) 404, else parsed once.
        A record that cannot be read is stored like any other answer and raised each time."""
        segment = path_segment(native_id)
        if segment is None:
            # No URL path can carry this id, so it names no customer.
            return None
        customer = self._decoding("customer", self._decode_customer)
        entry = await self._read(
            "customer",
            {"id": native_id},
            lambda: self._fetch(self._customer_url(segment), {}, ok=frozenset({404})),
            customer,
        )
        if entry.status == 404:
            return None
        return stamped(readable(customer(entry)), entry)

    async def peek(self, native_id: str) -> Customer | None:
        customer = self._decoding("customer", self._decode_customer)
        entry = await self._cached("customer", {"id": native_id}, customer)
        if entry is None or entry.status != 200:
            return None
        record = customer(entry)
        return None if isinstance(record, RecordUnreadable) else stamped(record, entry)

    def _customer_url(self, segment: str) -> str:
        raise NotImplementedError

    def _decode_customer(self, raw: bytes) -> Customer | RecordUnreadable:
        raise NotImplementedError

    def _record(
        self, model: type[ModelT], payload: Any, id_field: str, to_domain: MapRecord[ModelT]
    ) -> Customer | RecordUnreadable:
        """One record of a body whose envelope was read: the customer, or why it cannot be."""
        return read_record(self.provider, model, payload, id_field, to_domain)

    def _records(
        self,
        model: type[ModelT],
        payloads: Sequence[Any],
        id_field: str,
        to_domain: MapRecord[ModelT],
    ) -> tuple[tuple[Customer, ...], tuple[Unreadable, ...]]:
        """A page's records one by one: one that cannot be read costs only itself."""
        return read_records(self.provider, model, payloads, id_field, to_domain)

    async def _fetch(
        self, url: str, params: Mapping[str, str], *, ok: frozenset[int] = frozenset()
    ) -> Entry:
        """A GET with the provider's headers, as a cacheable entry."""
        return await self._send("GET", url, params=params, headers=self._headers(), ok=ok)

    def _headers(self) -> dict[str, str]:
        return {}

    async def _send(
        self,
        method: str,
        url: str,
        *,
        ok: frozenset[int] = frozenset(),
        **request: Any,
    ) -> Entry:
        """Send, and return 2xx and the `ok` statuses; any other 4xx is the request's error."""
        http = self._upstream.http
        response = await http.send(http.build_request(method, url, **request))
        status = response.status_code
        if status < 300 or status in ok:
            return Entry(status, response.content)
        if status in (401, 403):
            raise UpstreamAuthError(self.provider)
        raise UpstreamRejected(self.provider)

    async def _read(
        self, resource: str, params: Mapping[str, str], fetch: Fetch, validate: Validate
    ) -> Entry:
        """The cache's read-through, bounded by the request's deadline."""
        return await self._upstream.cache.fetch(
            self._cache_account,
            resource,
            params,
            fetch,
            validate=validate,
            deadline=self._upstream.timer,
        )

    async def _cached(
        self, resource: str, params: Mapping[str, str], validate: Validate
    ) -> Entry | None:
        """The fresh, valid entry of a read if the cache holds one; never a provider call."""
        (entry,) = await self._upstream.cache.lookup_many(
            self._cache_account, resource, [params], validate=validate
        )
        return entry

    def _decoding(self, kind: str, parse: Callable[[bytes], T]) -> Callable[[Entry], T]:
        """A parse as the cache's `validate`: parsed into the shared memo under `kind`, so a
        later `decoded.get(entry.body, kind, parse)` costs no second parse."""
        memo = f"{self._memo}:{kind}"
        decoded = self._upstream.cache.decoded

        def validate(entry: Entry) -> T:
            return decoded.get(entry.body, memo, parse)

        return validate

    def _json(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise UpstreamBadResponse(self.provider) from exc

    def _object(self, body: bytes) -> dict[str, Any]:
        payload = self._json(body)
        if not isinstance(payload, dict):
            raise UpstreamBadResponse(self.provider)
        return payload

    def _parse(self, model: type[ModelT], payload: Any) -> ModelT:
        """Validate a wire payload; a body of the wrong shape is the provider's fault."""
        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise UpstreamBadResponse(self.provider) from exc


def readable(record: Customer | RecordUnreadable) -> Customer:
    """The customer, or its `RecordUnreadable` raised: a read by id gives null plus the error."""
    if isinstance(record, RecordUnreadable):
        raise fresh(record)
    return record


def stamped(customer: Customer, entry: Entry) -> Customer:
    """`customer`, as read from `entry`: with the freshness the read served it at."""
    if entry.freshness is None:
        return customer
    return dataclasses.replace(customer, freshness=entry.freshness)


def stamped_page(page: Page, entry: Entry) -> Page:
    """`page` as read from `entry`: its `freshness` is the entry's; its items are untouched."""
    return Page(page.items, page.next_token, page.unreadable, page.total, entry.freshness)


def settle(results: Sequence[T | BaseException]) -> list[T | GatewayError]:
    """`gather(..., return_exceptions=True)` results with gateway errors kept per item; any
    other exception is a bug and propagates."""
    settled: list[T | GatewayError] = []
    for result in results:
        if isinstance(result, GatewayError) or not isinstance(result, BaseException):
            settled.append(result)
        else:
            raise result
    return settled


def drop_empty(params: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


__all__ = ["ProviderClient", "drop_empty", "readable", "settle", "stamped", "stamped_page"]
