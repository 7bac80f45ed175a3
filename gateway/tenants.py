"""Tenants at run time: their provider connections, and who may act as them.

Gateway API keys are kept only as SHA-256 digests and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx

from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import CustomerKey, Provider
from gateway.errors import TenantError
from gateway.providers._http import Upstream
from gateway.providers.base import CustomerSource
from gateway.providers.codat.client import CodatSource
from gateway.providers.gate import Gates
from gateway.providers.lago.client import LagoSource
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.layer.client import LayerSource
from gateway.settings import TenantSettings


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    sources: Mapping[Provider, CustomerSource]
    settings: TenantSettings

    def source_for(self, key: CustomerKey) -> CustomerSource | None:
        """The connection that owns `key`, or None when the key is another tenant's scope."""
        source = self.sources.get(key.provider)
        return source if source is not None and source.scope == key.scope else None


@dataclass(frozen=True, slots=True)
class SharedUpstream:
    """What every tenant's connections share: one HTTP client, the cache, gates, tokens."""

    http: httpx.AsyncClient
    cache: UpstreamCache
    gates: Gates
    layer_tokens: LayerTokens


def build_tenant(settings: TenantSettings, shared: SharedUpstream) -> Tenant:
    def upstream(provider: Provider, credential: str) -> Upstream:
        gate = shared.gates.gate(provider, credential)
        resilience = shared.gates.resilience(provider, credential)
        return Upstream(shared.http, shared.cache, gate, settings.id, resilience)

    sources: dict[Provider, CustomerSource] = {}
    if layer := settings.layer:
        up = upstream(Provider.LAYER, layer.client_id.get_secret_value())
        sources[Provider.LAYER] = LayerSource(up, layer, shared.layer_tokens)
    if codat := settings.codat:
        # Codat's concurrency limit is per company, not per key.
        up = upstream(Provider.CODAT, codat.company_id)
        sources[Provider.CODAT] = CodatSource(up, codat)
    if lago := settings.lago:
        sources[Provider.LAGO] = LagoSource(
            upstream(Provider.LAGO, lago.api_key.get_secret_value()), lago
        )
    return Tenant(id=settings.id, sources=sources, settings=settings)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class TenantDirectory:
    """Finds the tenant a request's `Authorization: Bearer <key>` belongs to."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._by_digest: list[tuple[bytes, Tenant]] = []
        self._anonymous: Tenant | None = None
        self.tenants: dict[str, Tenant] = {}
        for tenant in tenants:
            self.tenants[tenant.id] = tenant
            keys = tenant.settings.api_keys
            self._by_digest.extend((digest(k.get_secret_value()), tenant) for k in keys)
            if tenant.settings.allow_anonymous:
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


__all__ = ["SharedUpstream", "Tenant", "TenantDirectory", "build_tenant", "digest"]
