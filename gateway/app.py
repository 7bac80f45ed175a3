"""The Starlette application: routes, and the lifespan that owns every shared resource.

Usage: `uvicorn.run(create_app(settings))`. The app serves the tenants in `settings`; with none
configured, `customer-gateway serve` starts the sandbox and adds its demo tenant (gateway/cli.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.cache.bounded import Bounds
from gateway.cache.store import CacheStore
from gateway.cache.upstream import CachePolicy, UpstreamCache
from gateway.domain.customer import Provider
from gateway.graphql_http import GraphQLEndpoint
from gateway.observability.metrics import CONTENT_TYPE, Metrics
from gateway.observability.tracing import configure_tracing
from gateway.persisted import ManifestFile, PersistedQueries
from gateway.playground import ASSETS_PATH, asset_directory
from gateway.providers.gate import Gates
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.resilience import Breaker, Resilience, RetryPolicy, Timer
from gateway.ratelimit import TenantRateLimiter
from gateway.response_cache import ResponseCache
from gateway.settings import CachePolicySettings, ResilienceSettings, Settings
from gateway.tenants import SharedUpstream, TenantDirectory, build_tenant
from gateway.webhooks.endpoint import WebhookEndpoint
from resolvers.schema import build_schema


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    timer: Timer | None = None,
) -> Starlette:
    """Build the gateway. `upstream_transport` replaces the network (tests, benchmarks);
    `clock` is what cache freshness is measured with, `timer` what deadlines, backoff and
    the circuit breakers are."""
    timer = timer or Timer()
    manifest = ManifestFile(settings.persisted.manifest_path)
    metrics = Metrics()
    if settings.tracing:
        configure_tracing("customer-gateway")
    endpoint = GraphQLEndpoint(
        build_schema(settings),
        settings,
        TenantDirectory(()),
        _persisted(settings, manifest, None),
        timer,
        metrics,
    )
    webhooks = WebhookEndpoint(clock, settings.webhooks)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=upstream_transport,
                    timeout=_timeouts(settings.resilience),
                    follow_redirects=False,
                )
            )
            store = CacheStore.from_url(
                settings.cache.url,
                memory_bounds=Bounds(
                    settings.cache.memory_max_entries_per_tenant,
                    settings.cache.memory_max_bytes_per_tenant,
                ),
            )
            stack.push_async_callback(store.close)
            cache = UpstreamCache(
                store,
                _policies(settings),
                lock_lease=settings.cache.lock_lease_seconds,
                clock=clock,
            )
            stack.push_async_callback(cache.close)
            shared = SharedUpstream(http, cache, _gates(settings, timer), LayerTokens())
            endpoint.persisted = _persisted(settings, manifest, store)
            if settings.cache.responses:
                endpoint.response_cache = ResponseCache(
                    store,
                    clock,
                    Bounds(
                        settings.cache.response_max_entries_per_tenant,
                        settings.cache.response_max_bytes_per_tenant,
                    ),
                )
            endpoint.rate_limiter = TenantRateLimiter(
                store,
                settings.limits.tenant_requests_per_second,
                settings.limits.tenant_burst,
                timer.clock,
            )
            watcher = asyncio.create_task(
                manifest.watch(settings.persisted.reload_interval_seconds)
            )
            stack.push_async_callback(_stop, watcher)
            endpoint.tenants = TenantDirectory(build_tenant(t, shared) for t in settings.tenants)
            webhooks.tenants, webhooks.cache = endpoint.tenants, cache
            app.state.tenants = endpoint.tenants
            app.state.cache = cache
            app.state.gates = shared.gates
            metrics.watch_breakers(shared.gates.breakers)
            yield

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-Id", "X-Gateway-Trace"],
                expose_headers=["X-Request-Id", "ETag"],
                max_age=600,
            )
        )
    return Starlette(
        middleware=middleware,
        routes=[
            Route("/", _to_playground),
            Route("/graphql", endpoint),
            Route("/webhooks/{provider}", webhooks),
            Route("/healthz", _healthz),
            Route("/readyz", _readyz),
            Route("/metrics", _metrics_route(metrics)),
            Mount(ASSETS_PATH, app=StaticFiles(directory=asset_directory()), name="graphiql"),
        ],
        lifespan=lifespan,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _persisted(
    settings: Settings, manifest: ManifestFile, store: CacheStore | None
) -> PersistedQueries:
    return PersistedQueries(
        settings.persisted_mode,
        manifest,
        # APQ registrations live in the cache backend: with Redis, every process sees them.
        store or CacheStore.from_url(None),
        apq=settings.persisted.apq,
        ttl=settings.persisted.apq_ttl_seconds,
        bounds=Bounds(
            settings.persisted.apq_max_entries_per_tenant,
            settings.persisted.apq_max_bytes_per_tenant,
        ),
    )


def _policies(settings: Settings) -> dict[Provider, CachePolicy]:
    def policy(s: CachePolicySettings) -> CachePolicy:
        return CachePolicy(
            s.ttl_seconds, s.stale_while_revalidate_seconds, s.stale_if_error_seconds
        )

    cache = settings.cache
    return {
        Provider.LAYER: policy(cache.layer),
        Provider.CODAT: policy(cache.codat),
        Provider.LAGO: policy(cache.lago),
    }


def _gates(settings: Settings, timer: Timer) -> Gates:
    limits, r = settings.limits, settings.resilience
    policy = RetryPolicy(
        attempts=r.attempts,
        backoff_initial=r.backoff_initial_seconds,
        backoff_max=r.backoff_max_seconds,
        retry_after_max=r.retry_after_max_seconds,
        call_timeout=r.call_timeout_seconds,
        max_body_bytes=r.max_response_bytes,
    )

    def resilience() -> Resilience:
        breaker = Breaker(r.breaker_threshold, r.breaker_pause_seconds, timer.clock)
        return Resilience(policy, breaker, timer)

    return Gates(
        {
            Provider.LAYER: (limits.layer.concurrency, limits.layer.requests_per_second),
            Provider.CODAT: (limits.codat.concurrency, limits.codat.requests_per_second),
            Provider.LAGO: (limits.lago.concurrency, limits.lago.requests_per_second),
        },
        resilience,
    )


def _timeouts(r: ResilienceSettings) -> httpx.Timeout:
    # httpx's read timeout is per chunk: a trickling body is cut by the call timeout instead.
    return httpx.Timeout(
        connect=r.connect_timeout_seconds,
        read=r.read_timeout_seconds,
        write=r.read_timeout_seconds,
        pool=r.pool_timeout_seconds,
    )


async def _to_playground(request: Request) -> Response:
    return RedirectResponse("/graphql")


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _readyz(request: Request) -> Response:
    """Settings loaded (or the app would not run), the cache backend reachable, and each
    provider's last-known state. A configured Redis that is down makes this instance unready
    (503), so a load balancer can prefer instances that still share the cache; requests it
    does get are still served, uncached."""
    store: CacheStore = request.app.state.cache.store
    reachable = await store.ping() if store.kind != "memory" else True
    gates: Gates = request.app.state.gates
    providers = {
        provider.value: "open"
        if "open" in states
        else "half_open"
        if "half_open" in states
        else "closed"
        for provider, states in gates.breakers().items()
    }
    body = {
        "status": "ready" if reachable else "unready",
        "cache": {
            "backend": store.kind,
            "reachable": reachable,
            "degraded": not reachable,
            "lastError": store.last_error,
        },
        "providers": providers,
    }
    return JSONResponse(body, status_code=200 if reachable else 503)


def _metrics_route(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    async def exposition(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return exposition


__all__ = ["create_app"]
