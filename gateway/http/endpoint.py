"""The `/graphql` route: GraphQL over HTTP as one short pipeline.

    method → negotiate → playground → authenticate → rate limit → read body → document
           → response cache → execute → respond

Each step is a few lines here or a function of its own module: request.py (method, media type,
body), documents.py (persisted documents, the operation), response_cache.py, response.py. A
step that refuses raises a `Rejection` (rejection.py), answered in the negotiated media type.

Follows the GraphQL-over-HTTP spec (../shared/specs/graphql-over-http): the response comes in
the highest-weighted media type the client accepts; a request that never executed gets the
spec's 4xx (400 for a body or document that does not parse, 422 for a request that is not a
GraphQL-over-HTTP request, does not validate, names no runnable operation or has variables
that do not coerce), for legacy `application/json` clients too. The tenant is known before the
body is read: an unauthenticated request costs no parsing and no labelled metric.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.auth.callers import Authenticator, Caller
from gateway.auth.jwt import TokenRejected
from gateway.cache.entry import CachePolicy
from gateway.context import Context
from gateway.errors import TenantError
from gateway.events.bus import EventBus
from gateway.http.access_log import note_graphql
from gateway.http.documents import Document, Documents
from gateway.http.freshness import NO_DEMAND, FreshnessDemand
from gateway.http.known_gets import KnownGets
from gateway.http.negotiation import JSON
from gateway.http.persisted import PersistedQueries
from gateway.http.playground import playground_response, wants_playground
from gateway.http.rejection import Rejection, graphql_response, retry_after
from gateway.http.request import (
    GraphQLRequest,
    acceptable_media_type,
    check_method,
    read_request,
    refusal_media_type,
    request_id,
    wants_cost,
)
from gateway.http.response import cache_headers, is_request_error, result_response
from gateway.http.response_cache import (
    NO_LOOKUP,
    CachedResponse,
    Generations,
    Lookup,
    ResponseCache,
    default_max_age,
)
from gateway.http.websocket import WebSocketSession
from gateway.ledger import UpstreamLedger, end_ledger, start_ledger
from gateway.observability.logs import request_id as current_request_id
from gateway.observability.metrics import REJECTED, Metrics, OperationLabels
from gateway.observability.tracing import request_span
from gateway.ratelimit import TenantRateLimiter
from gateway.resilience.policy import Timer
from gateway.settings.model import Settings
from gateway.tenants import Tenant

log = logging.getLogger("gateway.http")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="customer-gateway"'}
# RFC 6750 §3.1: a bearer token that was presented but does not verify.
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="customer-gateway", error="invalid_token"'}
_INTERNAL = Rejection(500, "INTERNAL_SERVER_ERROR", "Internal server error")


class OperationCompiler(Protocol):
    """Runs an operation from a compiled plan (resolvers/compiled/), or answers None when
    graphql-core must run it; a free-form document (`persisted` false) from its second
    sighting."""

    async def execute(
        self,
        schema: strawberry.Schema,
        schema_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
        *,
        persisted: bool = True,
    ) -> ExecutionResult | None: ...


@dataclass
class _Exchange:
    """One request on its way through the pipeline, and what its metrics and span learn."""

    request: Request
    id: str
    media_type: str = JSON
    tenant: Tenant | None = None
    caller: Caller | None = None
    operation: str | None = None
    document: str | None = None
    # The operation's metric label: REJECTED unless an operation ran (or was served whole).
    label: str = REJECTED
    ledger: UpstreamLedger | None = None
    report_cost: bool = False
    freshness: FreshnessDemand = NO_DEMAND


@dataclass(frozen=True, slots=True)
class _Executed:
    """What executing the document produced."""

    result: ExecutionResult
    context: Context
    ledger: UpstreamLedger

    @property
    def clean(self) -> bool:
        """No error and nothing stale: the answer may be stored, and kept by the client."""
        return not (self.result.errors or self.context.partial_errors or self.ledger.stale_served)


class GraphQLEndpoint:
    """The `/graphql` route.

    Usage: `Route("/graphql", GraphQLEndpoint(...))`: as an ASGI app it receives every method,
    so the ones it does not serve get its JSON 405 rather than a plain-text one.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        settings: Settings,
        authenticator: Authenticator,
        persisted: PersistedQueries,
        timer: Timer,
        metrics: Metrics,
        *,
        rate_limiter: TenantRateLimiter | None = None,
        response_cache: ResponseCache | None = None,
        cache_policies: Sequence[CachePolicy] = (),
        schema_id: str = "",
        live: EventBus | None = None,
        known_gets: KnownGets | None = None,
        compiler: OperationCompiler | None = None,
    ) -> None:
        self.schema = schema
        # What separates answers of this schema from another's in the response cache.
        self.schema_id = schema_id
        self.settings = settings
        self.authenticator = authenticator
        self.documents = Documents(persisted, settings.limits, metrics)
        self.rate_limiter = rate_limiter
        self.response_cache = response_cache
        self.timer = timer
        self.metrics = metrics
        self.labels = OperationLabels(settings.limits.max_operation_labels)
        # Freshness of a GET answer that read no provider at all.
        self.default_max_age = default_max_age(cache_policies)
        # The event bus subscriptions read (gateway/http/websocket.py, docs/live.md).
        self.live = live
        # What persisted GETs resolved to, for the response cache's fast path to find again
        # (gateway/http/cached_gets.py); None: no fast path.
        self.known_gets = known_gets
        # Operations run from compiled plans (docs/compiled.md, `performance.compile`: free-form
        # documents too, or persisted ones only); None: never.
        self.compiler = compiler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.live is None:
                await WebSocket(scope, receive, send).close(4404, "Subscriptions are off")
                return
            await WebSocketSession(self, self.live, WebSocket(scope, receive, send)).run()
            return
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    def use_schema(self, schema: strawberry.Schema, schema_id: str) -> None:
        """Serve `schema` from the next request on (a reload changed its field rules);
        `schema_id` names its rules, so no answer of the old schema is served from cache."""
        self.schema, self.schema_id = schema, schema_id

    async def handle(self, request: Request) -> Response:
        """Serve one request, timed, traced and counted."""
        x = _Exchange(request, request_id(request.headers.get("x-request-id")))
        token = current_request_id.set(x.id)
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        response: Response | None = None
        try:
            attributes = {"gateway.request_id": x.id}
            with request_span(request.headers, attributes) as span:
                response = await self._serve(x)
                span.set_attribute("http.response.status_code", response.status_code)
                if x.tenant:
                    span.set_attribute("gateway.tenant", x.tenant.id)
                if x.operation:
                    span.set_attribute("graphql.operation.name", x.operation)
            return response
        finally:
            self.metrics.in_flight.dec()
            status = response.status_code if response is not None else 500
            self.metrics.observe(x.label, status, time.perf_counter() - started, x.ledger)
            tenant = x.tenant.id if x.tenant else None
            note_graphql(
                request.scope,
                tenant=tenant,
                operation=x.operation,
                document=x.document,
                ledger=x.ledger,
            )
            current_request_id.reset(token)

    async def _serve(self, x: _Exchange) -> Response:
        try:
            return await self._pipeline(x)
        except Rejection as rejection:
            return graphql_response(rejection, refusal_media_type(x.request), x.id)
        except Exception:  # a bug must still get a JSON answer, logged once
            log.exception("unexpected error serving request %s", x.id)
            return graphql_response(_INTERNAL, JSON, x.id)

    async def _pipeline(self, x: _Exchange) -> Response:
        check_method(x.request.method)
        x.media_type = acceptable_media_type(x.request)
        if wants_playground(x.request, self.settings):
            return playground_response(x.request, self.settings, x.id)
        # Who asks comes first: an unknown caller costs no body read, no JSON parsing, no
        # document work and no labelled metric.
        caller = await self._authenticate(x)
        tenant = caller.tenant
        await rate_limit(self.rate_limiter, self.authenticator, caller)
        graphql_request = await read_request(x.request)
        document = await self.documents.find(
            tenant.id, graphql_request, trusted_only=caller.trusted_only
        )
        x.operation, x.document = document.operation, document.query
        trace, x.report_cost = self._traced(x.request, tenant), wants_cost(x.request)
        x.freshness = FreshnessDemand.of(x.request.headers, document.query)
        bypass = trace or x.report_cost or x.freshness.live
        lookup = await self._look_up(x.request, caller, document, bypass)
        if lookup.hit is not None:
            self._remember(x, graphql_request, document)
            return await self._from_cache(x, tenant, document, lookup.hit)
        executed = await self._execute(x, tenant, graphql_request, document, lookup.generations)
        response, stored = await self._respond(x, executed, trace, lookup)
        if stored:
            self._remember(x, graphql_request, document)
        return response

    def _remember(self, x: _Exchange, graphql_request: GraphQLRequest, document: Document) -> None:
        """A persisted GET whose answer is in the response cache: the fast path may answer
        its query string from now on."""
        if self.known_gets is not None and x.request.method == "GET" and x.tenant is not None:
            query_string = x.request.scope["query_string"]
            self.known_gets.remember(x.tenant.id, query_string, graphql_request, document)

    async def _authenticate(self, x: _Exchange) -> Caller:
        authorization = x.request.headers.get("authorization")
        x.caller = await authenticate(
            self.authenticator, authorization, handed_on(x.request.scope, authorization)
        )
        x.tenant = x.caller.tenant
        return x.caller

    def _traced(self, request: Request, tenant: Tenant) -> bool:
        """`X-Gateway-Trace: upstream`, honoured in development or for a tenant allowed it."""
        return request.headers.get("x-gateway-trace") == "upstream" and (
            self.settings.mode == "development" or tenant.settings.allow_trace
        )

    async def _look_up(
        self, request: Request, caller: Caller, document: Document, bypass: bool
    ) -> Lookup:
        """The response cache's answer, unless this request must be executed: tracing, the
        cost or live freshness was asked for, or the client said `Cache-Control: no-cache`."""
        cache, no_cache = self.response_cache, request.headers.get("cache-control", "")
        if cache is None or bypass or "no-cache" in no_cache.lower():
            return NO_LOOKUP
        lookup = await cache.lookup(
            caller.tenant,
            document.query,
            document.operation,
            document.values,
            caller.scopes,
            self.schema_id,
        )
        if lookup.key is not None:
            self.metrics.response_cache.labels("hit" if lookup.hit else "miss").inc()
        return lookup

    async def _from_cache(
        self, x: _Exchange, tenant: Tenant, document: Document, hit: CachedResponse
    ) -> Response:
        x.label = self._label(tenant, document)
        # The answer was stored because this document ran cleanly: register it, or a client
        # whose hash was evicted would never get it back in.
        await self.documents.register(tenant.id, document)
        headers = {"X-Request-Id": x.id, "X-Response-Cache": "hit"}
        response = Response(hit.body, media_type=x.media_type, headers=headers)
        return cache_headers(x.request, response, hit.max_age, failed=False, etag=hit.etag)

    async def _execute(
        self,
        x: _Exchange,
        tenant: Tenant,
        graphql_request: GraphQLRequest,
        document: Document,
        generations: Generations,
    ) -> _Executed:
        scopes = x.caller.scopes if x.caller is not None else None
        context = Context(tenant=tenant, settings=self.settings, request_id=x.id, scopes=scopes)
        deadline = self.timer.clock() + self.settings.resilience.request_deadline_seconds
        ledger, token = start_ledger(deadline, x.id)
        ledger.max_age = x.freshness.max_age
        # Read for the response cache's key already: the upstream cache reuses them.
        ledger.generations.update(generations)
        x.ledger = ledger
        try:
            result = await self._run_schema(x.request.method, graphql_request, document, context)
        finally:
            end_ledger(token)
        if not is_request_error(result):
            x.label = self._label(tenant, document)
            await self.documents.register(tenant.id, document)
        return _Executed(result, context, ledger)

    async def _run_schema(
        self, method: str, graphql_request: GraphQLRequest, document: Document, context: Context
    ) -> ExecutionResult:
        persisted = document.via is not None
        if self.compiler is not None and (persisted or self.settings.performance.compile == "all"):
            compiled = await self.compiler.execute(
                self.schema,
                self.schema_id,
                document.query,
                graphql_request.operation_name,
                graphql_request.variables,
                context,
                persisted=persisted,
            )
            if compiled is not None:
                return compiled
        allowed = {OperationType.QUERY} if method == "GET" else None
        try:
            return await self.schema.execute(
                document.query,
                variable_values=graphql_request.variables,
                context_value=context,
                operation_name=graphql_request.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=graphql_request.extensions,
            )
        except InvalidOperationTypeError:
            raise Rejection(
                405, "METHOD_NOT_ALLOWED", "Only queries can be sent over GET", {"Allow": "POST"}
            ) from None

    async def _respond(
        self, x: _Exchange, executed: _Executed, trace: bool, lookup: Lookup
    ) -> tuple[Response, bool]:
        """The answer, and whether it went into the response cache."""
        partial_errors, ledger = executed.context.partial_errors, executed.ledger
        response = result_response(
            executed.result,
            partial_errors,
            ledger,
            trace=trace,
            media_type=x.media_type,
            request_id=x.id,
            cost=x.report_cost,
            freshness=x.freshness.shown,
        )
        fresh_for = self.default_max_age if ledger.freshness is None else ledger.freshness
        stored, cache = False, self.response_cache
        if executed.clean and lookup.key is not None and cache is not None:
            stored = await cache.put(lookup.key, bytes(response.body), fresh_for)
        # Ages shown are true when sent: a client keeping the answer must ask again.
        max_age = 0 if x.freshness.shown else int(fresh_for)
        return cache_headers(x.request, response, max_age, failed=not executed.clean), stored

    def _label(self, tenant: Tenant, document: Document) -> str:
        # Admitted to the tenant's label budget only once the operation has run.
        return self.labels.label(tenant.id, document.operation, trusted=document.trusted)


