"""Helpers the tests share: a counting transport, a gateway client factory, GraphQL calls."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from gateway.app import create_app
from gateway.sandbox import Sandbox
from gateway.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SHARED = Path(__file__).resolve().parents[2] / "shared"


@dataclass
class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests on and remembers them, so tests can assert upstream call counts."""

    inner: httpx.AsyncBaseTransport
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def calls(self, path_part: str = "") -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]

    def reset(self) -> None:
        self.requests.clear()


@dataclass
class GatewayClient:
    http: httpx.AsyncClient
    upstream: CountingTransport
    sandbox: Sandbox

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
    settings: Settings | None = None, sandbox: Sandbox | None = None
) -> AsyncIterator[GatewayClient]:
    """The gateway app in process, on the sandbox in process, with upstream calls counted."""
    sandbox = sandbox or Sandbox()
    upstream = CountingTransport(httpx.ASGITransport(sandbox.app))
    app = create_app(settings or Settings(), sandbox=sandbox, upstream_transport=upstream)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield GatewayClient(http, upstream, sandbox)
