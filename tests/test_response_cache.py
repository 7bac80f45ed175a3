"""The response cache: stored bytes for clean answers, per tenant, as fresh as their inputs."""

from __future__ import annotations

import httpx

from sandbox import DEMO_ACCOUNT, LAGO_WEBHOOK_HMAC_KEY
from tests.cache.test_caching import FakeClock, twin_tenants
from tests.support import GatewayClient, gateway_client

LIST = "{ customers(first: 3, providers: [LAGO]) { edges { node { displayName } } } }"


async def post(gateway: GatewayClient, query: str = LIST, **headers: str) -> httpx.Response:
    return await gateway.http.post("/graphql", json={"query": query}, headers=headers)


async def test_a_repeat_is_served_from_stored_bytes_without_executing(
    gateway: GatewayClient,
) -> None:
    first = await post(gateway)
    calls = len(gateway.upstream.requests)
    second = await post(gateway)
    assert "x-response-cache" not in first.headers
    assert second.headers["x-response-cache"] == "hit"
    assert second.content == first.content
    assert len(gateway.upstream.requests) == calls


async def test_no_cache_from_the_client_bypasses_it(gateway: GatewayClient) -> None:
    await post(gateway)
    bypassed = await post(gateway, **{"cache-control": "no-cache"})
    assert "x-response-cache" not in bypassed.headers


async def test_answers_with_errors_are_never_stored(gateway: GatewayClient) -> None:
    gateway.upstream.failing.add("/lago/")
    failed = await post(gateway)
    assert failed.json()["errors"]
    gateway.upstream.failing.clear()
    healed = await post(gateway)
    assert "x-response-cache" not in healed.headers
    assert "errors" not in healed.json()


async def test_never_across_tenants() -> None:
    async with gateway_client(twin_tenants()) as gateway:
        a = await post(gateway, authorization="Bearer key-a")
        b = await post(gateway, authorization="Bearer key-b")
        a_again = await post(gateway, authorization="Bearer key-a")
    assert "x-response-cache" not in b.headers
    assert a.content != b.content
    assert a_again.headers["x-response-cache"] == "hit"
    assert a_again.content == a.content


async def test_expires_with_the_freshness_of_its_inputs() -> None:
    clock = FakeClock()
    async with gateway_client(clock=clock) as gateway:
        await post(gateway)
        clock.now += 59
        assert (await post(gateway)).headers.get("x-response-cache") == "hit"
        clock.now += 2
        assert "x-response-cache" not in (await post(gateway)).headers


async def test_a_webhook_retires_it(gateway: GatewayClient) -> None:
    from tests.test_webhooks import GAVIN_ID, subscribe

    subscribe(gateway)
    await post(gateway)
    assert (await post(gateway)).headers.get("x-response-cache") == "hit"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(gateway.sandbox.app), base_url="http://sandbox.invalid"
    ) as sandbox:
        await sandbox.post(
            "/lago/api/v1/customers",
            json={"customer": {"external_id": GAVIN_ID, "name": "Renamed"}},
            headers={"Authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"},
        )
    assert LAGO_WEBHOOK_HMAC_KEY  # the delivery above was signed with it
    after = await post(gateway)
    assert "x-response-cache" not in after.headers


PAGE = """query Page($n: Int = 2) {
  customers(first: $n, providers: [LAGO]) { edges { node { displayName } } } }"""
TWO_OPERATIONS = """
query A($n: Int) { customers(first: $n, providers: [LAGO]) { edges { cursor } } }
query B($m: Int) { customers(first: $m, providers: [LAGO]) { edges { cursor } } }"""


async def send(
    gateway: GatewayClient,
    variables: dict[str, object],
    query: str = PAGE,
    operation: str | None = None,
) -> str | None:
    """The answer's X-Response-Cache header ("hit" when served from a stored answer)."""
    body = {"query": query, "variables": variables, "operationName": operation}
    response = await gateway.http.post("/graphql", json=body)
    assert response.status_code == 200
    assert "errors" not in response.json(), response.json()
    return response.headers.get("x-response-cache")


async def test_undeclared_variables_share_one_entry_and_one_execution(
    gateway: GatewayClient,
) -> None:
    await send(gateway, {"n": 3, "junk1": "x" * 100})
    calls = len(gateway.upstream.requests)
    assert calls > 0
    assert await send(gateway, {"n": 3, "junk2": [1, 2, 3]}) == "hit"
    assert await send(gateway, {"n": 3}) == "hit"
    assert len(gateway.upstream.requests) == calls
    # A declared variable still tells answers apart.
    assert await send(gateway, {"n": 4, "junk1": "x"}) is None


async def test_an_omitted_variable_and_its_default_share_one_entry(
    gateway: GatewayClient,
) -> None:
    await send(gateway, {})
    calls = len(gateway.upstream.requests)
    assert await send(gateway, {"n": 2}) == "hit"
    assert len(gateway.upstream.requests) == calls
    # An explicit null is not the default: it runs as null.
    assert await send(gateway, {"n": None}) is None


async def test_only_the_chosen_operations_variables_enter_the_key(
    gateway: GatewayClient,
) -> None:
    await send(gateway, {"n": 2, "m": 1}, TWO_OPERATIONS, "A")
    assert await send(gateway, {"n": 2, "m": 5}, TWO_OPERATIONS, "A") == "hit"
    assert await send(gateway, {"n": 2, "m": 5}, TWO_OPERATIONS, "B") is None