async def rate_limit(
    limiter: TenantRateLimiter | None, authenticator: Authenticator, caller: Caller
) -> None:
    """Spend one request of the caller's budgets, or raise the 429."""
    if limiter is None:
        return
    # The user's own share first: a request it refuses spends none of the tenant's, so
    # one user over its limit cannot starve the others. Tokens without a `sub` share one.
    if caller.via == "jwt":
        auth = authenticator.settings
        wait = await limiter.acquire_subject(
            caller.tenant,
            caller.subject or "",
            auth.subject_requests_per_second,
            auth.subject_burst,
        )
        if wait is not None:
            message = "Too many requests for this user; retry after the Retry-After seconds"
            raise Rejection(429, "RATE_LIMITED", message, retry_after(wait))
    wait = await limiter.acquire(caller.tenant)
    if wait is not None:
        message = "Too many requests for this tenant; retry after the Retry-After seconds"
        raise Rejection(429, "RATE_LIMITED", message, retry_after(wait))


# What authenticating a request found: its caller, or why it has none.
Authenticated = Caller | TenantError | TokenRejected
_HANDED_ON = "gateway.authenticated"


def hand_on(scope: Scope, authorization: str | None, found: Authenticated) -> None:
    """Keep what authenticating this request found, for a later step of the same request
    (the response cache's fast path hands a request it does not answer to the pipeline, which
    would otherwise check a token's signature a second time)."""
    state = scope.setdefault("state", {})
    if isinstance(state, dict):
        state[_HANDED_ON] = (authorization, found)


