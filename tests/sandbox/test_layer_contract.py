"""Layer publishes no OpenAPI file, so its simulator is held to the contract written in
shared/docs/providers.md §1, transcribed here as JSON Schema and checked with jsonschema."""

from __future__ import annotations

import base64
import time

import httpx
import jsonschema
import pytest

from sandbox import DEMO_ACCOUNT, LAYER_CLIENT_ID, LAYER_CLIENT_SECRET, Sandbox
from sandbox.layer import SANDBOX_SCOPE

NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"}
TAG = {
    "type": "object",
    "required": ["id", "key", "value", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "string"},
        "key": {"type": "string"},
        "value": {"type": "string"},
        "dimension_display_name": NULLABLE_STRING,
        "value_display_name": NULLABLE_STRING,
        "dimension_id": NULLABLE_STRING,
        "definition_id": NULLABLE_STRING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "deleted_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
        "archived_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
    },
    "additionalProperties": False,
}
CUSTOMER = {
    "type": "object",
    "required": ["type", "id", "status"],
    "properties": {
        "type": {"const": "CustomerData"},
        "id": {"type": "string", "format": "uuid"},
        "external_id": NULLABLE_STRING,
        "individual_name": NULLABLE_STRING,
        "company_name": NULLABLE_STRING,
        "email": NULLABLE_STRING,
        "mobile_phone": NULLABLE_STRING,
        "office_phone": NULLABLE_STRING,
        "address_string": NULLABLE_STRING,
        "status": {"enum": ["ACTIVE", "ARCHIVED"]},
        "memo": NULLABLE_STRING,
        "notes": NULLABLE_STRING,
        "metadata": {"type": ["object", "null"]},
        "reference_number": NULLABLE_STRING,
        "transaction_tags": {"type": "array", "items": TAG},
    },
    "additionalProperties": False,
}
LIST = {
    "type": "object",
    "required": ["data", "meta"],
    "properties": {
        "data": {"type": "array", "items": CUSTOMER},
        "meta": {
            "type": "object",
            "required": ["pagination"],
            "properties": {
                "pagination": {
                    "type": "object",
                    "required": ["sort_by", "sort_order", "cursor", "has_more"],
                    "properties": {
                        "sort_order": {"enum": ["ASC", "DESC"]},
                        "cursor": NULLABLE_STRING,
                        "has_more": {"type": "boolean"},
                    },
                }
            },
        },
    },
    "additionalProperties": False,
}
SINGLE = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": CUSTOMER},
    "additionalProperties": False,
}
ERROR = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type", "description"],
                "properties": {
                    "type": {"type": "string"},
                    "description": {"type": "string"},
                    "error_enum": {"type": "string"},
                    "meta": {"type": "object"},
                },
            },
        }
    },
    "additionalProperties": False,
}
CUSTOMERS = f"/layer/v1/businesses/{DEMO_ACCOUNT.layer_business_id}/customers"


def validate(body: object, schema: dict[str, object]) -> None:
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())


async def token(http: httpx.AsyncClient) -> dict[str, str]:
    basic = base64.b64encode(f"{LAYER_CLIENT_ID}:{LAYER_CLIENT_SECRET}".encode()).decode()
    response = await http.post(
        "/layer-auth/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "scope": SANDBOX_SCOPE,
            "client_id": LAYER_CLIENT_ID,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_every_listed_customer_and_page_matches_the_contract(
    sandbox_http: httpx.AsyncClient,
) -> None:
    auth = await token(sandbox_http)
    cursor, seen = None, 0
    while True:
        params = {
            "include_archived": "true",
            "limit": "100",
            **({"cursor": cursor} if cursor else {}),
        }
        response = await sandbox_http.get(CUSTOMERS, params=params, headers=auth)
        assert response.status_code == 200
        body = response.json()
        validate(body, LIST)
        seen += len(body["data"])
        reset = int(response.headers["X-RateLimit-Reset"])
        assert int(response.headers["X-RateLimit-Limit"]) == 100
        assert 0 <= int(response.headers["X-RateLimit-Remaining"]) <= 100
        assert time.time() - 5 < reset < time.time() + 5
        if not body["meta"]["pagination"]["has_more"]:
            break
        cursor = body["meta"]["pagination"]["cursor"]
    assert seen == 261


async def test_archived_customers_are_listed_only_when_asked(
    sandbox_http: httpx.AsyncClient,
) -> None:
    auth = await token(sandbox_http)
    default = await sandbox_http.get(CUSTOMERS, params={"limit": "100"}, headers=auth)
    statuses = {c["status"] for c in default.json()["data"]}
    assert statuses == {"ACTIVE"}


async def test_a_single_customer_matches_the_contract(sandbox_http: httpx.AsyncClient) -> None:
    auth = await token(sandbox_http)
    response = await sandbox_http.get(
        f"{CUSTOMERS}/4f7c1b16-e057-4ec0-8b20-50308ba5b9ea", headers=auth
    )
    validate(response.json(), SINGLE)


@pytest.mark.parametrize(
    ("path", "authorized", "status", "enum"),
    [
        (f"{CUSTOMERS}/00000000-0000-4000-8000-000000000000", True, 404, "SpecifiedIdNotFound"),
        ("/layer/v1/businesses/nope/customers", True, 404, "SpecifiedIdNotFound"),
        (f"{CUSTOMERS}?limit=1000", True, 400, "SpecifiedBadRequest"),
        (CUSTOMERS, False, 401, None),
    ],
)
async def test_errors_match_the_contract(
    sandbox_http: httpx.AsyncClient, path: str, authorized: bool, status: int, enum: str | None
) -> None:
    headers = await token(sandbox_http) if authorized else {"Authorization": "Bearer expired"}
    response = await sandbox_http.get(path, headers=headers)
    assert response.status_code == status
    body = response.json()
    validate(body, ERROR)
    assert body["errors"][0].get("error_enum") == enum


async def test_throttling_answers_429_with_retry_after() -> None:
    # A frozen clock: the bucket never refills, so exactly its 100 requests go through.
    sandbox = Sandbox(clock=lambda: 0.0)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sb.invalid"
    ) as http:
        auth = await token(http)
        statuses = [
            (await http.get(f"{CUSTOMERS}?limit=1", headers=auth)).status_code for _ in range(100)
        ]
        throttled = await http.get(f"{CUSTOMERS}?limit=1", headers=auth)
    assert statuses == [200] * 100
    assert throttled.status_code == 429
    validate(throttled.json(), ERROR)
    assert throttled.headers["Retry-After"] == "1"


async def test_a_wrong_client_secret_gets_no_token(sandbox_http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"{LAYER_CLIENT_ID}:wrong".encode()).decode()
    response = await sandbox_http.post(
        "/layer-auth/oauth2/token",
        data={"grant_type": "client_credentials", "scope": SANDBOX_SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 401
