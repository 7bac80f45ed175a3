"""The response cache's fast path: a persisted GET whose answer is stored, answered ahead of
routing with no GraphQL work.

A hit does only what it must: one pass over the raw headers, authenticate (an API key is one
hash lookup), find what the query string resolved to last time (gateway/http/known_gets.py),
build the response-cache key (the cache generations, the caller's view and scopes, the served
schema's rules: the same key the pipeline builds), read the stored bytes, rate-limit, and write
them with their stored ETag. No Starlette request, routing, span, context or document parsing.

Anything whose answer the pipeline decides on something else takes the full pipeline
(gateway/http/endpoint.py), which gives the same answer as before: a request the fast path has
not seen (the pipeline's hit teaches it the query string), a miss, a caller that does not
authenticate, `Cache-Control` (no-cache and max-age both bypass or bound the cache there),
`X-Gateway-Trace`, `X-Gateway-Cost`, HTML accepted (the playground), no acceptable media type,
an `Origin` when CORS is on, a trusted-only caller or `require` mode with an APQ document, a
manifest that no longer names the document, an APQ registration evicted or expired. With
tracing on, every request takes the full pipeline, so every request is traced.

Each answer still counts as any other: one access-log line, the request metrics, the
response-cache and persisted-query counters.
"""

from __future__ import annotations

import functools
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.callers import Caller
from gateway.auth.jwt import TokenRejected
from gateway.errors import TenantError
from gateway.http.access_log import GraphQLAccess, log_access
from gateway.http.endpoint import GraphQLEndpoint, hand_on, rate_limit
from gateway.http.known_gets import KnownGet, KnownGets
from gateway.http.negotiation import negotiate
from gateway.http.rejection import Rejection, graphql_response
from gateway.http.request import request_id
from gateway.http.response import VARY, etag_matches
from gateway.http.response_cache import CachedResponse
from gateway.observability.metrics import REJECTED

# Headers whose answer only the full pipeline gives.
_LONG_WAY = frozenset({b"cache-control", b"x-gateway-trace", b"x-gateway-cost"})
_VARY = VARY.encode()
_HIT = b"hit"


