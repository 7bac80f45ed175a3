"""What a provider client reads through: its credential's HTTP client and the shared cache."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.cache.upstream import UpstreamCache
from gateway.providers.transport import ProviderTransport, Route
from gateway.resilience.policy import Timer


@dataclass(frozen=True, slots=True)
class Upstream:
    """One tenant's way to one provider credential. `http` sends through a
    `ProviderTransport`; `timer` bounds waits on the cache by the request's deadline."""

    http: httpx.AsyncClient
    cache: UpstreamCache
    tenant: str
    timer: Timer

    @classmethod
    def connect(
        cls,
        inner: httpx.AsyncBaseTransport,
        route: Route,
        cache: UpstreamCache,
        timeout: httpx.Timeout | None = None,
    ) -> Upstream:
        """An upstream whose calls go through `route`'s gate and breaker to `inner` (the
        process's pool; a test's transport). `timeout`: httpx's per-phase timeouts."""
        http = httpx.AsyncClient(
            transport=ProviderTransport(inner, route),
            timeout=timeout if timeout is not None else httpx.Timeout(5.0),
            follow_redirects=False,
        )
        return cls(http, cache, route.tenant, route.resilience.timer)


__all__ = ["Upstream"]
