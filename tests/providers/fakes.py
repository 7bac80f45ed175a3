"""MockTransport handlers that answer with the providers' real error bodies."""

from __future__ import annotations

from collections.abc import Callable

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


def answering(status: int, body: object | bytes, headers: dict[str, str] | None = None) -> Handler:
    """Every API call gets this answer; Layer's token endpoint still issues tokens."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
            )
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handle


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://mock.invalid")
