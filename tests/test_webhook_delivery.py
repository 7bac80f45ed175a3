"""Webhook deliveries as providers really make them: retried with the same event id, late,
out of order, replayed, and sometimes while the cache backend is down. Each event is applied
once, never rolls the cache back, and is acknowledged only once it is applied."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from gateway.cache.keys import Account
from gateway.providers.lago import LAGO
from gateway.providers.lago.webhook import lago_signature
from gateway.settings.model import CacheSettings, Settings, WebhookSettings
from gateway.webhooks.locks import record_lock_key
from gateway.webhooks.signatures import standard_signature
from sandbox import (
    CODAT_WEBHOOK_SECRET,
    DEMO_ACCOUNT,
    LAGO_WEBHOOK_HMAC_KEY,
    LAYER_WEBHOOK_SECRET,
    Sandbox,
)
from tests.services import RedisServer, free_port, redis_server
from tests.support import GatewayClient, gateway_client
from tests.test_webhooks import COYOTE, GAVIN, GAVIN_ID, JOHN, JOHN_ID, read, subscribe

NOW = 1_750_000_000.0
LAGO_LIST = "{ customers(providers: [LAGO], first: 5) { edges { node { displayName } } } }"
TRACE = {"x-gateway-trace": "upstream"}


def seeded_lago(external_id: str) -> dict[str, Any]:
    """A sandbox Lago customer as seeded (its `updated_at` is in the past)."""
    customers = Sandbox().data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
    return dict(next(c for c in customers if c["external_id"] == external_id))


def lago_body(customer: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"webhook_type": "customer.updated", "object_type": "customer", "customer": customer}
    )


async def deliver_lago(gateway: GatewayClient, body: bytes, unique_key: str) -> httpx.Response:
    return await gateway.http.post(
        "/webhooks/lago?tenant=demo",
        content=body,
        headers={
            "content-type": "application/json",
            "X-Lago-Signature": lago_signature(LAGO_WEBHOOK_HMAC_KEY, body),
            "X-Lago-Signature-Algorithm": "hmac",
            "X-Lago-Unique-Key": unique_key,
        },
    )


STANDARD_SECRETS = {"layer": LAYER_WEBHOOK_SECRET, "codat": CODAT_WEBHOOK_SECRET}
STANDARD_EVENTS = {
    "layer": {"id": "evt_1", "type": "customer.updated", "data": {"id": JOHN_ID}},
    "codat": {
        "id": "evt_2",
        "eventType": "read.completed",
        "generatedDate": "2025-06-01T00:00:00Z",
        "payload": {
            "referenceCompany": {"id": DEMO_ACCOUNT.codat_company_id},
            "dataTypes": [{"dataType": "customers", "recordsModified": True}],
        },
    },
}
STANDARD_CUSTOMERS = {"layer": JOHN, "codat": COYOTE}


async def deliver_standard(
    gateway: GatewayClient, provider: str, message_id: str, timestamp: float
) -> httpx.Response:
    """Signed as Standard Webhooks does; a retry keeps the id and signs a fresh timestamp."""
    body = orjson.dumps(STANDARD_EVENTS[provider])
    stamp = int(timestamp)
    secret = STANDARD_SECRETS[provider]
    return await gateway.http.post(
        f"/webhooks/{provider}?tenant=demo",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": standard_signature(secret, message_id, stamp, body),
        },
    )


async def lago_list_calls(gateway: GatewayClient) -> int:
    body = await gateway.query(LAGO_LIST, headers=TRACE)
    assert "errors" not in body, body
    calls: int = body["extensions"]["upstream"]["calls"]
    return calls


# -- 1. Idempotent -----------------------------------------------------------------------


async def test_a_lago_redelivery_is_acknowledged_and_not_applied_again(
    gateway: GatewayClient,
) -> None:
    await read(gateway, GAVIN)
    customer = {**seeded_lago(GAVIN_ID), "name": "Gavin Belson Qzx"}
    customer["updated_at"] = "2099-01-01T00:00:00Z"
    key = str(uuid.uuid4())
    first = await deliver_lago(gateway, lago_body(customer), key)
    assert first.json() == {"received": True, "action": "replaced"}
    assert await lago_list_calls(gateway) == 1
    assert await lago_list_calls(gateway) == 0
    again = await deliver_lago(gateway, lago_body(customer), key)
    assert (again.status_code, again.json()) == (200, {"received": True, "action": "duplicate"})
    # Not retired a second time: the list is still cached.
    assert await lago_list_calls(gateway) == 0


@pytest.mark.parametrize("provider", ["layer", "codat"])
async def test_a_standard_webhooks_redelivery_is_acknowledged_and_not_applied_again(
    provider: str,
) -> None:
    async with gateway_client(clock=lambda: NOW) as gateway:
        customer = STANDARD_CUSTOMERS[provider]
        await read(gateway, customer)
        first = await deliver_standard(gateway, provider, "msg_retry", NOW)
        assert first.json() == {"received": True, "action": "retired"}
        assert (await read(gateway, customer))[1] == 1
        # The provider's retry: same id, a later timestamp, signed again.
        again = await deliver_standard(gateway, provider, "msg_retry", NOW + 30)
        assert (again.status_code, again.json()) == (
            200,
            {"received": True, "action": "duplicate"},
        )
        assert (await read(gateway, customer))[1] == 0
        # Another event is another event.
        other = await deliver_standard(gateway, provider, "msg_other", NOW + 30)
        assert other.json() == {"received": True, "action": "retired"}


# -- 2. Ordered --------------------------------------------------------------------------


async def test_replaying_yesterdays_lago_event_does_not_roll_the_customer_back(
    gateway: GatewayClient,
) -> None:
    await read(gateway, GAVIN)
    yesterday = seeded_lago(GAVIN_ID)
    newer = {**yesterday, "name": "Gavin Belson Qzx", "updated_at": "2099-01-01T00:00:00Z"}
    applied = await deliver_lago(gateway, lago_body(newer), str(uuid.uuid4()))
    assert applied.json() == {"received": True, "action": "replaced"}
    # Yesterday's event, validly signed again under a fresh unique key.
    replay = await deliver_lago(gateway, lago_body(yesterday), str(uuid.uuid4()))
    assert (replay.status_code, replay.json()) == (200, {"received": True, "action": "stale"})
    after, calls = await read(gateway, GAVIN)
    assert (after["displayName"], calls) == ("Gavin Belson Qzx", 0)


async def test_an_event_older_than_the_cached_read_leaves_it(gateway: GatewayClient) -> None:
    await read(gateway, GAVIN)
    older = {**seeded_lago(GAVIN_ID), "name": "Old Name", "updated_at": "2001-01-01T00:00:00Z"}
    response = await deliver_lago(gateway, lago_body(older), str(uuid.uuid4()))
    assert response.json() == {"received": True, "action": "stale"}
    after, calls = await read(gateway, GAVIN)
    assert (after["displayName"], calls) == ("Gavin Belson", 0)
    # A stale event retires nothing either.
    assert await lago_list_calls(gateway) == 1
    assert await lago_list_calls(gateway) == 0


async def test_an_old_full_event_with_nothing_cached_is_not_trusted(
    gateway: GatewayClient,
) -> None:
    # Nothing cached to compare with: the event cannot be proved current, so it only retires
    # and the next read asks the provider.
    old = {**seeded_lago(GAVIN_ID), "name": "Old Name", "updated_at": "2001-01-01T00:00:00Z"}
    response = await deliver_lago(gateway, lago_body(old), str(uuid.uuid4()))
    assert response.json() == {"received": True, "action": "retired"}
    after, calls = await read(gateway, GAVIN)
    assert (after["displayName"], calls) == ("Gavin Belson", 1)


async def test_an_event_for_a_customer_being_updated_waits_its_turn(
    redis: RedisServer, redis_admin: Redis
) -> None:
    # Another process is between comparing and writing Gavin: this delivery must not
    # interleave (the older of two could be written last), so it is refused for a retry.
    async with gateway_client(Settings(cache=CacheSettings(url=redis.url))) as gateway:
        await read(gateway, GAVIN)
        scope = Account("demo", LAGO, DEMO_ACCOUNT.lago_organization_id)
        lock = record_lock_key(scope, GAVIN_ID)
        await redis_admin.set(lock, b"1", px=10_000)
        customer = {
            **seeded_lago(GAVIN_ID),
            "name": "Gavin Qzx",
            "updated_at": "2099-01-01T00:00:00Z",
        }
        busy = await deliver_lago(gateway, lago_body(customer), "k-busy")
        assert busy.status_code == 409
        assert busy.headers["retry-after"] == "1"
        assert busy.json() == {
            "received": False,
            "error": "another event for this customer is being applied; retry later",
            "code": "WEBHOOK_BUSY",
        }
        assert (await read(gateway, GAVIN))[0]["displayName"] == "Gavin Belson"
        await redis_admin.delete(lock)
        retried = await deliver_lago(gateway, lago_body(customer), "k-busy")
        assert retried.json() == {"received": True, "action": "replaced"}
        # The lock is let go once the event is applied.
        assert await redis_admin.exists(lock) == 0


# -- 3. Acknowledged only when applied ---------------------------------------------------


def closed_port_settings() -> Settings:
    return Settings(cache=CacheSettings(url=f"redis://127.0.0.1:{free_port()}/0"))


@pytest.mark.parametrize("provider", ["lago", "layer", "codat"])
async def test_a_webhook_is_503_when_the_cache_cannot_be_written(provider: str) -> None:
    async with gateway_client(closed_port_settings(), clock=lambda: NOW) as gateway:
        if provider == "lago":
            customer = {**seeded_lago(GAVIN_ID), "updated_at": "2099-01-01T00:00:00Z"}
            response = await deliver_lago(gateway, lago_body(customer), "k1")
        else:
            response = await deliver_standard(gateway, provider, "msg_1", NOW)
    assert response.status_code == 503
    assert response.json() == {
        "received": False,
        "error": "the cache could not be updated; retry later",
        "code": "WEBHOOK_CACHE_UNAVAILABLE",
    }


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def redis_admin(redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis(port=redis.port)
    yield client
    await client.aclose()


async def test_an_event_that_could_not_be_applied_is_not_marked_delivered(
    redis: RedisServer, redis_admin: Redis
) -> None:
    async with gateway_client(Settings(cache=CacheSettings(url=redis.url))) as gateway:
        await read(gateway, GAVIN)
        customer = {
            **seeded_lago(GAVIN_ID),
            "name": "Gavin Qzx",
            "updated_at": "2099-01-01T00:00:00Z",
        }
        # Redis takes writes of new keys but refuses to bump a generation: the retire fails
        # halfway through applying the event.
        await redis_admin.execute_command("ACL", "SETUSER", "default", "-incrby", "-incr")
        refused = await deliver_lago(gateway, lago_body(customer), "k-halfway")
        assert refused.status_code == 503
        await redis_admin.execute_command("ACL", "SETUSER", "default", "+@all")
        assert (await gateway.http.get("/readyz")).status_code == 200
        # The customer's lock could not be let go while the store was degraded; its lease
        # ends it (here, at once).
        lock = record_lock_key(Account("demo", LAGO, DEMO_ACCOUNT.lago_organization_id), GAVIN_ID)
        assert await redis_admin.delete(lock) == 1
        assert (await read(gateway, GAVIN)) == (
            {"displayName": "Gavin Belson", "taxes": [{"code": "french_standard_vat"}]},
            0,
        )
        # The provider retries the same delivery: it is applied now, not taken for a duplicate.
        retried = await deliver_lago(gateway, lago_body(customer), "k-halfway")
        assert retried.json() == {"received": True, "action": "replaced"}
        after, calls = await read(gateway, GAVIN)
        assert (after["displayName"], calls) == ("Gavin Qzx", 0)


async def test_a_redelivery_to_another_process_sharing_redis_is_a_duplicate(
    redis: RedisServer,
) -> None:
    settings = Settings(cache=CacheSettings(url=redis.url))
    async with (
        gateway_client(settings, clock=lambda: NOW) as one,
        gateway_client(settings, clock=lambda: NOW) as two,
    ):
        first = await deliver_standard(one, "layer", "msg_shared", NOW)
        assert first.json() == {"received": True, "action": "retired"}
        again = await deliver_standard(two, "layer", "msg_shared", NOW + 5)
        assert again.json() == {"received": True, "action": "duplicate"}


# -- 4. Signature timestamp tolerance ----------------------------------------------------

TOLERANT_60 = Settings(webhooks=WebhookSettings(signature_tolerance_seconds=60))


@pytest.mark.parametrize("offset", [-61, 61, -3600, 86400])
async def test_a_timestamp_outside_the_tolerance_is_refused(offset: int) -> None:
    async with gateway_client(TOLERANT_60, clock=lambda: NOW) as gateway:
        await read(gateway, JOHN)
        response = await deliver_standard(gateway, "layer", "msg_late", NOW + offset)
        assert response.status_code == 401
        assert response.json() == {
            "received": False,
            "error": "the signature's timestamp is outside the tolerance",
            "code": "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
        }
        assert (await read(gateway, JOHN))[1] == 0


@pytest.mark.parametrize("offset", [-59, 0, 59])
async def test_a_timestamp_inside_the_tolerance_is_applied(offset: int) -> None:
    async with gateway_client(TOLERANT_60, clock=lambda: NOW) as gateway:
        response = await deliver_standard(gateway, "layer", "msg_ok", NOW + offset)
        assert response.json() == {"received": True, "action": "retired"}


def test_now_is_far_from_the_fixed_clock() -> None:
    # The fixed clock above must not be near real time, or the default tolerance would hide
    # a check that reads the wall clock instead of the injected one.
    assert abs(time.time() - NOW) > 3600


async def test_the_sandbox_redelivers_as_a_provider_retries(gateway: GatewayClient) -> None:
    subscribe(gateway)
    hooks = gateway.sandbox.webhooks
    assert (await read(gateway, JOHN))[1] == 2  # a token, then the customer
    await hooks.emit("layer", STANDARD_EVENTS["layer"])
    assert (await read(gateway, JOHN))[1] == 1
    await hooks.redeliver()
    assert hooks.delivered == [("layer", 200), ("layer", 200)]
    # The retry carried the same webhook-id: acknowledged, not applied again.
    assert (await read(gateway, JOHN))[1] == 0
