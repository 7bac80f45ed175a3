"""The invalidation loop: the sandbox changes a customer and delivers the provider's signed
webhook; the gateway verifies it and updates or retires what it cached."""

from __future__ import annotations

import base64
import time

import httpx
import orjson
import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.lago.webhook import lago_signature
from gateway.providers.layer import LAYER
from gateway.webhooks.signatures import standard_signature
from sandbox import (
    CODAT_API_KEY,
    CODAT_WEBHOOK_SECRET,
    DEMO_ACCOUNT,
    LAGO_WEBHOOK_HMAC_KEY,
    LAYER_WEBHOOK_SECRET,
)
from tests.support import GatewayClient

TRACE = {"x-gateway-trace": "upstream"}
READ = "query($id: ID!) { customer(id: $id) { displayName taxes { code } } }"
GAVIN_ID = "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba"
GAVIN = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, GAVIN_ID))
JOHN_ID = "4f7c1b16-e057-4ec0-8b20-50308ba5b9ea"
JOHN = encode_id(CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, JOHN_ID))
COYOTE = encode_id(CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, "71"))


def subscribe(gateway: GatewayClient) -> None:
    transport = httpx.ASGITransport(gateway.app)
    hooks = gateway.sandbox.webhooks
    base = "http://gateway.test/webhooks"
    hooks.subscribe("lago", f"{base}/lago?tenant=demo", LAGO_WEBHOOK_HMAC_KEY, transport)
    hooks.subscribe("layer", f"{base}/layer?tenant=demo", LAYER_WEBHOOK_SECRET, transport)
    hooks.subscribe("codat", f"{base}/codat?tenant=demo", CODAT_WEBHOOK_SECRET, transport)


async def read(gateway: GatewayClient, global_id: str) -> tuple[dict[str, object], int]:
    body = await gateway.query(READ, {"id": global_id}, headers=TRACE)
    assert "errors" not in body, body
    return body["data"]["customer"], body["extensions"]["upstream"]["calls"]


