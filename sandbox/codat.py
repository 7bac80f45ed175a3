"""A Codat API simulator: Basic key auth, company-scoped customers, page-number paging with
HAL links, the query language, `ErrorMessage` bodies and X-Rate-Limit-* headers
(shared/docs/providers.md §2)."""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.codat_query import QueryError, compile_query
from sandbox.ratelimit import Buckets, Clock
from sandbox.seed import SandboxData
from sandbox.webhooks import WebhookEmitter

MAX_PAGE_SIZE = 5000
DAILY_QUOTA = 1000 * 2


def error_body(status: int, message: str, service: str = "PublicApi") -> dict[str, Any]:
    return {
        "statusCode": status,
        "service": service,
        "error": message,
        "correlationId": secrets.token_hex(16),
        "canBeRetried": "Unknown",
        "detailedErrorCode": 0,
    }


class CodatSimulator:
    """Usage: `CodatSimulator(data, api_keys={"key"}).app`."""

    def __init__(
        self,
        data: SandboxData,
        api_keys: set[str],
        webhooks: WebhookEmitter,
        clock: Clock = time.monotonic,
    ) -> None:
        self.data = data
        self.webhooks = webhooks
        self.api_keys = api_keys
        # The daily quota, metered like the real one but refilled over a day.
        self.buckets = Buckets(capacity=DAILY_QUOTA, rate=DAILY_QUOTA / 86400, clock=clock)
        self.app = Starlette(
            routes=[
                Route("/companies/{company_id}/data/customers", self.list_customers),
                Route("/companies/{company_id}/data/customers/{customer_id}", self.get_customer),
                # Sandbox only: stands for a change in the company's accounting software
                # followed by a Codat sync.
                Route(
                    "/_sandbox/companies/{company_id}/customers/{customer_id}",
                    self.change_at_source,
                    methods=["POST"],
                ),
            ]
        )

    async def list_customers(self, request: Request) -> JSONResponse:
        customers, key, refused = self._company(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            page = int(query.get("page", "1"))
            page_size = int(query.get("pageSize", "100"))
        except ValueError:
            return self._error(400, "page and pageSize must be integers", key)
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return self._error(400, "page must be >= 1 and pageSize between 1 and 5000", key)
        selected = customers
        if raw_query := query.get("query"):
            if len(raw_query) > 2048:
                return self._error(400, "Query is too long", key)
            try:
                predicate = compile_query(raw_query)
            except QueryError:
                return self._error(400, "The query is malformed", key)
            selected = [c for c in selected if predicate(c)]
        if order := query.get("orderBy"):
            field = order.lstrip("-")
            selected = sorted(
                selected, key=lambda c: str(c.get(field) or ""), reverse=order.startswith("-")
            )
        start = (page - 1) * page_size
        results = selected[start : start + page_size]
        base = f"/companies/{request.path_params['company_id']}/data/customers"
        links: dict[str, Any] = {
            "self": {"href": base},
            "current": {"href": _href(base, query, page)},
        }
        if start + page_size < len(selected):
            links["next"] = {"href": _href(base, query, page + 1)}
        if page > 1:
            links["previous"] = {"href": _href(base, query, page - 1)}
        body = {
            "results": results,
            "pageNumber": page,
            "pageSize": page_size,
            "totalResults": len(selected),
            "_links": links,
        }
        return self._ok(body, key)

    async def get_customer(self, request: Request) -> JSONResponse:
        customers, key, refused = self._company(request)
        if refused is not None:
            return refused
        wanted = request.path_params["customer_id"]
        for customer in customers:
            if customer["id"] == wanted:
                return self._ok(customer, key)
        return self._error(404, f"Customer {wanted} not found", key)

    async def change_at_source(self, request: Request) -> JSONResponse:
        """Apply changes as if the source system made them and Codat synced; deliver
        `read.completed` for the customers data type."""
        denied, key = self._authorize(request)
        if denied:
            return denied
        company_id = request.path_params["company_id"]
        customers = self.data.codat_companies.get(company_id, [])
        wanted = request.path_params["customer_id"]
        customer = next((c for c in customers if c["id"] == wanted), None)
        if customer is None:
            return self._error(404, f"Customer {wanted} not found", key)
        customer.update(await request.json())
        now = datetime.now(UTC)
        customer["modifiedDate"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        await self.webhooks.emit(
            "codat",
            {
                "id": str(uuid.uuid4()),
                "eventType": "read.completed",
                "generatedDate": customer["modifiedDate"],
                "payload": {
                    "referenceCompany": {"id": company_id, "name": "Sandbox company"},
                    "modifiedFromDate": customer["modifiedDate"],
                    "dataTypes": [
                        {"dataType": "customers", "recordsModified": True, "status": "Complete"}
                    ],
                },
            },
        )
        return self._ok(customer, key)

    def _company(self, request: Request) -> tuple[list[dict[str, Any]], str, JSONResponse | None]:
        """The path's company's customers and the caller's key, or the answer refusing them."""
        denied, key = self._authorize(request)
        if denied:
            return [], key, denied
        company_id = request.path_params["company_id"]
        customers = self.data.codat_companies.get(company_id)
        if customers is None:
            message = f"No company was found with ID {company_id}"
            return [], key, self._error(404, message, key, "ClientsApi")
        return customers, key, None

    def _authorize(self, request: Request) -> tuple[JSONResponse | None, str]:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        if key not in self.api_keys:
            return JSONResponse(error_body(401, "Unauthorized"), status_code=401), ""
        bucket = self.buckets[key]
        if not bucket.take():
            response = self._error(429, "Daily request quota exceeded", key)
            response.headers["Retry-After"] = str(math.ceil(bucket.seconds_until_token()))
            return response, key
        return None, key

    def _error(
        self, status: int, message: str, key: str, service: str = "PublicApi"
    ) -> JSONResponse:
        return self._with_headers(
            JSONResponse(error_body(status, message, service), status_code=status), key
        )

    def _ok(self, body: Any, key: str) -> JSONResponse:
        return self._with_headers(JSONResponse(body), key)

    def _with_headers(self, response: JSONResponse, key: str) -> JSONResponse:
        if key:
            bucket = self.buckets[key]
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            response.headers["X-Rate-Limit-Limit"] = str(bucket.capacity)
            response.headers["X-Rate-Limit-Remaining"] = str(bucket.remaining)
            response.headers["X-Rate-Limit-Reset"] = tomorrow.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response


def _href(base: str, query: Any, page: int) -> str:
    params = {k: v for k, v in query.items() if k != "page"}
    return f"{base}?{urlencode({'page': page, **params})}"


__all__ = ["CodatSimulator", "error_body"]
