"""A GraphQL-over-HTTP request, read from the query string (GET) or a JSON body (POST).

Everything here is refused before a document is parsed: a method other than GET or POST (405),
an `Accept` that allows no type we write (406, gateway/http/negotiation.py), a body that is not
JSON by its content type (415) or is over 1 MiB (413). A body that does not parse is 400;
well-formed JSON that is not a GraphQL-over-HTTP request (a batch, a non-object, a field of the
wrong type, no query at all) is 422.

Usage: `check_method(request.method)`, `media_type = acceptable_media_type(request)`, and, once
the caller is known, `graphql_request = await read_request(request)`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from gateway.http.negotiation import GRAPHQL_RESPONSE, JSON, negotiate
from gateway.http.rejection import Rejection

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None


def request_id(offered: str | None) -> str:
    """The caller's request id when it is a plain token, so logs cannot be forged through it."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    # 128 random bits, as a uuid4's hex without building the UUID.
    return os.urandom(16).hex()


def wants_cost(request: Request) -> bool:
    """`X-Gateway-Cost: report`: the answer carries `extensions.cost`, so it is executed
    rather than read from the response cache (whose answers' calls were someone else's)."""
    return request.headers.get("x-gateway-cost") == "report"


def check_method(method: str) -> None:
    if method not in ("GET", "POST"):
        raise Rejection(405, "METHOD_NOT_ALLOWED", "Send GET or POST", {"Allow": "GET, POST"})


def acceptable_media_type(request: Request) -> str:
    """The media type to answer in: the highest-weighted one the client accepts."""
    media_type = negotiate(request.headers.get("accept"))
    if media_type is None:
        raise Rejection(406, "NOT_ACCEPTABLE", f"Accept {GRAPHQL_RESPONSE} or {JSON}")
    return media_type


def refusal_media_type(request: Request) -> str:
    """The media type a refusal is written in: the negotiated one, or JSON when there is none
    (a 406 too must be readable)."""
    return negotiate(request.headers.get("accept")) or JSON


async def read_request(request: Request) -> GraphQLRequest:
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
    try:
        payload = orjson.loads(await _read_body(request))
    except orjson.JSONDecodeError:
        raise Rejection(400, "BAD_REQUEST", "The request body is not valid JSON") from None
    if isinstance(payload, list):
        raise Rejection(422, "BATCHING_NOT_SUPPORTED", "Send one operation per request")
    if not isinstance(payload, dict):
        raise Rejection(422, "BAD_REQUEST", "The request body must be a JSON object")
    return _to_graphql_request(payload)


async def _read_body(request: Request) -> bytearray:
    # The declared length refuses early; the count while reading holds a client that lies.
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Rejection(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Rejection(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    return body


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


__all__ = [
    "MAX_BODY_BYTES",
    "GraphQLRequest",
    "acceptable_media_type",
    "check_method",
    "read_request",
    "refusal_media_type",
    "request_id",
    "wants_cost",
]
