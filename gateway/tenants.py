"""Tenants at run time: their provider connections, and who may act as them.

Gateway API keys are kept only as SHA-256 digests and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.domain.customer import CustomerKey, Provider
from gateway.errors import TenantError
from gateway.providers.codat.client import CodatSource
from gateway.providers.lago.client import LagoSource
from gateway.providers.layer.client import LayerSource

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import httpx

    from gateway.providers.base import CustomerSource
    from gateway.providers.layer.auth import LayerTokens
    from gateway.settings import TenantSettings


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    sources: Mapping[Provider, CustomerSource]

    def source_for(self, key: CustomerKey) -> CustomerSource | None:
        """The connection that owns `key`, or None when the key is another tenant's scope."""
        source = self.sources.get(key.provider)
        return source if source is not None and source.scope == key.scope else None


def build_tenant(
    settings: TenantSettings, http: httpx.AsyncClient, layer_tokens: LayerTokens
) -> Tenant:
    sources: dict[Provider, CustomerSource] = {}
    if settings.layer:
        sources[Provider.LAYER] = LayerSource(http, settings.layer, layer_tokens)
    if settings.codat:
        sources[Provider.CODAT] = CodatSource(http, settings.codat)
    if settings.lago:
        sources[Provider.LAGO] = LagoSource(http, settings.lago)
    return Tenant(id=settings.id, sources=sources)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class TenantDirectory:
    """Finds the tenant a request's `Authorization: Bearer <key>` belongs to."""

    def __init__(self, tenants: Iterable[tuple[TenantSettings, Tenant]]) -> None:
        self._by_digest: list[tuple[bytes, Tenant]] = []
        self._anonymous: Tenant | None = None
        self.tenants: dict[str, Tenant] = {}
        for settings, tenant in tenants:
            self.tenants[tenant.id] = tenant
            self._by_digest.extend(
                (digest(k.get_secret_value()), tenant) for k in settings.api_keys
            )
            if settings.allow_anonymous:
                self._anonymous = tenant

    def authenticate(self, authorization: str | None) -> Tenant:
        if not authorization:
            if self._anonymous is not None:
                return self._anonymous
            raise TenantError("A gateway API key is required: send Authorization: Bearer <key>")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise TenantError("Send the gateway API key as Authorization: Bearer <key>")
        wanted = digest(key.strip())
        found: Tenant | None = None
        # Compare against every digest so the time taken says nothing about which one matched.
        for candidate, tenant in self._by_digest:
            if hmac.compare_digest(candidate, wanted):
                found = tenant
        if found is None:
            raise TenantError("Unknown gateway API key")
        return found


__all__ = ["Tenant", "TenantDirectory", "build_tenant", "digest"]
