"""Tenant isolation under load, per-tenant rate limits, and secrets that never show."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.settings.model import CacheSettings, LimitSettings
from sandbox import (
    CODAT_API_KEY,
    CODAT_WEBHOOK_SECRET,
    DEMO_ACCOUNT,
    LAGO_WEBHOOK_HMAC_KEY,
    LAYER_CLIENT_SECRET,
    LAYER_WEBHOOK_SECRET,
    SECOND_ACCOUNT,
)
from tests.cache.test_caching import FakeClock, shared_name, twin_tenants
from tests.services import RedisServer, redis_server
from tests.support import gateway_client

SHARED = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "shared-000"))
READ = "query($id: ID!) { customer(id: $id) { displayName email } }"
LIST = "{ customers(first: 4, providers: [LAGO]) { edges { node { displayName } } } }"


async def test_200_interleaved_requests_from_two_tenants_never_cross() -> None:
    names = {
        "a": shared_name(DEMO_ACCOUNT.lago_api_key),
        "b": shared_name(SECOND_ACCOUNT.lago_api_key),
    }
    async with gateway_client(twin_tenants(), latency=0.002) as gateway:

        async def one(tenant: str, i: int) -> tuple[str, str, list[str]]:
            headers = {"authorization": f"Bearer key-{tenant}"}
            read = await gateway.query(READ, {"id": SHARED}, headers=headers)
            listed = await gateway.query(LIST, headers=headers) if i % 5 == 0 else None
            page = (
                [e["node"]["displayName"] for e in listed["data"]["customers"]["edges"]]
                if listed
                else []
            )
            return tenant, read["data"]["customer"]["displayName"], page

        results = await asyncio.gather(*(one("ab"[i % 2], i) for i in range(200)))
        pages = {
            t: (await gateway.query(LIST, headers={"authorization": f"Bearer key-{t}"}))["data"]
            for t in "ab"
        }
    for tenant, name, page in results:
        assert name == names[tenant]
        if page:
            assert page == [e["node"]["displayName"] for e in pages[tenant]["customers"]["edges"]]
    assert pages["a"] != pages["b"]


async def test_a_tenant_over_its_rate_gets_429_and_the_other_does_not() -> None:
    clock = FakeClock()
    settings = twin_tenants().model_copy(
        update={"limits": LimitSettings(tenant_requests_per_second=1, tenant_burst=3)}
    )
    from gateway.resilience.policy import Timer

    async with gateway_client(settings, timer=Timer(clock=clock)) as gateway:
        a = {"authorization": "Bearer key-a"}
        b = {"authorization": "Bearer key-b"}
        ok = [
            await gateway.http.post("/graphql", json={"query": "{ __typename }"}, headers=a)
            for _ in range(3)
        ]
        calls_before = len(gateway.upstream.requests)
        limited = await gateway.http.post("/graphql", json={"query": LIST}, headers=a)
        other = await gateway.http.post("/graphql", json={"query": "{ __typename }"}, headers=b)
        clock.now += 1.0
        again = await gateway.http.post("/graphql", json={"query": "{ __typename }"}, headers=a)
        calls_after = len(gateway.upstream.requests)
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert calls_after == calls_before  # the refused request reached no provider
    assert other.status_code == 200
    assert again.status_code == 200


async def test_the_rate_limit_is_shared_through_redis() -> None:
    with redis_server() as redis:
        await _shared_bucket(redis)


async def _shared_bucket(redis: RedisServer) -> None:
    settings = twin_tenants().model_copy(
        update={
            "limits": LimitSettings(tenant_requests_per_second=0.01, tenant_burst=3),
            "cache": CacheSettings(url=redis.url),
        }
    )
    a = {"authorization": "Bearer key-a"}
    async with gateway_client(settings) as one, gateway_client(settings) as two:
        statuses = []
        for gateway in (one, two, one, two):
            response = await gateway.http.post(
                "/graphql", json={"query": "{ __typename }"}, headers=a
            )
            statuses.append(response.status_code)
    # Two processes, one bucket of three.
    assert statuses == [200, 200, 200, 429]


SECRETS = [
    "key-a",
    "key-b",
    LAYER_CLIENT_SECRET,
    CODAT_API_KEY,
    DEMO_ACCOUNT.lago_api_key,
    SECOND_ACCOUNT.lago_api_key,
    LAYER_WEBHOOK_SECRET,
    CODAT_WEBHOOK_SECRET,
    LAGO_WEBHOOK_HMAC_KEY,
    "revoked-lago-key",
]


async def test_no_configured_secret_shows_in_logs_errors_or_responses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = twin_tenants()
    b = settings.tenants[1]
    assert b.lago
    from pydantic import SecretStr

    broken = b.model_copy(
        update={"lago": b.lago.model_copy(update={"api_key": SecretStr("revoked-lago-key")})}
    )
    settings = settings.model_copy(update={"tenants": (settings.tenants[0], broken)})
    texts: list[str] = [repr(settings), str(settings)]
    async with gateway_client(settings) as gateway:
        for headers in (
            {"authorization": "Bearer key-a"},
            {"authorization": "Bearer key-b"},
            {"authorization": "Bearer wrong"},
            {},
        ):
            for query in (LIST, READ, "{ customers { nope } }"):
                response = await gateway.http.post(
                    "/graphql", json={"query": query, "variables": {"id": SHARED}}, headers=headers
                )
                texts.append(response.text)
                texts.append(str(response.headers))
        webhook = await gateway.http.post("/webhooks/lago?tenant=tenant-a", content=b"{}")
        texts.append(webhook.text)
    everything = "\n".join([*texts, caplog.text])
    assert "UPSTREAM_AUTH" in everything  # the broken key was exercised
    for secret in SECRETS:
        assert secret not in everything, secret
