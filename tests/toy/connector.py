"""The toy provider's folder in one module: connection, wire model, mapping, client, webhook
and connector, each built on the same seams the real providers use."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr

from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.domain.customer import Customer, CustomerKey, CustomerStatus
from gateway.domain.filter import CustomerFilter
from gateway.domain.provider import Provider
from gateway.errors import GatewayError
from gateway.providers.base import CustomerSource, Page, Policy
from gateway.providers.client import ProviderClient
from gateway.providers.upstream import Upstream
from gateway.settings.model import ProviderLimits, Section
from gateway.webhooks.signatures import Verdict, same_digest

TOY = Provider("TOY")


class ToyConnection(Section):
    shop_id: str
    api_key: SecretStr
    base_url: str
    webhook_secret: SecretStr | None = None


@dataclass(frozen=True, slots=True)
class ToyDetails:
    name: str
    shop_id: str


class WireToy(BaseModel):
    id: str
    name: str


class WireToyPage(BaseModel):
    toys: list[WireToy]
    next: int | None


def to_domain(wire: WireToy, shop_id: str) -> Customer:
    return Customer(
        key=CustomerKey(TOY, shop_id, wire.id),
        external_id=None,
        display_name=wire.name,
        company_name=None,
        legal_name=None,
        person_name=None,
        customer_type=None,
        emails=(),
        phones=(),
        addresses=(),
        contacts=(),
        taxes=(),
        tax_id=None,
        registration_number=None,
        integration_links=(),
        tags=(),
        metadata=(),
        notes=None,
        reference_number=None,
        status=CustomerStatus.ACTIVE,
        currency=None,
        timezone=None,
        created_at=None,
        updated_at=None,
        source_modified_at=None,
        details=ToyDetails(wire.name, shop_id),
        raw=wire.model_dump(),
    )


class ToySource(ProviderClient):
    provider = TOY

    def __init__(self, upstream: Upstream, connection: ToyConnection) -> None:
        super().__init__(upstream, connection.shop_id)
        self._key = connection.api_key.get_secret_value()
        self._url = f"{connection.base_url.rstrip('/')}/toys"

    def can_match(self, filter: CustomerFilter) -> bool:
        return True

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        params = {"page": token or "1"}
        page = self._decoding("page", self._page)
        entry = await self._read("customers", params, lambda: self._fetch(self._url, params), page)
        items, next_page = page(entry)
        return Page(items, str(next_page) if next_page else None)

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """One call for every id asked, as a provider with a multi-id read does."""
        params = {"ids": ",".join(sorted(set(native_ids)))}
        page = self._decoding("page", self._page)
        entry = await self._read("batch", params, lambda: self._fetch(self._url, params), page)
        found = {c.key.native_id: c for c in page(entry)[0]}
        return {i: found.get(i) for i in native_ids}

    def _page(self, raw: bytes) -> tuple[tuple[Customer, ...], int | None]:
        body = self._parse(WireToyPage, self._json(raw))
        return tuple(to_domain(w, self.account) for w in body.toys), body.next

    def _customer_url(self, segment: str) -> str:
        return f"{self._url}/{quote(segment, safe='')}"

    def _decode_customer(self, raw: bytes) -> Customer:
        return to_domain(self._parse(WireToy, self._json(raw)), self.account)

    def _headers(self) -> dict[str, str]:
        return {"X-Toy-Key": self._key}


def toy_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ToyWebhooks:
    """`X-Toy-Signature`: hex HMAC-SHA256 of the body; any event retires the shop's entries."""

    def secret(self, connection: ToyConnection) -> SecretStr | None:
        return connection.webhook_secret

    def event_id(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-toy-event")

    async def verify(
        self,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        tolerance: float,
        *,
        connection: ToyConnection,
        http: httpx.AsyncClient,
    ) -> Verdict:
        offered = headers.get("x-toy-signature", "")
        return (
            Verdict.VALID if same_digest(toy_signature(secret, body), offered) else Verdict.INVALID
        )

    async def apply(
        self,
        account: Account,
        connection: ToyConnection,
        cache: UpstreamCache,
        event: dict[str, Any],
    ) -> str:
        await cache.retire(account)
        return "retired"

    def changed(self, event: dict[str, Any]) -> tuple[str, ChangeKind] | None:
        return None


class ToyConnector:
    account_field = None
    provider = TOY
    connection = ToyConnection
    details = ToyDetails
    policy = Policy(limits=ProviderLimits(concurrency=2))
    webhook = ToyWebhooks()

    def account(self, connection: ToyConnection) -> str:
        return connection.shop_id

    def credential(self, connection: ToyConnection) -> str:
        return connection.api_key.get_secret_value()

    def source(self, connection: ToyConnection, upstream: Upstream) -> CustomerSource:
        return ToySource(upstream, connection)


__all__ = ["TOY", "ToyConnection", "ToyConnector", "ToyDetails", "toy_signature"]
