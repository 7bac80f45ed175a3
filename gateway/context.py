"""What one GraphQL request carries through its resolvers; nothing here outlives it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gateway.errors import GatewayError
from gateway.loaders.customers import CustomerLoader, customer_loader
from gateway.loaders.links import LinkResolver
from gateway.settings.model import Settings
from gateway.tenants import Tenant


@dataclass(frozen=True, slots=True)
class PartialError:
    """An error for part of a field that still resolved (one failed provider in `customers`)."""

    error: GatewayError
    path: tuple[str | int, ...]


@dataclass
class Context:
    tenant: Tenant
    settings: Settings
    request_id: str
    # The scopes the caller holds for `[auth.field_scopes]`; None: every scope (an API key
    # without `api_key_scopes`).
    scopes: frozenset[str] | None = None
    partial_errors: list[PartialError] = field(default_factory=list)
    customers: CustomerLoader = field(init=False)
    # Loaders for root fields given `maxAge`, one per value: a batch holds one demand.
    _within: dict[float, CustomerLoader] = field(init=False, default_factory=dict)
    links: LinkResolver = field(init=False)

    def __post_init__(self) -> None:
        # A fresh loader per request: its memo must never serve another request or tenant.
        self.customers = customer_loader(self.tenant)
        self.links = LinkResolver(self.tenant, self.settings.limits.max_filter_scan_pages)

    def customers_within(self, max_age: float | None) -> CustomerLoader:
        """The loader for reads accepting nothing `max_age` seconds old (None: any)."""
        if max_age is None:
            return self.customers
        loader = self._within.get(max_age)
        if loader is None:
            loader = self._within[max_age] = customer_loader(self.tenant, max_age)
        return loader

    @property
    def streams(self) -> dict[str, int]:
        """The tenant's accounts per provider name: what a `customers` page reads (the cost
        estimate reads this, resolvers/limits/extension.py)."""
        return dict(Counter(s.provider.value for s in self.tenant.sources))


__all__ = ["Context", "PartialError"]
