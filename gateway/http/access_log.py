"""One access-log line per request, on every route: the `gateway.access` logger.

The outermost middleware. It decides the request id once (the caller's `X-Request-Id` when it
is a plain token, else a new one) and passes it on as the request's own `X-Request-Id`, so
every route, the GraphQL endpoint included, reads the same id; it puts the id on every answer
that has none, error answers included; it holds the id in the logging context for the whole
request; and once the answer is sent it
logs method, path, status and duration (for a WebSocket, one line when it ends: 101 once
accepted, the refusal's status otherwise, and how long it was open). What only the GraphQL
route knows (tenant, operation, document, the upstream ledger) it hands over with
`note_graphql(scope, ...)`, through the request's `scope["state"]`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.request import request_id
from gateway.ledger import UpstreamLedger
from gateway.observability.logs import request_id as current_request_id

log = logging.getLogger("gateway.access")
_HEADER = b"x-request-id"
_STATE_KEY = "gateway.access"
# A path is logged as sent, up to this long: enough to tell routes apart, never a flood.
_MAX_PATH = 200


@dataclass
class GraphQLAccess:
    """What the GraphQL route learned about a request; never the key, only the tenant's id."""

    tenant: str | None = None
    operation: str | None = None
    document: str | None = None
    ledger: UpstreamLedger | None = None


def note_graphql(
    scope: Scope,
    *,
    tenant: str | None,
    operation: str | None,
    document: str | None,
    ledger: UpstreamLedger | None,
) -> None:
    """Hand the access log what the GraphQL route knows (a no-op outside `AccessLog`)."""
    state = scope.get("state")
    access = state.get(_STATE_KEY) if isinstance(state, dict) else None
    if isinstance(access, GraphQLAccess):
        access.tenant, access.operation = tenant, operation
        access.document, access.ledger = document, ledger


class AccessLog:
    """Pure ASGI middleware: `Middleware(AccessLog)`, first in the list (outermost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # One pass over the raw headers (this runs on every request): the caller's ids.
        offered = [v for k, v in scope["headers"] if k.lower() == _HEADER]
        rid = request_id(offered[0].decode("latin-1") if offered else None)
        access = GraphQLAccess()
        state = scope.get("state")
        # The server's per-request copy of the lifespan state, or a dict of our own.
        state = state if isinstance(state, dict) else {}
        state[_STATE_KEY] = access
        scope = {**scope, "state": state}
        if offered != [rid.encode()]:
            # Anything but the one id kept as sent: the request carries the id decided here.
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != _HEADER]
            scope["headers"] = [*headers, (_HEADER, rid.encode())]
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
                raw = message.get("headers") or []
                if not any(k.lower() == _HEADER for k, _ in raw):
                    message["headers"] = [*raw, (_HEADER, rid.encode())]
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status is None:
                # Closed before it was accepted: the handshake was refused.
                status = 403
            await send(message)

        token = current_request_id.set(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            # A bug, or cancelled past the drain time: Starlette's error handler or uvicorn
            # answers 500 after this, unless an answer had started.
            status = status or 500
            raise
        finally:
            log_access(scope, rid, status, time.perf_counter() - started, access)
            current_request_id.reset(token)


def log_access(
    scope: Scope, rid: str, status: int | None, seconds: float, access: GraphQLAccess
) -> None:
    """Write one request's line; `AccessLog` does for every request it sees (the response
    cache's fast path, which answers ahead of it, writes its own)."""
    path = _printable(scope.get("path", ""))[:_MAX_PATH]
    fields: dict[str, object] = {
        "request_id": rid,
        # A WebSocket has no method: its line says so, and its status is the handshake's.
        "method": scope.get("method", "WEBSOCKET"),
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "tenant": access.tenant,
        "operation": access.operation,
        "document_hash": hashlib.sha256(access.document.encode()).hexdigest()
        if access.document is not None
        else None,
    }
    if access.ledger is not None:
        counts = access.ledger.by_provider.values()
        fields["upstream_calls"] = sum(c.calls for c in counts)
        fields["cache_hits"] = sum(c.cache_hits for c in counts)
        fields["cache_misses"] = sum(c.cache_misses for c in counts)
    else:
        fields |= {"upstream_calls": 0, "cache_hits": 0, "cache_misses": 0}
    level = logging.WARNING if status is None or status >= 500 else logging.INFO
    log.log(level, "%s %s %s", fields["method"], path, status, extra=fields)


def _printable(text: str) -> str:
    # A decoded path may hold control characters (%0A): escaped, so a line stays one line.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


__all__ = ["AccessLog", "GraphQLAccess", "log_access", "note_graphql"]
