"""One subscription, whatever carries it: WebSocket (websocket.py) or SSE (sse.py).

    opened = await open_subscription(endpoint, bus, caller, graphql_request)
    Refusal         never started: its status (for HTTP), message and `extensions.code`
    ExecutionResult refused by the schema before it ran (does not parse or validate)
    Live            its results (`async for result in opened.results`), then `await opened.aclose()`

The document is found as for queries (persisted documents too, gateway/http/documents.py); the
subscriber is the caller's tenant view on the bus, so a JWT caller hears only its accounts. A
tenant at `limits.max_subscribers_per_tenant` is refused (429 TOO_MANY_SUBSCRIBERS); a
subscriber whose queue overflowed ends its results with `SlowConsumer`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry.types import ExecutionResult

from gateway.auth.callers import Caller
from gateway.events.bus import EventBus, SlowConsumer, Subscriber, TooManySubscribers
from gateway.events.live import LiveContext
from gateway.http.errors import format_error
from gateway.http.rejection import Rejection
from gateway.http.request import GraphQLRequest

if TYPE_CHECKING:
    from gateway.http.endpoint import GraphQLEndpoint

TOO_MANY_SUBSCRIBERS = "TOO_MANY_SUBSCRIBERS"
NOT_A_SUBSCRIPTION = "NOT_A_SUBSCRIPTION"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A subscription that never started."""

    status: int
    message: str
    code: str


class Live:
    """A started subscription: its results, and the subscriber to release however it ends."""

    def __init__(self, subscriber: Subscriber, source: AsyncIterator[ExecutionResult]) -> None:
        self.subscriber = subscriber
        self.results = self._results(source)

    async def _results(
        self, source: AsyncIterator[ExecutionResult]
    ) -> AsyncGenerator[ExecutionResult, None]:
        try:
            async for result in source:
                if self.subscriber.overflowed.is_set():
                    raise SlowConsumer
                yield result
            if self.subscriber.overflowed.is_set():
                raise SlowConsumer
        finally:
            self.subscriber.close()

    async def aclose(self) -> None:
        # Closing a generator never started runs no `finally`: release the subscriber here too.
        await self.results.aclose()
        self.subscriber.close()


async def open_subscription(
    endpoint: GraphQLEndpoint,
    bus: EventBus,
    caller: Caller,
    request: GraphQLRequest,
    *,
    subscriptions_only: bool = False,
) -> Refusal | ExecutionResult | Live:
    """Start `request` for `caller`. `subscriptions_only`: refuse a query or mutation (422
    NOT_A_SUBSCRIPTION) rather than let the schema answer it with an error result."""
    tenant = caller.tenant
    try:
        document = await endpoint.documents.find(
            tenant.id, request, trusted_only=caller.trusted_only
        )
        if subscriptions_only:
            _check_subscription(document.query, document.operation, endpoint)
    except Rejection as rejection:
        return Refusal(rejection.status, rejection.message, rejection.code)
    try:
        subscriber = bus.subscribe(tenant)
    except TooManySubscribers:
        message = "This tenant has as many live subscriptions open as it may"
        return Refusal(429, message, TOO_MANY_SUBSCRIBERS)
    try:
        context = LiveContext(
            tenant=tenant,
            settings=endpoint.settings,
            request_id=uuid.uuid4().hex,
            scopes=caller.scopes,
            changes=subscriber,
        )
        outcome = await endpoint.schema.subscribe(
            document.query,
            variable_values=request.variables,
            context_value=context,
            operation_name=request.operation_name,
            operation_extensions=request.extensions,
        )
    except BaseException:
        subscriber.close()
        raise
    if isinstance(outcome, ExecutionResult):
        # Refused before it ran (does not validate, a limit, not a subscription).
        subscriber.close()
        return outcome
    await endpoint.documents.register(tenant.id, document)
    return Live(subscriber, outcome)


def _check_subscription(query: str, operation: str | None, endpoint: GraphQLEndpoint) -> None:
    try:
        parsed = parse(query, max_tokens=endpoint.settings.limits.max_tokens)
    except GraphQLError:
        return  # the schema says why it does not parse, as for queries
    chosen = get_operation_ast(parsed, operation)
    if chosen is not None and chosen.operation is not OperationType.SUBSCRIPTION:
        message = "Only subscriptions are streamed; send queries and mutations to /graphql"
        raise Rejection(422, NOT_A_SUBSCRIPTION, message)


def result_payload(result: ExecutionResult, request_id: str = "") -> dict[str, Any]:
    """A result as `next` (WebSocket or SSE) carries it, its errors coded as for queries."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e, request_id) for e in result.errors]
    return body


__all__ = [
    "NOT_A_SUBSCRIPTION",
    "TOO_MANY_SUBSCRIBERS",
    "Live",
    "Refusal",
    "open_subscription",
    "result_payload",
]
