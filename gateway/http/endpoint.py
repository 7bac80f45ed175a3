"""GraphQL over HTTP: GET and POST, content negotiation, status codes, tenant auth.

Follows the GraphQL-over-HTTP spec (../shared/specs/graphql-over-http): the response comes in
the highest-weighted media type the client accepts; a request that never executed gets the
spec's 4xx (400 for a body or document that does not parse, 422 for a request that is not a
GraphQL-over-HTTP request, does not validate, names no runnable operation or has variables
that do not coerce), for legacy `application/json` clients too. The tenant is known before the
body is read: an unauthenticated request costs no parsing and no labelled metric.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.context import Context
from gateway.errors import TenantError
from gateway.http.errors import format_error, format_partial
from gateway.http.negotiation import GRAPHQL_RESPONSE, JSON, negotiate
from gateway.http.operations import (
    DeclaredVariables,
    choose_operation,
    run_values,
)
from gateway.http.persisted import PERSISTED_QUERY_NOT_FOUND, PersistedQueries
from gateway.http.playground import render_graphiql
from gateway.http.rejection import Rejection, graphql_response, retry_after
from gateway.http.response_cache import ResponseCache
from gateway.ledger import UpstreamLedger, end_ledger, start_ledger
from gateway.observability.logs import request_id as current_request_id
from gateway.observability.metrics import REJECTED, Metrics, OperationLabels
from gateway.observability.tracing import tracer
from gateway.providers.resilience import Timer
from gateway.ratelimit import TenantRateLimiter
from gateway.settings import Settings
from gateway.tenants import Tenant, TenantDirectory

log = logging.getLogger("gateway.http")

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None


@dataclass
class _Outcome:
    """What the metrics and the request span learn while a request is served."""

    operation: str | None = None
    # The operation's metric label: REJECTED unless an operation ran (or was served whole).
    label: str = REJECTED
    tenant: str | None = None
    ledger: UpstreamLedger | None = None


class GraphQLEndpoint:
    """The `/graphql` route.

    Usage: `Route("/graphql", GraphQLEndpoint(...))`: as an ASGI app it receives every method,
    so the ones it does not serve get its JSON 405 rather than a plain-text one.
    """

    def __init__(
        self,
        schema: strawberry.Schema,
        settings: Settings,
        tenants: TenantDirectory,
        persisted: PersistedQueries,
        timer: Timer,
        metrics: Metrics,
    ) -> None:
        self.schema = schema
        self.settings = settings
        # Both replaced in the app's lifespan, once the HTTP client and cache exist.
        self.tenants = tenants
        self.persisted = persisted
        self.timer = timer
        self.metrics = metrics
        self.labels = OperationLabels(settings.limits.max_operation_labels)
        # Each document parsed once at the edge, for the operation to run and the variables it
        # runs with (the response cache's key).
        self.documents = DeclaredVariables(settings.limits.max_tokens)
        # Set in the lifespan, beside the cache store they keep their entries in.
        self.rate_limiter: TenantRateLimiter | None = None
        self.response_cache: ResponseCache | None = None
        # Freshness of a GET answer that read no provider at all.
        self.default_max_age = int(
            min(
                p.ttl_seconds
                for p in (settings.cache.layer, settings.cache.codat, settings.cache.lago)
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Serve one request, timed, traced and counted."""
        request_id = _request_id(request.headers.get("x-request-id"))
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        outcome = _Outcome()
        response: Response | None = None
        try:
            with tracer.start_as_current_span(
                "graphql.request", attributes={"gateway.request_id": request_id}
            ) as span:
                try:
                    response = await self._handle(request, request_id, outcome)
                except Exception:  # a bug must still get a JSON answer, logged once
                    log.exception("unexpected error serving request %s", request_id)
                    response = graphql_response(_INTERNAL, JSON, request_id)
                span.set_attribute("http.response.status_code", response.status_code)
                if outcome.tenant:
                    span.set_attribute("gateway.tenant", outcome.tenant)
                if outcome.operation:
                    span.set_attribute("graphql.operation.name", outcome.operation)
            return response
        finally:
            self.metrics.in_flight.dec()
            status = response.status_code if response is not None else 500
            seconds = time.perf_counter() - started
            self.metrics.observe(outcome.label, status, seconds, outcome.ledger)
            current_request_id.reset(token)

    async def _handle(self, request: Request, request_id: str, outcome: _Outcome) -> Response:
        media_type = negotiate(request.headers.get("accept"))
        try:
            if request.method not in ("GET", "POST"):
                raise Rejection(
                    405, "METHOD_NOT_ALLOWED", "Send GET or POST", {"Allow": "GET, POST"}
                )
            if media_type is None:
                raise Rejection(406, "NOT_ACCEPTABLE", f"Accept {GRAPHQL_RESPONSE} or {JSON}")
            if self._wants_playground(request):
                return HTMLResponse(
                    render_graphiql(str(request.url.path), needs_key=self._needs_key()),
                    headers={"X-Request-Id": request_id},
                )
            # Who asks comes first: an unknown caller costs no body read, no JSON parsing, no
            # document work and no labelled metric.
            tenant = self._authenticate(request)
            outcome.tenant = tenant.id
            wait = await self.rate_limiter.acquire(tenant) if self.rate_limiter else None
            if wait is not None:
                raise Rejection(
                    429,
                    "RATE_LIMITED",
                    "Too many requests for this tenant; retry after the Retry-After seconds",
                    retry_after(wait),
                )
            graphql_request = await _read_request(request)
            limit = self.settings.limits.max_document_chars
            if graphql_request.query is not None and len(graphql_request.query) > limit:
                raise Rejection(
                    400, "QUERY_TOO_LARGE", f"The query is longer than {limit} characters"
                )
            try:
                resolved = await self.persisted.resolve(
                    tenant.id,
                    graphql_request.query,
                    graphql_request.extensions,
                    graphql_request.document_id,
                )
            except Rejection as rejection:
                if rejection.code == PERSISTED_QUERY_NOT_FOUND:
                    self.metrics.persisted.labels("apq_miss").inc()
                raise
            if resolved.via:
                self.metrics.persisted.labels(resolved.via).inc()
            operations = self.documents.operations(resolved.query)
            operation = choose_operation(operations, graphql_request.operation_name)
            outcome.operation = operation
            # Admitted to the tenant's label budget only once the operation has run.
            label = partial(
                self.labels.label, tenant.id, operation, trusted=resolved.via == "manifest"
            )
            trace = request.headers.get("x-gateway-trace") == "upstream" and (
                self.settings.mode == "development" or tenant.settings.allow_trace
            )
            cache = self._response_cache_for(request, trace)
            cache_key, generations = (
                await cache.key(
                    tenant,
                    resolved.query,
                    operation,
                    run_values(operations, operation, graphql_request.variables),
                )
                if cache
                else (None, {})
            )
            if cache is not None and cache_key is not None:
                hit = await cache.get(cache_key)
                self.metrics.response_cache.labels("hit" if hit else "miss").inc()
                if hit is not None:
                    outcome.label = label()
                    if resolved.register is not None:
                        # The answer was stored because this document ran cleanly: register
                        # it, or a client whose hash was evicted would never get it back in.
                        await self.persisted.register(tenant.id, resolved.register, resolved.query)
                    response = Response(
                        hit.body,
                        media_type=media_type,
                        headers={"X-Request-Id": request_id, "X-Response-Cache": "hit"},
                    )
                    max_age = int(hit.expires_at - cache.clock())
                    return self._cacheable(request, response, max_age, failed=False)
            context = Context(tenant=tenant, settings=self.settings, request_id=request_id)
            deadline = self.timer.clock() + self.settings.resilience.request_deadline_seconds
            ledger, token = start_ledger(deadline, request_id)
            ledger.generations.update(generations)
            outcome.ledger = ledger
            try:
                result = await self._execute(
                    request.method, resolved.query, graphql_request, context
                )
            finally:
                end_ledger(token)
            if not _is_request_error(result):
                outcome.label = label()
                if resolved.register is not None:
                    await self.persisted.register(tenant.id, resolved.register, resolved.query)
        except Rejection as rejection:
            return graphql_response(rejection, media_type or JSON, request_id)
        response = self._respond(result, context, ledger, trace, media_type, request_id)
        clean = (
            response.status_code == 200
            and not result.errors
            and not context.partial_errors
            and not ledger.stale_served
        )
        fresh_for = self.default_max_age if ledger.freshness is None else ledger.freshness
        if cache is not None and cache_key is not None and clean:
            await cache.put(cache_key, bytes(response.body), fresh_for)
        return self._cacheable(request, response, int(fresh_for), failed=not clean)

    def _authenticate(self, request: Request) -> Tenant:
        try:
            return self.tenants.authenticate(request.headers.get("authorization"))
        except TenantError as exc:
            raise Rejection(401, exc.code, exc.message, _CHALLENGE) from None

    def _response_cache_for(self, request: Request, trace: bool) -> ResponseCache | None:
        """The response cache, unless this request must be executed: tracing was asked for,
        or the client said `Cache-Control: no-cache`."""
        if trace or "no-cache" in request.headers.get("cache-control", "").lower():
            return None
        return self.response_cache

    def _cacheable(
        self, request: Request, response: Response, max_age: int, *, failed: bool
    ) -> Response:
        """Cache headers for a GET: `private` (data is per tenant), as fresh as the least fresh
        upstream answer used, `no-store` when anything failed; an ETag and 304 on a match."""
        if request.method != "GET":
            return response
        if failed:
            response.headers["Cache-Control"] = "private, no-store"
            return response
        response.headers["Cache-Control"] = f"private, max-age={max_age}"
        etag = '"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'
        response.headers["ETag"] = etag
        if etag in _etags(request.headers.get("if-none-match")):
            return Response(
                status_code=304,
                headers={
                    "ETag": etag,
                    "Cache-Control": response.headers["Cache-Control"],
                    "X-Request-Id": response.headers["X-Request-Id"],
                },
            )
        return response

    def _wants_playground(self, request: Request) -> bool:
        return (
            self.settings.graphiql_enabled
            and request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    def _needs_key(self) -> bool:
        return (
            not any(t.allow_anonymous for t in self.settings.tenants)
            and not self.settings.uses_sandbox
        )

    async def _execute(
        self, method: str, query: str, graphql_request: GraphQLRequest, context: Context
    ) -> ExecutionResult:
        allowed = {OperationType.QUERY} if method == "GET" else None
        try:
            return await self.schema.execute(
                query,
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

    def _respond(
        self,
        result: ExecutionResult,
        context: Context,
        ledger: UpstreamLedger,
        trace: bool,
        media_type: str,
        request_id: str,
    ) -> Response:
        errors = [format_error(e, request_id) for e in result.errors or ()]
        errors.extend(format_partial(p) for p in context.partial_errors)
        request_error = _is_request_error(result) and not context.partial_errors
        status = _request_error_status(errors) if request_error else 200
        body: dict[str, Any] = {} if request_error else {"data": result.data}
        if errors:
            body["errors"] = errors
        extensions: dict[str, Any] = {}
        if ledger.stale_served:
            # Cached data past its freshness, served because these providers failed.
            extensions["stale"] = sorted(p.value for p in ledger.stale_served)
        if trace:
            extensions["upstream"] = ledger.as_extension()
        if extensions:
            body["extensions"] = extensions
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=media_type,
            headers={"X-Request-Id": request_id},
        )


def _is_request_error(result: ExecutionResult) -> bool:
    """No data and no error tied to a field: the request never ran (parse, validation,
    variables)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(e.path is None for e in result.errors or ())
    )


# Request errors from reading the document itself; every other request error (validation, limits,
# the operation, variables) is 422 (GraphQL-over-HTTP, "Status Codes").
_UNPARSABLE = frozenset({"GRAPHQL_PARSE_FAILED", "QUERY_TOO_LARGE"})


def _request_error_status(errors: list[dict[str, Any]]) -> int:
    codes = {e.get("extensions", {}).get("code") for e in errors}
    return 400 if codes & _UNPARSABLE else 422


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {t.strip().removeprefix("W/") for t in header.split(",")}


async def _read_request(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        # GraphQL-over-HTTP: an empty parameter is the same as an absent one.
        params = request.query_params
        return _to_graphql_request(
            {
                "query": params.get("query") or None,
                "variables": _json_param(params.get("variables"), "variables"),
                "operationName": params.get("operationName") or None,
                "extensions": _json_param(params.get("extensions"), "extensions"),
                "documentId": params.get("documentId") or None,
            }
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (JSON, GRAPHQL_RESPONSE):
        raise Rejection(415, "UNSUPPORTED_MEDIA_TYPE", f"Send the request as {JSON}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Rejection(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Rejection(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejection(400, "BAD_REQUEST", "The request body is not valid JSON") from None
    if isinstance(payload, list):
        raise Rejection(422, "BATCHING_NOT_SUPPORTED", "Send one operation per request")
    if not isinstance(payload, dict):
        raise Rejection(422, "BAD_REQUEST", "The request body must be a JSON object")
    return _to_graphql_request(payload)


def _json_param(value: str | None, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise Rejection(400, "BAD_REQUEST", f"The {name} parameter is not valid JSON") from None


def _to_graphql_request(payload: dict[str, Any]) -> GraphQLRequest:
    query, variables = payload.get("query"), payload.get("variables")
    operation_name, extensions = payload.get("operationName"), payload.get("extensions")
    document_id = payload.get("documentId")
    # Well-formed JSON that is not a GraphQL-over-HTTP request: 422.
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise Rejection(422, "BAD_REQUEST", "query must be a non-empty string")
    if document_id is not None and not isinstance(document_id, str):
        raise Rejection(422, "BAD_REQUEST", "documentId must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise Rejection(422, "BAD_REQUEST", "variables must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise Rejection(422, "BAD_REQUEST", "operationName must be a string")
    if extensions is not None and not isinstance(extensions, dict):
        raise Rejection(422, "BAD_REQUEST", "extensions must be a JSON object")
    if query is None and document_id is None and "persistedQuery" not in (extensions or {}):
        raise Rejection(422, "BAD_REQUEST", "The request has no GraphQL query")
    return GraphQLRequest(query, variables, operation_name, extensions, document_id)


def _request_id(offered: str | None) -> str:
    """The caller's request id when it is a plain token, so logs cannot be forged through it."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


_INTERNAL = Rejection(500, "INTERNAL_SERVER_ERROR", "Internal server error")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="customer-gateway"'}


__all__ = ["MAX_BODY_BYTES", "GraphQLEndpoint"]
