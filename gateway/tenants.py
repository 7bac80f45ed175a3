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
from gateway.loaders.account_index import AccountIndexes
from gateway.providers.base import CustomerSource
from gateway.providers.registry import AnyConnector, Registry
from gateway.providers.transport import Route
from gateway.providers.upstream import Upstream
from gateway.resilience.gate import Gates
from gateway.settings.model import ProviderLimits, Section, TenantSettings


@dataclass(frozen=True, slots=True)
class Claimable:
    """A connection whose one credential reaches many accounts (`accounts = "from_claims"`):
    the accounts a caller's token names are read through it, none by default."""

    connector: AnyConnector
    template: Section
    upstream: Upstream

    def source(self, account: str) -> CustomerSource:
        field = self.connector.account_field
        # Settings loading admits a template only for a connector that names its account.
        assert field is not None
        connection = self.template.model_copy(update={field: account})
        return self.connector.source(connection, self.upstream)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    # One per connected account: in the registry's order, then each provider's accounts in
    # the order configured. The order `customers` interleaves them in.
    sources: tuple[CustomerSource, ...]
    settings: TenantSettings
    # Every tenant's kept `sameAs` indexes, keyed by tenant first (shared, bounded).
    indexes: AccountIndexes
    # Each source's upstream by (provider, account), for the calls a webhook's verification
    # makes (Lago's public key); their HTTP clients are closed with the app.
    upstreams: Mapping[tuple[Provider, str], Upstream] = field(default_factory=dict)
    # The registry's providers, in order: where a view puts claimed accounts.
    providers: tuple[Provider, ...] = ()
    # Providers whose accounts come from callers' tokens (gateway/auth/accounts.py).
    claimable: Mapping[Provider, Claimable] = field(default_factory=dict)
    _by_account: dict[tuple[Provider, str], CustomerSource] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_account = {(s.provider, s.account): s for s in self.sources}
        object.__setattr__(self, "_by_account", by_account)

    def with_sources(self, sources: tuple[CustomerSource, ...]) -> Tenant:
        """The same tenant reading only `sources`: what one caller may see."""
        return Tenant(
            self.id,
            sources,
            self.settings,
            self.indexes,
            self.upstreams,
            self.providers,
            self.claimable,
        )

    async def close(self) -> None:
        for upstream in self.upstreams.values():
            await upstream.http.aclose()
        for claimable in self.claimable.values():
            await claimable.upstream.http.aclose()

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
    httpx's timeouts, the cache, the gates and breakers, each provider's limits, and the kept
    `sameAs` indexes."""

    transport: httpx.AsyncBaseTransport
    timeout: httpx.Timeout
    cache: UpstreamCache
    gates: Gates
    limits: Mapping[Provider, ProviderLimits]
    indexes: AccountIndexes


def build_tenant(settings: TenantSettings, registry: Registry, shared: SharedUpstream) -> Tenant:
    """The tenant's sources: one per connected account, in registry order, then in the order
    each provider's accounts are configured."""
    sources: list[CustomerSource] = []
    upstreams: dict[tuple[Provider, str], Upstream] = {}
    claimable: dict[Provider, Claimable] = {}
    connections = settings.connections
    for connector in registry:
        provider = connector.provider
        for connection in connections.get(provider.key, ()):
            upstream = _connect(connector, connection, settings.id, shared)
            upstreams[provider, connector.account(connection)] = upstream
            sources.append(connector.source(connection, upstream))
        template = settings.from_claims.get(provider.key)
        if template is not None:
            upstream = _connect(connector, template, settings.id, shared)
            claimable[provider] = Claimable(connector, template, upstream)
    return Tenant(
        id=settings.id,
        sources=tuple(sources),
        settings=settings,
        indexes=shared.indexes,
        upstreams=upstreams,
        providers=registry.providers,
        claimable=claimable,
    )


def _connect(
    connector: AnyConnector, connection: Section, tenant: str, shared: SharedUpstream
) -> Upstream:
    provider, credential = connector.provider, connector.credential(connection)
    limits = shared.limits[provider]
    route = Route(
        provider,
        tenant,
        shared.gates.gate(provider, credential, limits.concurrency, limits.requests_per_second),
        shared.gates.resilience(provider, credential),
        connector.policy.retry_after,
    )
    return Upstream.connect(shared.transport, route, shared.cache, shared.timeout)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class TenantDirectory:
    """The tenants by id, and by the digests of their gateway API keys."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self.replace(tenants)

    def replace(self, tenants: Iterable[Tenant]) -> None:
        """Serve `tenants` from now on (a configuration reload): built aside, then swapped
        in one step, so a request sees either the old directory or the new one."""
        by_digest: list[tuple[bytes, Tenant]] = []
        anonymous: Tenant | None = None
        by_id: dict[str, Tenant] = {}
        for tenant in tenants:
            by_id[tenant.id] = tenant
            keys = tenant.settings.api_keys
            by_digest.extend((digest(k.get_secret_value()), tenant) for k in keys)
            if tenant.settings.allow_anonymous:
                anonymous = tenant
        self._by_digest, self._anonymous, self.tenants = by_digest, anonymous, by_id

    def anonymous(self) -> Tenant:
        """The tenant a request without credentials acts as, if one allows it."""
        if self._anonymous is None:
            raise TenantError("A gateway API key is required: send Authorization: Bearer <key>")
        return self._anonymous

    def by_key(self, key: str) -> Tenant | None:
        """The tenant `key` is an API key of; None for no tenant's."""
        wanted = digest(key)
        found: Tenant | None = None
        # Compare against every digest so the time taken says nothing about which one matched.
        for candidate, tenant in self._by_digest:
            if hmac.compare_digest(candidate, wanted):
                found = tenant
        return found


__all__ = ["Claimable", "SharedUpstream", "Tenant", "TenantDirectory", "build_tenant", "digest"]
