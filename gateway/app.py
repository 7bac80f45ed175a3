"""The Starlette application, built once from one immutable `Settings`.

Usage: `uvicorn.run(create_app(settings))`. The app serves the tenants in `settings`; with none
configured, `customer-gateway serve` starts the sandbox and adds its demo tenant (gateway/cli.py).
`create_app` constructs every part; the lifespan only starts what runs in the background and
closes what holds connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway.auth.callers import Authenticator
from gateway.auth.jwt import JwtVerifier
from gateway.cache.bounded import Bounds
from gateway.cache.entry import CachePolicy
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.domain.provider import Provider
from gateway.events.bus import EventBus
from gateway.events.relay import ChangeFeed, RedisRelay
from gateway.http.access_log import AccessLog
from gateway.http.cached_gets import CachedGets
from gateway.http.endpoint import GraphQLEndpoint
from gateway.http.known_gets import KnownGets
from gateway.http.manifest import ManifestFile
from gateway.http.persisted import PersistedQueries
from gateway.http.playground import ASSETS_PATH, asset_directory
from gateway.http.response_cache import ResponseCache
from gateway.http.sse import SseEndpoint
from gateway.http.webhooks import WebhookEndpoint
from gateway.loaders.account_index import AccountIndexes
from gateway.loaders.links import prewarm_links
from gateway.observability.metrics import CONTENT_TYPE, Metrics
from gateway.observability.tracing import configure_tracing, flush_spans
from gateway.providers.registry import AnyConnector, Registry, default_connectors
from gateway.ratelimit import TenantRateLimiter
from gateway.reload import ConfigReload, ignore_sighup
from gateway.resilience.gate import Gates
from gateway.resilience.policy import Breaker, Resilience, RetryPolicy, Timer
from gateway.settings.model import JwtSettings, ResilienceSettings, Settings
from gateway.tenants import SharedUpstream, TenantDirectory, build_tenant
from resolvers.compiled import CompiledOperations
from resolvers.schema import CUSTOMER_TYPES, build_schema
from resolvers.scopes import rules_id
from resolvers.types.customer import ProviderCustomerType

log = logging.getLogger("gateway.app")


def create_app(
    settings: Settings,
    *,
    connectors: Sequence[AnyConnector] | None = None,
    customer_types: Sequence[type[ProviderCustomerType]] = CUSTOMER_TYPES,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    timer: Timer | None = None,
    config_path: Path | None = None,
) -> Starlette:
    """Build the gateway. `connectors` are the providers it knows (default: Layer, Codat,
    Lago; a connector of your own comes with its GraphQL type in `customer_types`);
    `upstream_transport` replaces the network (tests, benchmarks); `clock` is what cache
    freshness is measured with, `timer` what deadlines, backoff and the breakers are.
    `config_path`: the file `settings` came from, reloaded on SIGHUP and when it changes
    (gateway/reload.py)."""
    timer = timer or Timer()
    registry = Registry(connectors if connectors is not None else default_connectors())
    registry.check(settings)
    if settings.tracing:
        configure_tracing("customer-gateway")
    metrics = Metrics()
    store = CacheStore.from_url(
        settings.cache.url,
        memory_bounds=Bounds(
            settings.cache.memory_max_entries_per_tenant,
            settings.cache.memory_max_bytes_per_tenant,
        ),
    )
    policies = _policies(registry, settings)
    cache = UpstreamCache(
        store,
        policies,
        lock_lease=settings.cache.lock_lease_seconds,
        clock=clock,
        report=metrics.observe_upstream,
    )
    # One connection pool for every provider call (or the transport a test hands in).
    pool = upstream_transport or httpx.AsyncHTTPTransport()
    shared = SharedUpstream(
        pool,
        _timeouts(settings.resilience),
        cache,
        _gates(settings, timer),
        registry.limits(settings),
        AccountIndexes(cache, settings.cache.links_max_records, metrics.observe_upstream, timer),
    )
    tenants = [build_tenant(t, registry, shared) for t in settings.tenants]
    directory = TenantDirectory(tenants)

    def verifier_for(jwt: JwtSettings) -> JwtVerifier:
        return JwtVerifier(jwt, clock=clock, monotonic=timer.clock)

    verifier = verifier_for(settings.auth.jwt) if settings.auth.jwt is not None else None
    authenticator = Authenticator(directory, settings.auth, verifier)
    manifest = ManifestFile(settings.persisted.manifest_path)
    bus = EventBus(settings.limits.max_subscribers_per_tenant, settings.limits.subscriber_queue)
    feed = ChangeFeed(bus, RedisRelay(settings.cache.url) if settings.cache.url else None)
    known_gets = KnownGets()
    endpoint = GraphQLEndpoint(
        build_schema(settings, registry.providers, customer_types),
        settings,
        authenticator,
        _persisted(settings, manifest, store),
        timer,
        metrics,
        rate_limiter=TenantRateLimiter(
            store,
            settings.limits.tenant_requests_per_second,
            settings.limits.tenant_burst,
            timer.clock,
        ),
        response_cache=_response_cache(settings, store, clock),
        cache_policies=list(policies.values()),
        schema_id=rules_id(settings.auth.field_scopes),
        live=bus,
        known_gets=known_gets,
        compiler=CompiledOperations() if settings.performance.compile != "off" else None,
    )
    webhooks = WebhookEndpoint(registry, directory, cache, clock, settings.webhooks, feed)

    def swap_schema(new: Settings) -> None:
        # Only `[auth]` reloads: limits, mode and introspection stay as the process started.
        running = settings.model_copy(update={"auth": new.auth})
        schema = build_schema(running, registry.providers, customer_types)
        endpoint.use_schema(schema, rules_id(new.auth.field_scopes))

    reloader = (
        ConfigReload(
            config_path,
            settings,
            registry,
            shared,
            directory,
            authenticator,
            swap_schema,
            verifier_for,
        )
        if config_path is not None
        else None
    )
    metrics.watch_breakers(shared.gates.breakers, registry.providers)
    metrics.watch_link_index(lambda: (shared.indexes.accounts, shared.indexes.records))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # Spans still batched go out when the app stops (SIGTERM skips atexit handlers).
            stack.push_async_callback(flush_spans)
            # Closed last: everything above may still use it while closing.
            stack.push_async_callback(pool.aclose)
            stack.push_async_callback(store.close)
            stack.push_async_callback(cache.close)
            # The directory's tenants: after a reload, the configuration's latest.
            stack.push_async_callback(_close_clients, directory)
            # Before the clients close: reads behind the requests still use them.
            stack.push_async_callback(shared.indexes.close)
            stack.push_async_callback(authenticator.aclose)
            watcher = asyncio.create_task(
                manifest.watch(settings.persisted.reload_interval_seconds)
            )
            stack.push_async_callback(_stop, watcher)
            if reloader is None:
                stack.callback(ignore_sighup())
            else:
                stack.push_async_callback(reloader.aclose)
                reloader.install_sighup()
                stack.callback(reloader.remove_sighup)
                reloading = asyncio.create_task(reloader.watch(settings.reload_interval_seconds))
                stack.push_async_callback(_stop, reloading)
            stack.push_async_callback(feed.aclose)
            relaying = asyncio.create_task(feed.listen())
            stack.push_async_callback(_stop, relaying)
            await stack.enter_async_context(metrics.running())
            if settings.cache.links_prewarm:
                for tenant in directory.tenants.values():
                    prewarm_links(tenant, settings.limits.max_filter_scan_pages)
            yield

    # Response-cache hits of persisted GETs first, ahead of everything: they log and count
    # themselves. With tracing on, every request takes the full pipeline and its span.
    cached_gets = CachedGets(endpoint=endpoint, known=known_gets, cors=bool(settings.cors_origins))
    fast_path = settings.cache.responses and settings.cache.response_fast_path
    middleware = [Middleware(cached_gets.wrap)] if fast_path and not settings.tracing else []
    # The access log next: it times everything else and decides the id every answer carries.
    middleware.append(Middleware(AccessLog))
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Request-Id",
                    "X-Gateway-Trace",
                    "X-Gateway-Cost",
                ],
                expose_headers=["X-Request-Id", "ETag"],
                max_age=600,
            )
        )
    app = Starlette(
        middleware=middleware,
        routes=[
            Route("/", _to_playground),
            Route("/graphql", endpoint),
            Route("/graphql/stream", SseEndpoint(endpoint, bus)),
            WebSocketRoute("/graphql", endpoint),
            Route("/webhooks/{provider}", webhooks),
            Route("/healthz", _healthz),
            Route("/livez", _livez),
            Route("/readyz", _readyz),
            Route("/metrics", _metrics_route(metrics)),
            Mount(ASSETS_PATH, app=StaticFiles(directory=asset_directory()), name="graphiql"),
        ],
        lifespan=lifespan,
    )
    # For the health route (and tests): the running parts, never reassigned.
    app.state.tenants = directory
    app.state.cache = cache
    app.state.gates = shared.gates
    app.state.bus = bus
    app.state.cached_gets = cached_gets
    # Set by `serve` on SIGTERM: /readyz answers 503 while in-flight requests finish.
    app.state.draining = False
    return app


async def _close_clients(directory: TenantDirectory) -> None:
    for tenant in directory.tenants.values():
        await tenant.close()


def _response_cache(
    settings: Settings, store: CacheStore, clock: Callable[[], float]
) -> ResponseCache | None:
    if not settings.cache.responses:
        return None
    bounds = Bounds(
        settings.cache.response_max_entries_per_tenant,
        settings.cache.response_max_bytes_per_tenant,
    )
    return ResponseCache(store, clock, bounds)


# How long a background task may take to end once cancelled, before shutdown goes on without
# it: a client library that swallows the cancellation (redis-py's pub/sub while it connects)
# must not hold the process up.
STOP_SECONDS = 5.0


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
    if not done:
        log.warning("a background task did not stop within %.0f s; leaving it", STOP_SECONDS)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _persisted(settings: Settings, manifest: ManifestFile, store: CacheStore) -> PersistedQueries:
    return PersistedQueries(
        settings.persisted_mode,
        manifest,
        # APQ registrations live in the cache backend: with Redis, every process sees them.
        store,
        apq=settings.persisted.apq,
        ttl=settings.persisted.apq_ttl_seconds,
        bounds=Bounds(
            settings.persisted.apq_max_entries_per_tenant,
            settings.persisted.apq_max_bytes_per_tenant,
        ),
    )


def _policies(registry: Registry, settings: Settings) -> dict[Provider, CachePolicy]:
    return {
        provider: CachePolicy(
            p.ttl_seconds, p.stale_while_revalidate_seconds, p.stale_if_error_seconds
        )
        for provider, p in registry.cache_policies(settings).items()
    }


def _gates(settings: Settings, timer: Timer) -> Gates:
    r = settings.resilience
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

    return Gates(resilience)


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


async def _livez(request: Request) -> Response:
    """The process answers: what a liveness probe restarts it on, nothing more."""
    return JSONResponse({"status": "alive"})


async def _readyz(request: Request) -> Response:
    """Settings loaded (or the app would not run), the cache backend's state, and each
    provider's last-known state. A configured Redis that is down leaves the instance ready
    (200) but `degraded`: it serves from its in-process cache meanwhile, and every replica
    shares that Redis, so a 503 would pull the whole fleet out of the load balancer at once.
    A process shutting down (`app.state.draining`) is 503 `draining`: send it nothing new."""
    if request.app.state.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
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
        "status": "ready" if reachable else "degraded",
        "cache": {
            "backend": store.kind,
            "reachable": reachable,
            "degraded": not reachable,
            "lastError": store.last_error,
        },
        "providers": providers,
    }
    return JSONResponse(body)


def _metrics_route(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    async def exposition(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return exposition


__all__ = ["create_app"]
