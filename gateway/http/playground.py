"""The GraphiQL playground, served with its vendored assets: no request leaves the gateway.

Usage: `if wants_playground(request, settings): return playground_response(...)`; the assets
are mounted at `ASSETS_PATH` from `asset_directory()`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.settings.model import Settings

ASSETS_PATH = "/graphiql-assets"

EXAMPLE_QUERY = """\
# Customers from Layer, Codat and Lago, read live through one endpoint.
query Customers($first: Int = 9) {
  customers(first: $first) {
    edges {
      node {
        __typename
        id
        provider
        displayName
        email
        status
        addresses { type city country raw }
        ... on LayerCustomer { memo transactionTags { key valueDisplayName } }
        ... on CodatCustomer { contacts { name email } defaultCurrency }
        ... on LagoCustomer { slug billingConfiguration { paymentProvider } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
KEY_HEADER_HINT = '{\n  "Authorization": "Bearer <your gateway API key>"\n}'
# The page runs only the vendored files and its own playground.js, and talks only to this
# origin: 'self' in connect-src covers ws:/wss: to the same host (CSP Level 3), which
# subscriptions use. Fonts and a few icons are data: URLs inside graphiql.min.css. The one
# style GraphiQL injects (a scroll lock behind its settings dialogs) is refused, harmlessly:
# the page never scrolls (playground.css).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    )
)


# Vendored beside this module (graphiql/VENDOR.md); packaged with it as data files.
_ASSETS = resources.files("gateway.http").joinpath("graphiql")


@cache
def _template() -> str:
    return _ASSETS.joinpath("index.html").read_text("utf-8")


def render_graphiql(endpoint: str, *, needs_key: bool) -> str:
    """The playground page for `endpoint`; `needs_key` pre-fills the Authorization header."""
    config = {
        "endpoint": endpoint,
        "query": EXAMPLE_QUERY,
        "headers": KEY_HEADER_HINT if needs_key else "",
    }
    # "</" would end the inline script; JSON allows escaping the slash.
    payload = orjson.dumps(config).decode().replace("</", "<\\/")
    return _template().replace("{{ASSETS}}", ASSETS_PATH).replace("{{CONFIG}}", payload)


def wants_playground(request: Request, settings: Settings) -> bool:
    """A browser opening the endpoint (GET, no query, HTML accepted) where GraphiQL is on."""
    return (
        settings.graphiql_enabled
        and request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def playground_response(request: Request, settings: Settings, request_id: str) -> Response:
    # Pre-fill the Authorization header unless some caller may go without a key.
    needs_key = not settings.uses_sandbox and not any(t.allow_anonymous for t in settings.tenants)
    page = render_graphiql(str(request.url.path), needs_key=needs_key)
    headers = {"X-Request-Id": request_id, "Content-Security-Policy": CONTENT_SECURITY_POLICY}
    return HTMLResponse(page, headers=headers)


def asset_directory() -> str:
    return str(_ASSETS)


__all__ = [
    "ASSETS_PATH",
    "CONTENT_SECURITY_POLICY",
    "EXAMPLE_QUERY",
    "asset_directory",
    "playground_response",
    "render_graphiql",
    "wants_playground",
]
