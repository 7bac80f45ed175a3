"""The Starlette application: routes, and the lifespan that owns every shared resource.

Usage: `uvicorn.run(create_app(load_settings(None)))`. With no tenant configured the app starts
the provider sandbox on a loopback port and serves one demo tenant that needs no key.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.graphql_http import GraphQLEndpoint
from gateway.playground import ASSETS_PATH, asset_directory
from gateway.providers.layer.auth import LayerTokens
from gateway.sandbox import Sandbox
from gateway.sandbox.server import serve_on_loopback
from gateway.tenants import TenantDirectory, build_tenant
from resolvers.schema import build_schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from gateway.settings import Settings, TenantSettings

DEMO_TENANT = "demo"
# Only ever reached through the in-process transport a test hands in.
_IN_PROCESS_SANDBOX = "http://sandbox.invalid"


def create_app(
    settings: Settings,
    *,
    sandbox: Sandbox | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the gateway. `upstream_transport` replaces the network (tests, benchmarks)."""
    endpoint = GraphQLEndpoint(build_schema(), settings, TenantDirectory(()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=upstream_transport,
                    timeout=httpx.Timeout(settings.limits.upstream_timeout_seconds),
                    follow_redirects=False,
                )
            )
            tenant_settings = list(settings.tenants)
            if settings.uses_sandbox:
                base_url = _IN_PROCESS_SANDBOX
                if upstream_transport is None:
                    base_url = await stack.enter_async_context(
                        serve_on_loopback((sandbox or Sandbox()).app)
                    )
                tenant_settings = [Sandbox.tenant(DEMO_TENANT, base_url)]
            endpoint.tenants = _directory(tenant_settings, http)
            app.state.tenants = endpoint.tenants
            yield

    return Starlette(
        routes=[
            Route("/", _to_playground),
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", _healthz),
            Mount(ASSETS_PATH, app=StaticFiles(directory=asset_directory()), name="graphiql"),
        ],
        lifespan=lifespan,
    )


def _directory(tenants: list[TenantSettings], http: httpx.AsyncClient) -> TenantDirectory:
    tokens = LayerTokens()
    return TenantDirectory((t, build_tenant(t, http, tokens)) for t in tenants)


async def _to_playground(request: Request) -> Response:
    return RedirectResponse("/graphql")


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


__all__ = ["DEMO_TENANT", "create_app"]
