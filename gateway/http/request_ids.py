"""`X-Request-Id` on every answer of every route, error answers included.

The caller's id is kept when it is a plain token (gateway/http/request.py `request_id`), else a
new one is drawn; the GraphQL route sets the same id itself (its logs and ledger carry it), so
an answer that already has one keeps it.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.request import request_id

HEADER = "x-request-id"


class RequestIds:
    """Pure ASGI middleware: `Middleware(RequestIds)`, outermost, so every answer has one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    # Only now: the GraphQL route, most of the traffic, has set its own.
                    headers[HEADER] = request_id(Headers(scope=scope).get(HEADER))
            await send(message)

        await self.app(scope, receive, send_with_id)


__all__ = ["HEADER", "RequestIds"]