async def sandbox_call(
    gateway: GatewayClient, method: str, path: str, body: object, headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(gateway.sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        return await http.request(method, path, json=body, headers=headers)


async def layer_token(gateway: GatewayClient) -> dict[str, str]:
    from tests.sandbox.test_layer_contract import token

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(gateway.sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        return await token(http)


async def test_a_lago_update_replaces_the_cached_customer(gateway: GatewayClient) -> None:
    subscribe(gateway)
    before, calls = await read(gateway, GAVIN)
    assert (before["displayName"], calls) == ("Gavin Belson", 1)
    response = await sandbox_call(
        gateway,
        "POST",
        "/lago/api/v1/customers",
        {"customer": {"external_id": GAVIN_ID, "name": "Gavin Belson Qzx"}},
        {"Authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"},
    )
    assert response.status_code == 200
    assert gateway.sandbox.webhooks.delivered == [("lago", 200)]
    after, calls = await read(gateway, GAVIN)
    # The event carried the customer: no call, and the fields it lacks kept their values.
    assert after == {
        "displayName": "Gavin Belson Qzx",
        "taxes": [{"code": "french_standard_vat"}],
    }
    assert calls == 0
    listed = await gateway.query(
        '{ customers(providers: [LAGO], filter: {search: "Qzx"}) '
        "{ edges { node { displayName } } } }"
    )
    assert [e["node"]["displayName"] for e in listed["data"]["customers"]["edges"]] == [
        "Gavin Belson Qzx"
    ]


async def test_a_layer_event_retires_and_the_next_read_refetches(gateway: GatewayClient) -> None:
    subscribe(gateway)
    assert (await read(gateway, JOHN))[1] == 2  # a token, then the customer
    assert (await read(gateway, JOHN))[1] == 0
    response = await sandbox_call(
        gateway,
        "PATCH",
        f"/layer/v1/businesses/{DEMO_ACCOUNT.layer_business_id}/customers/{JOHN_ID}",
        {"company_name": "Acme Holdings, Inc."},
        await layer_token(gateway),
    )
    assert response.status_code == 200
    assert gateway.sandbox.webhooks.delivered == [("layer", 200)]
    after, calls = await read(gateway, JOHN)
    assert (after["displayName"], calls) == ("Acme Holdings, Inc.", 1)


async def test_a_codat_sync_retires_the_company(gateway: GatewayClient) -> None:
    subscribe(gateway)
    await read(gateway, COYOTE)
    auth = "Basic " + base64.b64encode(CODAT_API_KEY.encode()).decode()
    response = await sandbox_call(
        gateway,
        "POST",
        f"/codat/_sandbox/companies/{DEMO_ACCOUNT.codat_company_id}/customers/71",
        {"customerName": "Wile E. Coyote & Sons"},
        {"Authorization": auth},
    )
    assert response.status_code == 200
    assert gateway.sandbox.webhooks.delivered == [("codat", 200)]
    after, calls = await read(gateway, COYOTE)
    assert (after["displayName"], calls) == ("Wile E. Coyote & Sons", 1)


def lago_event(name: str) -> bytes:
    return orjson.dumps(
        {
            "webhook_type": "customer.updated",
            "object_type": "customer",
            "customer": {"external_id": GAVIN_ID, "name": name},
        }
    )


def standard_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard_signature(secret, "msg_1", stamp, body),
    }


INVALID = "WEBHOOK_SIGNATURE_INVALID"
LAYER_BODY = b'{"type": "customer.updated", "data": {"id": "x"}}'
FORGED = [
    ("lago", lago_event("Forged"), {}, INVALID),
    (
        "lago",
        lago_event("Forged"),
        {"X-Lago-Signature": lago_signature("wrong-key", lago_event("Forged"))},
        INVALID,
    ),
    (
        "lago",
        lago_event("Forged"),
        {
            "X-Lago-Signature": lago_signature(LAGO_WEBHOOK_HMAC_KEY, lago_event("Other")),
            "X-Lago-Signature-Algorithm": "hmac",
        },
        INVALID,
    ),
    (
        "lago",
        lago_event("Forged"),
        {
            "X-Lago-Signature": lago_signature(LAGO_WEBHOOK_HMAC_KEY, lago_event("Forged")),
            "X-Lago-Signature-Algorithm": "jwt",
        },
        INVALID,
    ),
    # A header that is not ASCII must be a wrong signature, not a crash.
    (
        "lago",
        lago_event("Forged"),
        {"X-Lago-Signature": "\u00e9t\u00e9".encode("latin-1")},
        INVALID,
    ),
    ("layer", LAYER_BODY, standard_headers(CODAT_WEBHOOK_SECRET, LAYER_BODY), INVALID),
    (
        "layer",
        LAYER_BODY,
        {**standard_headers(LAYER_WEBHOOK_SECRET, LAYER_BODY), "webhook-signature": b"v1,\xe9"},
        INVALID,
    ),
    (
        "layer",
        LAYER_BODY,
        standard_headers(LAYER_WEBHOOK_SECRET, LAYER_BODY, timestamp=int(time.time()) - 3600),
        "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
    ),
    (
        "codat",
        b'{"eventType": "read.completed"}',
        {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
        INVALID,
    ),
]
MESSAGES = {
    INVALID: "invalid signature",
    "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE": "the signature's timestamp is outside the tolerance",
}


@pytest.mark.parametrize(("provider", "body", "headers", "code"), FORGED)
async def test_bad_signatures_are_refused_and_change_nothing(
    gateway: GatewayClient,
    provider: str,
    body: bytes,
    headers: dict[str, str | bytes],
    code: str,
) -> None:
    await read(gateway, GAVIN)
    await read(gateway, JOHN)
    response = await gateway.http.post(
        f"/webhooks/{provider}?tenant=demo",
        content=body,
        headers={"content-type": "application/json", **headers},
    )
    assert response.status_code == 401
    assert response.json() == {"received": False, "error": MESSAGES[code], "code": code}
    assert (await read(gateway, GAVIN)) == (
        {"displayName": "Gavin Belson", "taxes": [{"code": "french_standard_vat"}]},
        0,
    )
    assert (await read(gateway, JOHN))[1] == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/webhooks/lago?tenant=nobody", 404),
        ("/webhooks/stripe?tenant=demo", 404),
        ("/webhooks/lago", 200),
    ],
)
async def test_routing_by_tenant(gateway: GatewayClient, path: str, status: int) -> None:
    body = lago_event("Routed")
    response = await gateway.http.post(
        path,
        content=body,
        headers={
            "X-Lago-Signature": lago_signature(LAGO_WEBHOOK_HMAC_KEY, body),
            "X-Lago-Signature-Algorithm": "hmac",
        },
    )
    assert response.status_code == status


async def test_signed_events_that_are_not_about_customers_are_ignored(
    gateway: GatewayClient,
) -> None:
    body = orjson.dumps({"webhook_type": "invoice.created", "object_type": "invoice"})
    response = await gateway.http.post(
        "/webhooks/lago?tenant=demo",
        content=body,
        headers={"X-Lago-Signature": lago_signature(LAGO_WEBHOOK_HMAC_KEY, body)},
    )
    assert response.json() == {"received": True, "action": "ignored"}


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"not json", "WEBHOOK_BODY_NOT_JSON"), (b"[1, 2]", "WEBHOOK_BODY_NOT_OBJECT")],
)
async def test_a_signed_body_that_is_not_a_json_object_is_a_400(
    gateway: GatewayClient, body: bytes, code: str
) -> None:
    response = await gateway.http.post(
        "/webhooks/codat?tenant=demo",
        content=body,
        headers=standard_headers(CODAT_WEBHOOK_SECRET, body),
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
