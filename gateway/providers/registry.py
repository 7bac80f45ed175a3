"""The providers a gateway knows: everything that is the same for every provider iterates this.

Usage: `Registry(default_connectors())`, or with a connector of your own added at the end:
`create_app(settings, connectors=[*default_connectors(), MyConnector()])`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from gateway.domain.provider import Provider
from gateway.errors import ConfigError
from gateway.providers.base import Connector
from gateway.providers.codat.connector import CodatConnector
from gateway.providers.lago.connector import LagoConnector
from gateway.providers.layer.connector import LayerConnector
from gateway.settings.model import (
    CachePolicySettings,
    ProviderLimits,
    Settings,
    overridden,
)

AnyConnector = Connector[Any]
TableT = TypeVar("TableT")


def default_connectors() -> tuple[AnyConnector, ...]:
    """Fresh connectors (they hold per-app state, like Layer's tokens), in the order
    `customers` interleaves providers."""
    return (LayerConnector(), CodatConnector(), LagoConnector())


class Registry:
    """Connectors in order; each provider once."""

    def __init__(self, connectors: Iterable[AnyConnector]) -> None:
        self.connectors = tuple(connectors)
        self._by_provider = {c.provider: c for c in self.connectors}
        self._by_key = {c.provider.key: c for c in self.connectors}
        if len(self._by_key) != len(self.connectors):
            raise ConfigError("each provider may be registered once")

    def __iter__(self) -> Iterator[AnyConnector]:
        return iter(self.connectors)

    @property
    def providers(self) -> tuple[Provider, ...]:
        return tuple(c.provider for c in self.connectors)

    def get(self, provider: Provider) -> AnyConnector | None:
        return self._by_provider.get(provider)

    def by_key(self, key: str) -> AnyConnector | None:
        """The connector a settings table or a webhook path names ("lago")."""
        return self._by_key.get(key)

    def limits(self, settings: Settings) -> dict[Provider, ProviderLimits]:
        """Each provider's limits: its connector's, with `[limits.<key>]` over them."""
        overrides = self._known(settings.limits.providers, "limits")
        return {
            c.provider: overridden(c.policy.limits, overrides.get(c.provider.key))
            for c in self.connectors
        }

    def cache_policies(self, settings: Settings) -> dict[Provider, CachePolicySettings]:
        """Each provider's cache policy: its connector's, with `[cache.<key>]` over it."""
        overrides = self._known(settings.cache.providers, "cache")
        return {
            c.provider: overridden(c.policy.cache, overrides.get(c.provider.key))
            for c in self.connectors
        }

    def check(self, settings: Settings) -> None:
        """Every provider table of `settings` names a registered provider."""
        self._known(settings.limits.providers, "limits")
        self._known(settings.cache.providers, "cache")
        for tenant in settings.tenants:
            self._known(tenant.connections, f"tenants.{tenant.id}")

    def _known(self, tables: Mapping[str, TableT], where: str) -> Mapping[str, TableT]:
        unknown = sorted(k for k in tables if k not in self._by_key)
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}: no provider of that name is registered "
                f"(known: {', '.join(sorted(self._by_key))})"
            )
        return tables


__all__ = ["AnyConnector", "Registry", "default_connectors"]
