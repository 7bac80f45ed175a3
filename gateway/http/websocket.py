"""GraphQL over WebSocket on `/graphql`: the graphql-transport-ws protocol (npm `graphql-ws`).

    connect (subprotocol graphql-transport-ws) → connection_init (auth) → connection_ack
    → subscribe {id, payload} → next … → complete;   ping ↔ pong both ways

The caller is authenticated as for queries (gateway/auth/callers.py): the upgrade's
`Authorization` header, else `connection_init`'s payload `{"Authorization": "Bearer …"}`.
Close codes are the protocol's: 4400 a message that is not one, 4401 subscribe before ack,
4403 a refused credential, 4406 another subprotocol, 4408 no connection_init in time, 4409 a
subscription id in use, 4429 a second connection_init; and 4500 for a subscriber whose queue
overflowed (it read slower than changes came), rather than buffering without bound. A tenant
at its `limits.max_subscribers_per_tenant` gets an `error` message (TOO_MANY_SUBSCRIBERS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.types import ExecutionResult

from gateway.auth.callers import Caller
from gateway.auth.jwt import TokenRejected
from gateway.errors import TenantError
from gateway.events.bus import EventBus, SlowConsumer
from gateway.http.rejection import Rejection
from gateway.http.request import _to_graphql_request
from gateway.http.subscriptions import Live, Refusal, open_subscription, result_payload

if TYPE_CHECKING:
    from gateway.http.endpoint import GraphQLEndpoint

log = logging.getLogger("gateway.http.websocket")
PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 3.0
KEEP_ALIVE_SECONDS = 12.0


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class WebSocketSession:
    """One connection. Usage: `await WebSocketSession(endpoint, bus, websocket).run()`."""

    def __init__(self, endpoint: GraphQLEndpoint, bus: EventBus, websocket: WebSocket) -> None:
        self.endpoint, self.bus, self.ws = endpoint, bus, websocket
        self.caller: Caller | None = None
        self.init_seen = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()

    async def run(self) -> None:
        offered = self.ws.scope.get("subprotocols", [])
        if PROTOCOL not in offered:
            await self.ws.close(4406, "Subprotocol not acceptable")
            return
        await self.ws.accept(PROTOCOL)
        keep_alive = asyncio.create_task(self._keep_alive())
        try:
            await self._receive_all()
        except _Closed as closed:
            await self._close(closed.code, closed.reason)
        except WebSocketDisconnect:
            pass
        finally:
            keep_alive.cancel()
            for task in self.operations.values():
                task.cancel()
            for task in list(self.operations.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _receive_all(self) -> None:
        try:
            first = await asyncio.wait_for(self._message(), INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise _Closed(4408, "Connection initialisation timeout") from None
        await self._handle(first)
        while True:
            await self._handle(await self._message())

    async def _message(self) -> dict[str, Any]:
        text = await self.ws.receive_text()
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Closed(4400, "Invalid message received") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Closed(4400, "Invalid message received")
        return message

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            raise _Closed(4400, f"Unexpected message of type {kind}")

    async def _init(self, payload: Any) -> None:
        if self.init_seen:
            raise _Closed(4429, "Too many initialisation requests")
        self.init_seen = True
        if payload is not None and not isinstance(payload, dict):
            raise _Closed(4400, "Invalid connection_init payload")
        authorization = self.ws.headers.get("authorization")
        if authorization is None and payload:
            offered = payload.get("Authorization", payload.get("authorization"))
            authorization = offered if isinstance(offered, str) else None
        try:
            self.caller = await self.endpoint.authenticator.authenticate(authorization)
        except (TenantError, TokenRejected):
            raise _Closed(4403, "Forbidden") from None
        await self._send({"type": "connection_ack"})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.caller is None:
            raise _Closed(4401, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise _Closed(4400, "Invalid subscribe message")
        if op_id in self.operations:
            raise _Closed(4409, f"Subscriber for {op_id} already exists")
        self.operations[op_id] = asyncio.create_task(self._operate(op_id, payload, self.caller))

    async def _operate(self, op_id: str, payload: dict[str, Any], caller: Caller) -> None:
        try:
            await self._stream(op_id, payload, caller)
        except SlowConsumer:
            await self._close(4500, "Subscriber too slow: changes overflowed its queue")
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug ends this operation with an error, logged once
            log.exception("unexpected error in subscription %s", op_id)
            await self._error(op_id, "Internal server error", "INTERNAL_SERVER_ERROR")
        finally:
            self.operations.pop(op_id, None)

    async def _stream(self, op_id: str, payload: dict[str, Any], caller: Caller) -> None:
        async for result in execute_subscription(self.endpoint, self.bus, caller, payload):
            if isinstance(result, Refusal):
                await self._error(op_id, result.message, result.code)
                return
            await self._send({"type": "next", "id": op_id, "payload": result_payload(result)})
        await self._send({"type": "complete", "id": op_id})

    async def _error(self, op_id: str, message: str, code: str) -> None:
        errors = [{"message": message, "extensions": {"code": code}}]
        await self._send({"type": "error", "id": op_id, "payload": errors})

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(KEEP_ALIVE_SECONDS)
            await self._send({"type": "ping"})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            if self.ws.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await self.ws.send_text(orjson.dumps(message).decode())

    async def _close(self, code: int, reason: str) -> None:
        async with self.send_lock:
            if self.ws.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                    await self.ws.close(code, reason)


async def execute_subscription(
    endpoint: GraphQLEndpoint, bus: EventBus, caller: Caller, payload: dict[str, Any]
) -> AsyncGenerator[ExecutionResult | Refusal, None]:
    """The results of one subscribe payload; a refusal comes first and alone."""
    try:
        request = _to_graphql_request(payload)
    except Rejection as rejection:
        yield Refusal(rejection.status, rejection.message, rejection.code)
        return
    opened = await open_subscription(endpoint, bus, caller, request)
    if not isinstance(opened, Live):
        yield opened
        return
    try:
        async for result in opened.results:
            yield result
    finally:
        await opened.aclose()


__all__ = [
    "INIT_TIMEOUT_SECONDS",
    "KEEP_ALIVE_SECONDS",
    "PROTOCOL",
    "WebSocketSession",
    "execute_subscription",
    "result_payload",
]
