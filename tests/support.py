"""Helpers the tests share: a counting transport, a gateway client factory, GraphQL calls.

The gateway never knows the sandbox: tests connect it the way `customer-gateway serve` does, by
settings whose tenant the sandbox describes (`sandbox_tenant`), and hand `create_app` a
transport that reaches the in-process sandbox instead of the network."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.cache.entry import CachePolicy
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import CustomerKey
from gateway.domain.filter import CustomerFilter
from gateway.domain.provider import Provider
from gateway.federation import list_customers
from gateway.providers.base import CustomerSource
from gateway.providers.codat import CODAT
from gateway.providers.codat.client import CodatSource
from gateway.providers.lago import LAGO
from gateway.providers.lago.client import LagoSource
from gateway.providers.layer import LAYER
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.layer.client import LayerSource
from gateway.providers.registry import Registry, default_connectors
from gateway.providers.transport import Route
from gateway.providers.upstream import Upstream
from gateway.resilience.gate import Gate
from gateway.resilience.policy import Resilience, Timer
from gateway.sandbox_process import with_demo_tenant
from gateway.settings.load import tenant_settings
from gateway.settings.model import Settings, TenantSettings
from sandbox import DEMO_ACCOUNT, DEMO_TENANT, Sandbox, SandboxAccount, tenant_config

# The built-in providers, in the order `customers` interleaves them.
PROVIDERS = (LAYER, CODAT, LAGO)
# The provider documents and OpenAPI files the tests read, vendored unmodified (vendor/SOURCES.md).
VENDOR = Path(__file__).resolve().parent / "vendor"
# The in-process sandbox's base URL: only ever reached through an ASGI transport.
IN_PROCESS_SANDBOX = "http://sandbox.invalid"


def sandbox_tenant(
    tenant_id: str = DEMO_TENANT,
    base_url: str = IN_PROCESS_SANDBOX,
    account: SandboxAccount = DEMO_ACCOUNT,
    *,
    allow_anonymous: bool = True,
    api_keys: tuple[str, ...] = (),
) -> TenantSettings:
    """A tenant connected to `account` of the sandbox at `base_url`, validated as the gateway
    validates configured ones."""
    config = tenant_config(
        tenant_id, base_url, account, allow_anonymous=allow_anonymous, api_keys=api_keys
    )
    return tenant_settings(config)


def on_sandbox(settings: Settings) -> Settings:
    """`settings` as `serve` runs them: with no tenant configured, the sandbox's demo tenant."""
    return settings if settings.tenants else with_demo_tenant(settings, sandbox_tenant())


@dataclass
class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and remembers them, so tests can assert upstream call counts."""

    inner: httpx.AsyncBaseTransport
    # Simulated network time per request, so concurrency shows as it would on a wire.
    latency: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    # Requests whose path contains one of these get a 503, as from a provider in trouble.
    failing: set[str] = field(default_factory=set)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if any(part in request.url.path for part in self.failing):
            return httpx.Response(503, json={"status": 503, "error": "Service Unavailable"})
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()

    def calls(self, path_part: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]

    def reset(self) -> None:
        self.requests.clear()


@dataclass
class GatewayClient:
    http: httpx.AsyncClient
    upstream: CountingTransport
    sandbox: Sandbox
    app: Starlette

    async def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
        )
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def gateway_client(
    settings: Settings | None = None,
    sandbox: Sandbox | None = None,
    *,
    latency: float = 0.0,
    clock: Callable[[], float] = time.time,
    timer: Timer | None = None,
    config_path: Path | None = None,
) -> AsyncIterator[GatewayClient]:
    """The gateway app in process, on the sandbox in process, with upstream calls counted.
    With no tenant in `settings`, the demo tenant (anonymous) at `IN_PROCESS_SANDBOX`;
    `config_path`: the file `settings` came from, which the app reloads."""
    sandbox = sandbox or Sandbox()
    upstream = CountingTransport(httpx.ASGITransport(sandbox.app), latency)
    app = create_app(
        on_sandbox(settings or Settings()),
        upstream_transport=upstream,
        clock=clock,
        timer=timer,
        config_path=config_path,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield GatewayClient(http, upstream, sandbox, app)


NO_CACHE = CachePolicy(ttl=0, stale_while_revalidate=0, stale_if_error=0)


def memory_cache(
    policy: CachePolicy = NO_CACHE, clock: Callable[[], float] = time.time
) -> UpstreamCache:
    policies = dict.fromkeys((LAYER, CODAT, LAGO), policy)
    return UpstreamCache(CacheStore.from_url(None), policies, clock=clock)


def upstream(
    http: httpx.AsyncClient,
    provider: Provider = LAYER,
    *,
    tenant: str = "t",
    cache: UpstreamCache | None = None,
    gate: Gate | None = None,
) -> Upstream:
    """What a source of `provider` needs besides its connection: `http`'s transport behind
    the provider transport, with a fresh breaker; by default nothing is cached."""
    connector = Registry(default_connectors()).get(provider)
    assert connector is not None
    gate = gate or Gate(concurrency=50)
    route = Route(provider, tenant, gate, Resilience(), connector.policy.retry_after)
    # The test client's own transport: the sandbox in process.
    return Upstream.connect(http._transport, route, cache or memory_cache())


def demo_sources(
    http: httpx.AsyncClient,
    *,
    pushdown: bool = True,
    account: Any = None,
    cache: UpstreamCache | None = None,
) -> dict[Provider, CustomerSource]:
    """The three adapters connected to a sandbox account (the demo one by default)."""
    tenant = sandbox_tenant("t", str(http.base_url), account or DEMO_ACCOUNT)
    assert tenant.layer
    assert tenant.codat
    assert tenant.lago
    cache = cache or memory_cache()
    return {
        LAYER: LayerSource(
            upstream(http, LAYER, cache=cache), tenant.layer, LayerTokens(), pushdown=pushdown
        ),
        CODAT: CodatSource(upstream(http, CODAT, cache=cache), tenant.codat, pushdown=pushdown),
        LAGO: LagoSource(upstream(http, LAGO, cache=cache), tenant.lago, pushdown=pushdown),
    }


async def walk(
    sources: list[CustomerSource], filter: CustomerFilter, page_size: int
) -> list[CustomerKey]:
    """Every customer `list_customers` yields, page after page, in order."""
    keys: list[CustomerKey] = []
    after: str | None = None
    while True:
        page = await list_customers(sources, filter, page_size, after)
        assert not page.errors
        assert len(page.edges) <= page_size
        keys.extend(e.customer.key for e in page.edges)
        if not page.has_next_page:
            return keys
        assert page.edges, "a page that promises more must not be empty"
        after = page.end_cursor
