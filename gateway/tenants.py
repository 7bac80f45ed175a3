"""Tenants at run time: their provider connections, and who may act as them.

Gateway API keys are kept only as SHA-256 digests and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx

from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import CustomerKey
from gateway.domain.provider import Provider
from gateway.errors import TenantError
from gateway.providers.base import CustomerSource
from gateway.providers.registry import Registry
from gateway.providers.transport import Route
from gateway.providers.upstream import Upstream
from gateway.resilience.gate import Gates
from gateway.settings.model import ProviderLimits, TenantSettings


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    # One per connected account: in the registry's order, then each provider's accounts in
    # the order configured. The order `customers` interleaves them in.
    sources: tuple[CustomerSource, ...]
    settings: TenantSettings
    # Each source's upstream by (provider, account), for the calls a webhook's verification
    # makes (Lago's public key); their HTTP clients are closed with the app.
    upstreams: Mapping[tuple[Provider, str], Upstream] = field(default_factory=dict)
    _by_account: dict[tuple[Provider, str], CustomerSource] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_account = {(s.provider, s.account): s for s in self.sources}
        object.__setattr__(self, "_by_account", by_account)

    async def close(self) -> None:
        for upstream in self.upstreams.values():
            await upstream.http.aclose()

    def sources_of(self, provider: Provider) -> tuple[CustomerSource, ...]:
        """The provider's accounts, in the order configured; empty when not connected."""
        return tuple(s for s in self.sources if s.provider == provider)

    def source(self, provider: Provider, account: str) -> CustomerSource | None:
        """The connection to `account` of `provider`; None when the tenant has none."""
        return self._by_account.get((provider, account))

    def source_for(self, key: CustomerKey) -> CustomerSource | None:
        """The connection that owns `key`, or None when the key is another tenant's account."""
        return self.source(key.provider, key.account)


@dataclass(frozen=True, slots=True)
class SharedUpstream:
    """What every tenant's connections share: the connection pool (or a test's transport),
    httpx's timeouts, the cache, the gates and breakers, and each provider's limits."""

    transport: httpx.AsyncBaseTransport
    timeout: httpx.Timeout
    cache: UpstreamCache
    gates: Gates
    limits: Mapping[Provider, ProviderLimits]


def build_tenant(settings: TenantSettings, registry: Registry, shared: SharedUpstream) -> Tenant:
    """The tenant's sources: one per connected account, in registry order, then in the order
    each provider's accounts are configured."""
    sources: list[CustomerSource] = []
    upstreams: dict[tuple[Provider, str], Upstream] = {}
    connections = settings.connections
    for connector in registry:
        provider = connector.provider
        for connection in connections.get(provider.key, ()):
            credential = connector.credential(connection)
            limits = shared.limits[provider]
            route = Route(
                provider,
                settings.id,
                shared.gates.gate(
                    provider, credential, limits.concurrency, limits.requests_per_second
                ),
                shared.gates.resilience(provider, credential),
                connector.policy.retry_after,
            )
            upstream = Upstream.connect(shared.transport, route, shared.cache, shared.timeout)
            upstreams[provider, connector.account(connection)] = upstream
            sources.append(connector.source(connection, upstream))
    return Tenant(
        id=settings.id,
        sources=tuple(sources),
        settings=settings,
        upstreams=upstreams,
    )


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
