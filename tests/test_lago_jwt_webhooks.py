"""Lago's JWT-mode webhooks (its default): RS256 with Lago's public key, fetched from Lago through
the connection's own client, kept, and fetched again (at most once a minute) when a signature
does not verify, so a rotated key is picked up and forged deliveries cost no calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.providers.lago.public_key import KEY_PATH
from sandbox import DEMO_ACCOUNT, Sandbox
from sandbox.faults import parse_fault
from sandbox.lago import organization_uuid
from tests.support import GatewayClient, gateway_client

ORG = organization_uuid(DEMO_ACCOUNT.lago_api_key)
URL = "/webhooks/lago?tenant=demo"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gateway(clock: Clock) -> AsyncIterator[GatewayClient]:
    async with gateway_client(sandbox=Sandbox(), clock=clock) as client:
        yield client


def event(name: str = "Jwt Corp", org: str = ORG) -> bytes:
    customer = {
        "lago_id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "external_id": "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba",
        "name": name,
        "updated_at": "2030-01-01T00:00:00Z",
    }
    return orjson.dumps(
        {
            "webhook_type": "customer.updated",
            "object_type": "customer",
            "organization_id": org,
            "customer": customer,
        }
    )


async def deliver(
    gateway: GatewayClient, body: bytes, token: str, algorithm: str | None = "jwt"
) -> httpx.Response:
    headers = {"X-Lago-Signature": token, "X-Lago-Unique-Key": str(uuid.uuid4())}
    if algorithm is not None:
        headers["X-Lago-Signature-Algorithm"] = algorithm
    return await gateway.http.post(URL, content=body, headers=headers)


def key_fetches(gateway: GatewayClient) -> int:
    return len(gateway.upstream.calls(KEY_PATH))


def refused(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"


async def test_a_jwt_signed_delivery_is_verified_with_the_fetched_key(
    gateway: GatewayClient,
) -> None:
    signer = gateway.sandbox.webhooks.lago_key
    first = await deliver(gateway, event("One"), signer.sign(event("One")))
    second = await deliver(gateway, event("Two"), signer.sign(event("Two")))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == {"received": True, "action": "retired"}
    # Fetched once, through the connection's client (the demo organisation's key).
    assert key_fetches(gateway) == 1
    (fetch,) = gateway.upstream.calls(KEY_PATH)
    assert fetch.headers["authorization"] == f"Bearer {DEMO_ACCOUNT.lago_api_key}"


async def test_the_sandbox_signs_in_jwt_mode_when_a_subscription_asks(
    gateway: GatewayClient,
) -> None:
    hooks = gateway.sandbox.webhooks
    transport = httpx.ASGITransport(gateway.app)
    hooks.subscribe("lago", f"http://gateway.test{URL}", "", transport, signature="jwt")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(gateway.sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        response = await http.post(
            "/lago/api/v1/customers",
            json={"customer": {"external_id": "jwt-new", "name": "Signed"}},
            headers={"authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"},
        )
    assert response.status_code == 200
    assert hooks.delivered == [("lago", 200)]
    assert key_fetches(gateway) == 1


async def test_a_delivery_signed_with_another_key_is_refused_without_a_second_fetch(
    gateway: GatewayClient,
) -> None:
    signer = gateway.sandbox.webhooks.lago_key
    assert (await deliver(gateway, event(), signer.sign(event()))).status_code == 200
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = event("Forged")
    for _ in range(3):
        token = jwt.encode({"data": body.decode()}, forger, algorithm="RS256")
        assert refused(await deliver(gateway, body, token))
    # Within the minute of the last fetch: no call to Lago, however many forgeries arrive.
    assert key_fetches(gateway) == 1


async def test_a_rotated_key_is_fetched_again_at_most_once_a_minute(
    gateway: GatewayClient, clock: Clock
) -> None:
    signer = gateway.sandbox.webhooks.lago_key
    assert (await deliver(gateway, event(), signer.sign(event()))).status_code == 200
    signer.rotate()
    body = event("Rotated")
    # Within a minute of the fetch, the new key's signature is refused (no refetch) ...
    clock.now += 30
    assert refused(await deliver(gateway, body, signer.sign(body)))
    assert key_fetches(gateway) == 1
    # ... and a minute on, one refetch finds the new key; the next delivery needs none.
    clock.now += 31
    assert (await deliver(gateway, body, signer.sign(body))).status_code == 200
    assert (await deliver(gateway, event("After"), signer.sign(event("After")))).status_code == 200
    assert key_fetches(gateway) == 2


async def test_alg_none_and_hmac_keyed_with_the_public_key_are_refused(
    gateway: GatewayClient, clock: Clock
) -> None:
    signer = gateway.sandbox.webhooks.lago_key
    body = event("Confused")
    unsigned = jwt.encode({"data": body.decode()}, None, algorithm="none")
    pem = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT refuses to sign HS256 with a PEM key itself, so the token is built by hand.
    header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(orjson.dumps({"data": body.decode()}))
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    confused = f"{header}.{payload}.{_b64(mac)}"
    clock.now += 3600
    for token in (unsigned, confused, "not.a.jwt", ""):
        assert refused(await deliver(gateway, body, token))
    # Not a signature by another key: nothing here makes the gateway fetch the key again.
    assert key_fetches(gateway) == 1


async def test_the_signed_data_must_be_the_body_and_name_the_organisation(
    gateway: GatewayClient,
) -> None:
    signer = gateway.sandbox.webhooks.lago_key
    # A genuine token for another body.
    assert refused(await deliver(gateway, event("Swapped"), signer.sign(event("Original"))))
    # Lago signs every organisation's deliveries with one key: another organisation's event.
    other = event("Other org", org=str(uuid.uuid4()))
    assert refused(await deliver(gateway, other, signer.sign(other)))
    # Re-serialised JSON of the same event is the same event.
    body = event("Spaced")
    spaced = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2)
    assert (await deliver(gateway, spaced, signer.sign(body))).status_code == 200


async def test_a_jwt_without_the_algorithm_header_is_read_as_a_jwt(
    gateway: GatewayClient,
) -> None:
    # Older Lago versions sent the JWT alone.
    body = event("Headerless")
    token = gateway.sandbox.webhooks.lago_key.sign(body)
    assert (await deliver(gateway, body, token, algorithm=None)).status_code == 200


async def test_an_unknown_algorithm_is_refused(gateway: GatewayClient) -> None:
    body = event()
    token = gateway.sandbox.webhooks.lago_key.sign(body)
    assert refused(await deliver(gateway, body, token, algorithm="ed25519"))
    assert key_fetches(gateway) == 0


async def test_the_deprecated_public_key_endpoint_serves_the_same_key(
    gateway: GatewayClient,
) -> None:
    auth = {"authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(gateway.sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        plain = await http.get("/lago/api/v1/webhooks/public_key", headers=auth)
        wrapped = await http.get("/lago/api/v1/webhooks/json_public_key", headers=auth)
        anonymous = await http.get("/lago/api/v1/webhooks/json_public_key")
    assert plain.text == wrapped.json()["webhook"]["public_key"]
    assert base64.b64decode(plain.text).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert anonymous.status_code == 401


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_a_key_fetch_that_failed_is_tried_again_a_minute_on(
    gateway: GatewayClient, clock: Clock
) -> None:
    """A Lago blip at the first delivery must not refuse every later genuine one."""
    signer = gateway.sandbox.webhooks.lago_key
    gateway.sandbox.faults.set("lago", parse_fault("lago=error:503")[1])
    assert refused(await deliver(gateway, event(), signer.sign(event())))
    failed = key_fetches(gateway)
    assert failed >= 1
    gateway.sandbox.faults.set("lago", None)
    # Within the minute, nothing is fetched again (forged deliveries cost no calls) ...
    clock.now += 30
    assert refused(await deliver(gateway, event("Soon"), signer.sign(event("Soon"))))
    assert key_fetches(gateway) == failed
    # ... and a minute on, the key is fetched once and genuine deliveries are taken again.
    clock.now += 31
    body = event("Later")
    assert (await deliver(gateway, body, signer.sign(body))).status_code == 200
    assert (await deliver(gateway, event("After"), signer.sign(event("After")))).status_code == 200
    assert key_fetches(gateway) == failed + 1
