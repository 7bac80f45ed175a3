"""The answer to a request that executed: its body and status, and its HTTP caching headers.

A request error (no data and no error tied to a field: the document did not parse or
validate, or its variables did not coerce) gets GraphQL-over-HTTP's status: 400 when the
document itself could not be read, 422 otherwise; every other answer is 200.

`extensions.cost` (asked for with `X-Gateway-Cost: report`) carries the cost limit's estimate
and the upstream calls the request made. `extensions.freshness` (when the document selects
`freshness`) summarises, per provider read, the oldest answer and how they were served
(docs/freshness.md).

Usage: `response = result_response(result, context.partial_errors, ledger, ...)`, then
`cache_headers(request, response, max_age, failed=...)` for what a GET answer may be kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import ExecutionResult

from gateway.context import PartialError
from gateway.http.errors import format_error, format_partial
from gateway.http.response_cache import etag_of
from gateway.ledger import UpstreamLedger

# Request errors from reading the document itself; every other request error (validation,
# limits, the operation, variables) is 422 (GraphQL-over-HTTP, "Status Codes").
_UNPARSABLE = frozenset({"GRAPHQL_PARSE_FAILED", "QUERY_TOO_LARGE"})


def result_response(
    result: ExecutionResult,
    partial_errors: Sequence[PartialError],
    ledger: UpstreamLedger,
    *,
    trace: bool,
    media_type: str,
    request_id: str,
    cost: bool = False,
    freshness: bool = False,
) -> Response:
    errors = [format_error(e, request_id) for e in result.errors or ()]
    errors.extend(format_partial(p) for p in partial_errors)
    request_error = is_request_error(result) and not partial_errors
    status = request_error_status(errors) if request_error else 200
    body: dict[str, Any] = {} if request_error else {"data": result.data}
    if errors:
        body["errors"] = errors
    extensions: dict[str, Any] = {}
    if ledger.stale_served:
        # Cached data past its freshness, served because these providers failed.
        extensions["stale"] = sorted(p.value for p in ledger.stale_served)
    if trace:
        extensions["upstream"] = ledger.as_extension()
    if cost:
        extensions["cost"] = cost_report(result, ledger)
    if freshness:
        extensions["freshness"] = ledger.freshness_extension()
    if extensions:
        body["extensions"] = extensions
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=media_type,
        headers={"X-Request-Id": request_id},
    )


def cost_report(result: ExecutionResult, ledger: UpstreamLedger) -> dict[str, Any]:
    """The estimate and limits the cost limit handed on (none when the request stopped
    before it: a document that did not validate), and the upstream calls actually made."""
    report = dict((result.extensions or {}).get("cost", {}))
    report["actual"] = {"upstreamCalls": sum(c.calls for c in ledger.by_provider.values())}
    return report


def is_request_error(result: ExecutionResult) -> bool:
    """No data and no error tied to a field: the request never ran (parse, validation,
    variables)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(e.path is None for e in result.errors or ())
    )


# What a GET answer depends on besides its URL.
VARY = "Accept, Authorization"


def cache_headers(
    request: Request, response: Response, max_age: int, *, failed: bool, etag: str | None = None
) -> Response:
    """Cache headers for a GET: `private` (data is per tenant), as fresh as the least fresh
    upstream answer used, `no-store` when anything failed; an ETag and 304 on a match. `Vary`
    names what else the answer depends on: the caller (Authorization) and the media type
    (Accept), so no cache, the browser's included, hands one caller's answer to another.
    `etag`: the body's, when known (a stored answer's), else computed here."""
    if request.method != "GET":
        return response
    response.headers["Vary"] = VARY
    if failed:
        response.headers["Cache-Control"] = "private, no-store"
        return response
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    etag = etag or etag_of(bytes(response.body))
    response.headers["ETag"] = etag
    if etag_matches(etag, request.headers.get("if-none-match")):
        return Response(
            status_code=304,
            headers={
                "ETag": etag,
                "Cache-Control": response.headers["Cache-Control"],
                "Vary": VARY,
                "X-Request-Id": response.headers["X-Request-Id"],
            },
        )
    return response


def request_error_status(errors: list[dict[str, Any]]) -> int:
    codes = {e.get("extensions", {}).get("code") for e in errors}
    return 400 if codes & _UNPARSABLE else 422


def etag_matches(etag: str, if_none_match: str | None) -> bool:
    """Whether `If-None-Match` names `etag` (weakly: a `W/` tag matches its strong twin)."""
    if not if_none_match:
        return False
    return etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}


__all__ = [
    "cache_headers",
    "cost_report",
    "etag_matches",
    "is_request_error",
    "request_error_status",
    "result_response",
]
