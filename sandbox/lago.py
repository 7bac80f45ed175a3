"""A Lago API simulator: Bearer key auth (the key is the organisation), `{customer}` and
`{customers, meta}` envelopes, the list filters, `{status, error, code}` error bodies and
X-RateLimit-* headers (shared/docs/providers.md §3)."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.ratelimit import Buckets, Clock
from sandbox.seed import SandboxData
from sandbox.webhooks import WebhookEmitter

ResponseT = TypeVar("ResponseT", bound=Response)


def organization_uuid(api_key: str) -> str:
    """The Lago id of the organisation `api_key` belongs to, as its webhooks name it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, api_key))


# Fields Lago sends only on a single-customer read.
_GET_ONLY = ("applicable_invoice_custom_sections", "error_details")
_SEARCHED = ("name", "firstname", "lastname", "legal_name", "external_id", "email")


def _error(status: int, error: str, code: str | None = None, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "error": error}
    if code is not None:
        body["code"] = code
    if details is not None:
        body["error_details"] = details
    return JSONResponse(body, status_code=status)


class LagoSimulator:
    """Usage: `LagoSimulator(data).app`, mounted at `/api/v1`; `data.lago_organizations`
    maps each API key to its organisation's customers."""

    def __init__(
        self, data: SandboxData, webhooks: WebhookEmitter, clock: Clock = time.monotonic
    ) -> None:
        self.data = data
        self.webhooks = webhooks
        self.buckets = Buckets(capacity=50, rate=50, clock=clock)
        self.app = Starlette(
            routes=[
                Route("/customers", self.list_customers, methods=["GET"]),
                Route("/customers", self.upsert_customer, methods=["POST"]),
                Route("/customers/{external_id:path}", self.get_customer),
                Route("/webhooks/json_public_key", self.json_public_key),
                Route("/webhooks/public_key", self.public_key),
            ]
        )

    async def list_customers(self, request: Request) -> JSONResponse:
        customers, key, denied = self._authorize(request)
        if denied:
            return denied
        query = request.query_params
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", "100"))
        except ValueError:
            return self._ok(
                _error(
                    422, "Unprocessable Entity", "validation_errors", {"page": ["value_is_invalid"]}
                ),
                key,
            )
        if page < 1 or per_page < 1:
            return self._ok(
                _error(
                    422, "Unprocessable Entity", "validation_errors", {"page": ["value_is_invalid"]}
                ),
                key,
            )
        if query.get("customer_type") not in (None, "company", "individual"):
            return self._ok(
                _error(
                    422,
                    "Unprocessable Entity",
                    "validation_errors",
                    {"customer_type": ["value_is_invalid"]},
                ),
                key,
            )
        codes = query.getlist("billing_entity_codes[]")
        known = {c.get("billing_entity_code") for c in customers}
        if any(code not in known for code in codes):
            return self._ok(_error(404, "Not Found", "billing_entity_not_found"), key)
        selected = [c for c in customers if _matches(c, query)]
        # Lago lists newest first, ties broken by id. A record of a `--data` file may lack
        # the time (sandbox/seed/custom.py checks identifiers only): it sorts last.
        selected.sort(key=lambda c: (c.get("created_at") or "", c["lago_id"]), reverse=True)
        total = len(selected)
        pages = math.ceil(total / per_page)
        items = [_listed(c) for c in selected[(page - 1) * per_page : page * per_page]]
        meta = {
            "current_page": page if total else 0,
            "next_page": page + 1 if page < pages else None,
            "prev_page": page - 1 if 1 < page <= pages + 1 else None,
            "total_pages": pages,
            "total_count": total,
        }
        return self._ok(JSONResponse({"customers": items, "meta": meta}), key)

    async def upsert_customer(self, request: Request) -> JSONResponse:
        """Create or update by external_id, then deliver `customer.created|updated` with the
        whole customer, as Lago does."""
        customers, key, denied = self._authorize(request)
        if denied:
            return denied
        try:
            changes = (await request.json())["customer"]
            external_id = changes["external_id"]
        except (ValueError, KeyError, TypeError):
            return self._ok(
                _error(400, "BadRequest: param is missing or the value is empty: customer"), key
            )
        existing = next((c for c in customers if c["external_id"] == external_id), None)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if existing is None:
            existing = {**changes, "created_at": now, "lago_id": str(uuid.uuid4())}
            customers.append(existing)
            kind = "customer.created"
        else:
            existing.update(changes)
            kind = "customer.updated"
        existing["updated_at"] = now
        await self.webhooks.emit(
            "lago",
            {
                "webhook_type": kind,
                "object_type": "customer",
                "organization_id": organization_uuid(key),
                "customer": existing,
            },
        )
        return self._ok(JSONResponse({"customer": existing}), key)

    async def json_public_key(self, request: Request) -> JSONResponse:
        """The key JWT-mode webhooks are signed with, as Lago serves it (base64 of PEM)."""
        _, key, denied = self._authorize(request)
        if denied:
            return denied
        encoded = self.webhooks.lago_key.public_key_base64()
        return self._ok(JSONResponse({"webhook": {"public_key": encoded}}), key)

    async def public_key(self, request: Request) -> Response:
        """The deprecated form of `json_public_key`: the same base64, as text."""
        _, key, denied = self._authorize(request)
        if denied:
            return denied
        plain = PlainTextResponse(self.webhooks.lago_key.public_key_base64())
        return self._ok(plain, key)

    async def get_customer(self, request: Request) -> JSONResponse:
        customers, key, denied = self._authorize(request)
        if denied:
            return denied
        wanted = request.path_params["external_id"]
        for customer in customers:
            if customer["external_id"] == wanted:
                return self._ok(JSONResponse({"customer": customer}), key)
        return self._ok(_error(404, "Not Found", "customer_not_found"), key)

    def _authorize(self, request: Request) -> tuple[list[dict[str, Any]], str, JSONResponse | None]:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        customers = self.data.lago_organizations.get(key) if scheme.lower() == "bearer" else None
        if customers is None:
            return [], "", _error(401, "Unauthorized")
        bucket = self.buckets[key]
        if not bucket.take():
            response = self._ok(_error(429, "Too Many Requests"), key)
            return [], key, response
        return customers, key, None

    def _ok(self, response: ResponseT, key: str) -> ResponseT:
        bucket = self.buckets[key]
        response.headers["X-RateLimit-Limit"] = str(bucket.capacity)
        response.headers["X-RateLimit-Remaining"] = str(bucket.remaining)
        response.headers["X-RateLimit-Reset"] = str(max(1, math.ceil(bucket.seconds_until_token())))
        return response


