"""Signed `customers` cursors: only a cursor this gateway issued, to this tenant, for this filter
and these provider accounts, pages on; anything else is INVALID_CURSOR before any upstream call."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from gateway.settings.model import Settings
from tests.cache.test_caching import twin_tenants
from tests.support import GatewayClient, gateway_client

TRACE = {"x-gateway-trace": "upstream"}
PAGE = """query($after: String, $providers: [Provider!], $filter: CustomerFilter) {
  customers(first: 3, after: $after, providers: $providers, filter: $filter) {
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor }
  }
}"""
KEYED = Settings(cursor_key=SecretStr("one-shared-cursor-key"))


async def page(
    gateway: GatewayClient,
    after: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **variables: Any,
) -> dict[str, Any]:
    response = await gateway.http.post(
        "/graphql",
        json={"query": PAGE, "variables": {"after": after, **variables}},
        headers={**TRACE, **(headers or {})},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def assert_invalid_cursor(body: dict[str, Any], gateway: GatewayClient) -> None:
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INVALID_CURSOR", "classification": "BAD_USER_INPUT"}
    assert error["path"] == ["customers"]
    assert body["extensions"]["upstream"]["calls"] == 0
    assert gateway.upstream.requests == []


async def issued_cursor(settings: Settings = KEYED, **variables: Any) -> str:
    async with gateway_client(settings) as gateway:
        first = await page(gateway, **variables)
    cursor: str = first["data"]["customers"]["pageInfo"]["endCursor"]
    return cursor


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tampered(cursor: str) -> dict[str, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    middle = len(cursor) // 2
    flipped = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    # The positions moved on, the rest (any signature included) kept as issued.
    payload, end = json.JSONDecoder().raw_decode(raw.decode("latin-1"))
    payload["p"] = {name: [token, 0, 90, False] for name, (token, *_) in payload["p"].items()}
    forged = orjson.dumps(payload) + raw[end:]
    return {
        "one character changed": flipped,
        "truncated": cursor[:-6],
        "last byte of the MAC changed": unpadded(raw[:-1] + bytes([raw[-1] ^ 1])),
        "garbage": "not-a-cursor",
        "empty": "",
        "padded": cursor + "=" * (-len(cursor) % 4 or 4),
        "standard base64 alphabet": base64.b64encode(raw).decode(),
        "positions forged": unpadded(forged),
        "over-long": cursor * 20,
    }


@pytest.mark.parametrize(
    "name",
    [
        "one character changed",
        "truncated",
        "last byte of the MAC changed",
        "garbage",
        "empty",
        "padded",
        "standard base64 alphabet",
        "positions forged",
        "over-long",
    ],
)
async def test_a_cursor_the_gateway_did_not_issue_is_refused_before_any_call(name: str) -> None:
    cursor = tampered(await issued_cursor())[name]
    # A fresh app (cold cache), so an accepted cursor would have to call upstream.
    async with gateway_client(KEYED) as gateway:
        assert_invalid_cursor(await page(gateway, cursor), gateway)


async def test_the_untampered_cursor_pages_on_in_another_instance_with_the_same_key() -> None:
    cursor = await issued_cursor()
    async with gateway_client(KEYED) as gateway:
        body = await page(gateway, cursor)
    assert "errors" not in body
    assert len(body["data"]["customers"]["edges"]) == 3
    assert body["extensions"]["upstream"]["calls"] > 0


async def test_a_walk_across_two_instances_sharing_a_key_sees_every_customer_once() -> None:
    async with gateway_client(KEYED) as one, gateway_client(KEYED) as two:
        seen: list[str] = []
        after: str | None = None
        for turn in range(400):
            body = await page((one, two)[turn % 2], after, providers=["CODAT", "LAGO"])
            connection = body["data"]["customers"]
            seen.extend(e["node"]["id"] for e in connection["edges"])
            after = connection["pageInfo"]["endCursor"]
            if not connection["pageInfo"]["hasNextPage"]:
                break
    assert len(seen) == len(set(seen)) == 261 + 261


@pytest.mark.parametrize(
    "other",
    [
        Settings(cursor_key=SecretStr("another-cursor-key")),
        # No key configured: this process's random key, which is not KEYED's.
        Settings(),
    ],
    ids=["another configured key", "the per-process key"],
)
async def test_a_cursor_signed_with_another_key_is_refused(other: Settings) -> None:
    cursor = await issued_cursor()
    async with gateway_client(other) as gateway:
        assert_invalid_cursor(await page(gateway, cursor), gateway)


@pytest.mark.parametrize("providers", [None, ["LAGO"]])
async def test_a_cursor_from_tenant_a_replayed_by_tenant_b_is_refused(
    providers: list[str] | None,
) -> None:
    # With only LAGO the two tenants' accounts even carry the same organisation label: the
    # tenant id alone must tell the cursors apart.
    settings = twin_tenants()
    a, b = {"authorization": "Bearer key-a"}, {"authorization": "Bearer key-b"}
    async with gateway_client(settings) as gateway:
        issued = await page(gateway, headers=a, providers=providers)
        cursor = issued["data"]["customers"]["pageInfo"]["endCursor"]
    async with gateway_client(settings) as gateway:
        assert_invalid_cursor(await page(gateway, cursor, headers=b, providers=providers), gateway)
        # The same cursor still serves the tenant it was issued to.
        own = await page(gateway, cursor, headers=a, providers=providers)
    assert "errors" not in own
    assert own["data"]["customers"]["edges"]


@pytest.mark.parametrize(
    "variables",
    [
        {"providers": ["LAGO"]},
        {"filter": {"search": "a"}},
        {"providers": ["LAYER", "CODAT", "LAGO"], "filter": {"status": ["ACTIVE"]}},
    ],
    ids=["another provider set", "another filter", "another filter, all providers"],
)
async def test_a_cursor_for_another_filter_or_provider_set_is_refused(
    variables: dict[str, Any],
) -> None:
    cursor = await issued_cursor()
    async with gateway_client(KEYED) as gateway:
        assert_invalid_cursor(await page(gateway, cursor, **variables), gateway)