class CachedGets:
    """Pure ASGI middleware, outermost: `Middleware(cached_gets.wrap)`. Built before the app
    so the app can hold it: `served` counts the answers it gave (tests read it; metrics count
    its hits as the pipeline counts its own)."""

    def __init__(
        self,
        *,
        endpoint: GraphQLEndpoint,
        known: KnownGets,
        path: str = "/graphql",
        cors: bool = False,
    ) -> None:
        self.app: ASGIApp | None = None
        self.endpoint = endpoint
        self.known = known
        self.path = path
        self.long_way = _LONG_WAY | {b"origin"} if cors else _LONG_WAY
        self.served = 0

    def wrap(self, app: ASGIApp) -> CachedGets:
        """Starlette's middleware factory: in front of `app`."""
        self.app = app
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "wrap() an app first"
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == self.path
            and scope["query_string"]
            and await self._answer(scope, send)
        ):
            return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send) -> bool:
        """Answer a hit and return True; False (having sent nothing) for the pipeline."""
        started = time.perf_counter()
        authorization = accept = offered_id = if_none_match = None
        for name, raw in scope["headers"]:
            if name in self.long_way:
                return False
            # The first of a repeated header, as Starlette's `Headers.get` reads it.
            if name == b"authorization" and authorization is None:
                authorization = raw.decode("latin-1")
            elif name == b"accept" and accept is None:
                accept = raw.decode("latin-1")
            elif name == b"x-request-id" and offered_id is None:
                offered_id = raw.decode("latin-1")
            elif name == b"if-none-match" and if_none_match is None:
                if_none_match = raw.decode("latin-1")
        media_type = _media_type(accept)
        if media_type is None:
            return False
        endpoint = self.endpoint
        try:
            caller = await endpoint.authenticator.authenticate(authorization)
        except (TenantError, TokenRejected) as refused:
            hand_on(scope, authorization, refused)
            return False
        # Whatever follows, the pipeline takes the caller from here: one signature check.
        hand_on(scope, authorization, caller)
        tenant = caller.tenant
        known = self.known.get(tenant.id, scope["query_string"])
        if known is None or not await self._still_resolves(known, caller):
            return False
        cache = endpoint.response_cache
        if cache is None:
            return False
        key, _ = await cache.key(
            tenant, known.query, known.operation, known.values, caller.scopes, endpoint.schema_id
        )
        hit = await cache.get(key) if key is not None else None
        if hit is None:
            return False
        rid = request_id(offered_id)
        metrics = endpoint.metrics
        metrics.in_flight.inc()
        try:
            status = await self._send(scope, send, caller, hit, media_type, rid, if_none_match)
        finally:
            metrics.in_flight.dec()
        seconds = time.perf_counter() - started
        label = REJECTED
        if status != 429:
            # Counted as the pipeline counts a hit: the document was found, then the answer.
            kind = "manifest" if known.trusted else "apq_hit"
            metrics.labelled(metrics.persisted, kind).inc()
            metrics.labelled(metrics.response_cache, "hit").inc()
            label = endpoint.labels.label(tenant.id, known.operation, trusted=known.trusted)
        metrics.observe(label, status, seconds, None)
        access = GraphQLAccess(tenant.id, known.operation, known.query, None)
        log_access(scope, rid, status, seconds, access)
        self.served += 1
        return True

    async def _still_resolves(self, known: KnownGet, caller: Caller) -> bool:
        """Whether the pipeline would find the same document by the same id now: in the
        manifest as it is now, or among the tenant's APQ registrations, which are evicted
        and expire (one store read, as the pipeline's)."""
        persisted = self.endpoint.documents.persisted
        if not known.trusted and (persisted.mode == "require" or caller.trusted_only):
            return False
        found = persisted.manifest.current.get(known.document_id)
        if known.trusted:
            return found == known.query
        # APQ: the pipeline looks in the manifest first (in `allow` mode).
        if not persisted.apq or (found is not None and persisted.mode != "off"):
            return False
        return await persisted.registered(caller.tenant.id, known.document_id)

    async def _send(
        self,
        scope: Scope,
        send: Send,
        caller: Caller,
        hit: CachedResponse,
        media_type: str,
        rid: str,
        if_none_match: str | None,
    ) -> int:
        endpoint = self.endpoint
        try:
            await rate_limit(endpoint.rate_limiter, endpoint.authenticator, caller)
        except Rejection as rejection:
            response = graphql_response(rejection, media_type, rid)

            async def nothing() -> dict[str, object]:  # a GET has no body to read
                return {"type": "http.request", "body": b""}

            await response(scope, nothing, send)
            return rejection.status
        cache_control = b"private, max-age=%d" % hit.max_age
        etag = hit.etag.encode()
        if etag_matches(hit.etag, if_none_match):
            headers = [
                (b"etag", etag),
                (b"cache-control", cache_control),
                (b"vary", _VARY),
                (b"x-request-id", rid.encode()),
            ]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return 304
        headers = [
            (b"content-length", b"%d" % len(hit.body)),
            (b"content-type", media_type.encode()),
            (b"x-request-id", rid.encode()),
            (b"x-response-cache", _HIT),
            (b"vary", _VARY),
            (b"cache-control", cache_control),
            (b"etag", etag),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": hit.body})
        return 200


@functools.lru_cache(maxsize=64)
def _media_type(accept: str | None) -> str | None:
    """The negotiated media type; None for the pipeline (none acceptable, or HTML, which may
    be the playground). Few distinct `Accept` values ever arrive: kept, at most 64."""
    if accept is not None and "text/html" in accept:
        return None
    return negotiate(accept)


__all__ = ["CachedGets"]