def _listed(customer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in customer.items() if k not in _GET_ONLY}


def _matches(customer: dict[str, Any], query: Any) -> bool:
    if (external_id := query.get("external_id")) is not None:
        # Lago's server-side exact filter; it takes precedence over search_term.
        return bool(customer["external_id"] == external_id) and _matches_lists(customer, query)
    if term := query.get("search_term"):
        needle = term.casefold()
        if not any(needle in (customer.get(f) or "").casefold() for f in _SEARCHED):
            return False
    return _matches_lists(customer, query)


def _matches_lists(customer: dict[str, Any], query: Any) -> bool:
    for param, field in (
        ("account_type[]", "account_type"),
        ("billing_entity_codes[]", "billing_entity_code"),
        ("countries[]", "country"),
        ("states[]", "state"),
        ("zipcodes[]", "zipcode"),
        ("currencies[]", "currency"),
    ):
        wanted = query.getlist(param)
        if wanted and customer.get(field) not in wanted:
            return False
    if (kind := query.get("customer_type")) and customer.get("customer_type") != kind:
        return False
    if (has_tin := query.get("has_tax_identification_number")) is not None and (
        bool(customer.get("tax_identification_number")) != (has_tin == "true")
    ):
        return False
    if (has_type := query.get("has_customer_type")) is not None and (
        (customer.get("customer_type") is not None) != (has_type == "true")
    ):
        return False
    metadata = {
        m.get("key"): m.get("value") for m in customer.get("metadata") or [] if isinstance(m, dict)
    }
    for param, value in query.multi_items():
        if param.startswith("metadata[") and param.endswith("]"):
            key = param[len("metadata[") : -1]
            if (value == "" and key in metadata) or (value != "" and metadata.get(key) != value):
                return False
    return True


__all__ = ["LagoSimulator", "organization_uuid"]
