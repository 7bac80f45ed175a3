"""A Layer API simulator: OAuth2 token endpoint, customers, `{data, meta}` envelopes,
`{errors: [...]}` error bodies and X-RateLimit-* headers (shared/docs/providers.md §1)."""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.ratelimit import Buckets, Clock
from sandbox.seed import SandboxData
from sandbox.webhooks import WebhookEmitter

TOKEN_LIFETIME_SECONDS = 3600
MAX_LIMIT = 100
SANDBOX_SCOPE = "https://sandbox.layerfi.com/sandbox"


def _error(status: int, kind: str, description: str, enum: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"type": kind, "description": description}
    if enum is not None:
        error["error_enum"] = enum
        error["meta"] = {}
    return JSONResponse({"errors": [error]}, status_code=status)


class LayerSimulator:
    """Usage: `LayerSimulator(data, {"client-id": "client-secret"}).app` and
    `.auth_app` (the token endpoint lives on its own host in production)."""

    def __init__(
        self,
        data: SandboxData,
        clients: dict[str, str],
        webhooks: WebhookEmitter,
        clock: Clock = time.monotonic,
    ) -> None:
        self.data = data
        self.webhooks = webhooks
        self.clients = clients
        self.tokens: dict[str, str] = {}  # token -> client id
        self.buckets = Buckets(capacity=100, rate=100, clock=clock)
        self.app = Starlette(
            routes=[
                Route("/v1/businesses/{business_id}/customers", self.list_customers),
                Route("/v1/businesses/{business_id}/customers/{customer_id}", self.get_customer),
                Route(
                    "/v1/businesses/{business_id}/customers/{customer_id}",
                    self.update_customer,
                    methods=["PATCH", "PUT"],
                ),
            ]
        )
        self.auth_app = Starlette(routes=[Route("/oauth2/token", self.token, methods=["POST"])])

    def revoke_all_tokens(self) -> None:
        """Make every issued token answer 401, as an expired token would."""
        self.tokens.clear()

    async def token(self, request: Request) -> JSONResponse:
        client_id = self._basic_client(request)
        # The token endpoint takes application/x-www-form-urlencoded, and only that.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if client_id is None or form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("scope") != SANDBOX_SCOPE:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = client_id
        return JSONResponse(
            {"access_token": token, "expires_in": TOKEN_LIFETIME_SECONDS, "token_type": "Bearer"}
        )

    async def list_customers(self, request: Request) -> JSONResponse:
        customers, client, refused = self._business(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            limit = int(query.get("limit", "100"))
            offset = _decode_cursor(query.get("cursor"))
        except ValueError:
            return _error(400, "BadRequest", "Invalid limit or cursor", "SpecifiedBadRequest")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(
                400, "BadRequest", "limit must be between 1 and 100", "SpecifiedBadRequest"
            )
        selected = [c for c in customers if _matches(c, query)]
        if query.get("sort_order", "ASC").upper() == "DESC":
            selected.reverse()
        page = selected[offset : offset + limit]
        has_more = offset + limit < len(selected)
        pagination = {
            "sort_by": query.get("sort_by", "created_at"),
            "sort_order": query.get("sort_order", "ASC").upper(),
            "cursor": _encode_cursor(offset + limit) if has_more else None,
            "has_more": has_more,
        }
        return self._ok({"data": page, "meta": {"pagination": pagination}}, client)

    async def get_customer(self, request: Request) -> JSONResponse:
        customers, client, refused = self._business(request)
        if refused is not None:
            return refused
        wanted = request.path_params["customer_id"]
        for customer in customers:
            if customer["id"] == wanted:
                return self._ok({"data": customer}, client)
        return _error(404, "NotFound", "Customer not found", "SpecifiedIdNotFound")

    async def update_customer(self, request: Request) -> JSONResponse:
        """Update fields, then deliver a thin `customer.updated` event, as Layer does."""
        denied, client = self._authorize(request)
        if denied:
            return denied
        customers = self.data.layer_businesses.get(request.path_params["business_id"], [])
        wanted = request.path_params["customer_id"]
        customer = next((c for c in customers if c["id"] == wanted), None)
        if customer is None:
            return _error(404, "NotFound", "Customer not found", "SpecifiedIdNotFound")
        try:
            changes = await request.json()
        except ValueError:
            return _error(400, "BadRequest", "Body is not JSON", "SpecifiedBadRequest")
        customer.update({k: v for k, v in changes.items() if k not in ("id", "type")})
        event = {"id": str(uuid.uuid4()), "type": "customer.updated", "data": {"id": wanted}}
        await self.webhooks.emit("layer", event)
        return self._ok({"data": customer}, client)

    def _basic_client(self, request: Request) -> str | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            return None
        return client_id

    def _business(self, request: Request) -> tuple[list[dict[str, Any]], str, JSONResponse | None]:
        """The path's business's customers and the caller, or the answer refusing them."""
        denied, client = self._authorize(request)
        if denied:
            return [], client, denied
        customers = self.data.layer_businesses.get(request.path_params["business_id"])
        if customers is None:
            return [], client, _error(404, "NotFound", "Business not found", "SpecifiedIdNotFound")
        return customers, client, None

    def _authorize(self, request: Request) -> tuple[JSONResponse | None, str]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        client = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if client is None:
            return _error(401, "Unauthorized", "Missing or expired access token"), ""
        bucket = self.buckets[client]
        if not bucket.take():
            response = _error(429, "TooManyRequests", "Rate limit exceeded")
            response.headers["Retry-After"] = str(max(1, math.ceil(bucket.seconds_until_token())))
            return response, client
        return None, client

    def _ok(self, body: dict[str, Any], client: str) -> JSONResponse:
        bucket = self.buckets[client]
        response = JSONResponse(body)
        response.headers["X-RateLimit-Limit"] = str(bucket.capacity)
        response.headers["X-RateLimit-Remaining"] = str(bucket.remaining)
        response.headers["X-RateLimit-Reset"] = str(math.floor(time.time()) + 1)
        return response


def _matches(customer: dict[str, Any], query: Any) -> bool:
    if (
        query.get("include_archived", "false").lower() != "true"
        and customer.get("status") == "ARCHIVED"
    ):
        return False
    if "external_id" in query and customer.get("external_id") != query["external_id"]:
        return False
    if "external_id_contains" in query and query["external_id_contains"] not in (
        customer.get("external_id") or ""
    ):
        return False
    names = [customer.get("individual_name") or "", customer.get("company_name") or ""]
    if "name" in query and query["name"] not in names:
        return False
    if "name_contains" in query:
        needle = query["name_contains"].casefold()
        if not any(needle in n.casefold() for n in names):
            return False
    return True


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("bad cursor") from exc
    prefix, _, number = text.partition(":")
    if prefix != "offset":
        raise ValueError("bad cursor")
    return int(number)


__all__ = ["SANDBOX_SCOPE", "LayerSimulator"]