def handed_on(scope: Scope, authorization: str | None) -> Authenticated | None:
    """What an earlier step found for this very `Authorization` value, if any."""
    state = scope.get("state")
    kept = state.get(_HANDED_ON) if isinstance(state, dict) else None
    if kept is None or kept[0] != authorization:
        return None
    found: Authenticated = kept[1]
    return found


async def authenticate(
    authenticator: Authenticator, authorization: str | None, found: Authenticated | None = None
) -> Caller:
    """The caller, or the 401 (503 when the identity provider's keys cannot be read) every
    HTTP route answers: `/graphql` and `/graphql/stream` alike. `found`: what authenticating
    the same `authorization` earlier in the request gave (`handed_on`)."""
    try:
        if isinstance(found, Caller):
            return found
        if found is not None:
            raise found
        return await authenticator.authenticate(authorization)
    except TokenRejected as exc:
        # 503 when the identity provider's keys cannot be read: not the token's fault.
        headers = _INVALID_TOKEN if exc.status == 401 else {}
        raise Rejection(exc.status, exc.code, exc.message, headers) from None
    except TenantError as exc:
        # A token whose claims cannot be served is an invalid token; a missing or unknown
        # API key is the challenge to send one.
        headers = _CHALLENGE if exc.code == TenantError.code else _INVALID_TOKEN
        raise Rejection(401, exc.code, exc.message, headers) from None


__all__ = [
    "Authenticated",
    "GraphQLEndpoint",
    "OperationCompiler",
    "authenticate",
    "hand_on",
    "handed_on",
    "rate_limit",
]
