"""GraphQL over Server-Sent Events on `/graphql/stream`: the distinct connections mode (what
the npm `graphql-sse` client uses by default; ../shared/specs/graphql-over-http/GraphQLOverSSE.md).

    POST /graphql/stream  {"query": "subscription { … }"}   (or GET with query parameters)
    Accept: text/event-stream
    → 200 text/event-stream:  event: next / data: <result>  …  event: complete / data:

One request is one subscription; the client ends it by closing the connection, which releases
its subscriber. Refused before the stream starts, as a JSON GraphQL response with one coded
error: the caller (401, as for queries), the request (400, 405, 406, 413, 415, 422), a query
or mutation (422 NOT_A_SUBSCRIPTION), the tenant's subscriber cap (429 TOO_MANY_SUBSCRIBERS).
A subscription that does not parse or validate is answered as the protocol says: a `next`
with the errors, then `complete`. A comment line opens the stream at once and keeps an idle
one open through proxies every `KEEP_ALIVE_SECONDS`. A subscriber whose queue overflowed gets
a `next` with a SLOW_CONSUMER error, then `complete`, rather than being buffered without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.types import ExecutionResult

from gateway.events.bus import EventBus, SlowConsumer
from gateway.http.endpoint import GraphQLEndpoint, authenticate
from gateway.http.errors import format_error
from gateway.http.negotiation import JSON
from gateway.http.rejection import Rejection, graphql_response
from gateway.http.request import check_method, read_request, request_id
from gateway.http.response import request_error_status
from gateway.http.subscriptions import Live, open_subscription, result_payload

log = logging.getLogger("gateway.http.sse")
EVENT_STREAM = "text/event-stream"
KEEP_ALIVE_SECONDS = 12.0
SLOW_CONSUMER = "SLOW_CONSUMER"
_KEEP_ALIVE = b":\n\n"
_COMPLETE = b"event: complete\ndata:\n\n"
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    # No cache or proxy may hold the events back (nginx buffers a response unless told).
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def next_event(payload: dict[str, Any]) -> bytes:
    return b"event: next\ndata: " + orjson.dumps(payload) + b"\n\n"


class SseEndpoint:
    """The `/graphql/stream` route.

    Usage: `Route("/graphql/stream", SseEndpoint(endpoint, bus))`."""

    def __init__(
        self,
        endpoint: GraphQLEndpoint,
        bus: EventBus,
        keep_alive_seconds: float = KEEP_ALIVE_SECONDS,
    ) -> None:
        self.endpoint, self.bus, self.keep_alive = endpoint, bus, keep_alive_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        rid = request_id(request.headers.get("x-request-id"))
        try:
            opened = await self._open(request, rid)
        except Rejection as rejection:
            opened = graphql_response(rejection, JSON, rid)
        except Exception:  # a bug must still get a JSON answer, logged once
            log.exception("unexpected error opening stream %s", rid)
            refusal = Rejection(500, "INTERNAL_SERVER_ERROR", "Internal server error")
            opened = graphql_response(refusal, JSON, rid)
        if isinstance(opened, Response):
            await opened(scope, receive, send)
            return
        await self._stream(opened, rid, receive, send)

    async def _open(self, request: Request, rid: str) -> Live | Response:
        check_method(request.method)
        if not _accepts_event_stream(request.headers.get("accept")):
            raise Rejection(406, "NOT_ACCEPTABLE", f"Accept {EVENT_STREAM}")
        # Who asks first: an unknown caller costs no body read and no parsing.
        caller = await authenticate(
            self.endpoint.authenticator, request.headers.get("authorization")
        )
        graphql_request = await read_request(request)
        opened = await open_subscription(
            self.endpoint, self.bus, caller, graphql_request, subscriptions_only=True
        )
        if isinstance(opened, Live):
            return opened
        if isinstance(opened, ExecutionResult):
            errors = [format_error(e, rid) for e in opened.errors or ()]
            body = orjson.dumps({"errors": errors})
            headers = {"X-Request-Id": rid}
            return Response(body, request_error_status(errors), headers, media_type=JSON)
        raise Rejection(opened.status, opened.code, opened.message)

    async def _stream(self, live: Live, rid: str, receive: Receive, send: Send) -> None:
        headers = [*_HEADERS, (b"x-request-id", rid.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # A first comment at once: uvicorn writes the headers with the first body chunk, and a
        # client's fetch resolves only on the headers, so it would wait for the first change.
        await send({"type": "http.response.body", "body": _KEEP_ALIVE, "more_body": True})
        writer = asyncio.create_task(self._write(live, rid, send))
        # The client ends a subscription by going away: notice it between events too.
        watcher = asyncio.create_task(_disconnect(receive))
        try:
            await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, watcher):
                task.cancel()
            for task in (writer, watcher):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            await live.aclose()

    async def _write(self, live: Live, rid: str, send: Send) -> None:
        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        try:
            async for result in _with_keep_alive(live.results, self.keep_alive):
                await body(
                    _KEEP_ALIVE if result is None else next_event(result_payload(result, rid))
                )
        except SlowConsumer:
            message = "Subscriber too slow: changes overflowed its queue"
            await body(next_event(_error(message, SLOW_CONSUMER)))
        except Exception:  # a bug ends this stream with an error, logged once
            log.exception("unexpected error in stream %s", rid)
            await body(next_event(_error("Internal server error", "INTERNAL_SERVER_ERROR")))
        await send({"type": "http.response.body", "body": _COMPLETE, "more_body": False})


async def _with_keep_alive(
    results: AsyncIterator[ExecutionResult], seconds: float
) -> AsyncIterator[ExecutionResult | None]:
    """The results, and None for each `seconds` without one. The pending read is waited on,
    never cancelled, between keep-alives (cancelling it would end the subscription)."""
    pending: asyncio.Task[ExecutionResult] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(results))
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            try:
                result = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield result
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _accepts_event_stream(accept: str | None) -> bool:
    if not accept:
        return True
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {EVENT_STREAM, "text/*", "*/*"})


__all__ = ["EVENT_STREAM", "KEEP_ALIVE_SECONDS", "SLOW_CONSUMER", "SseEndpoint", "next_event"]
