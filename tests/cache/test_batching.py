"""DataLoader batching through `nodes`, measured by the upstream calls it makes."""

from __future__ import annotations

import asyncio

import pytest

from gateway.domain.customer import CustomerKey, Provider
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.model import LimitSettings, ProviderLimits, Settings
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.support import GatewayClient, gateway_client

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { displayName } } }"
TRACE = {"x-gateway-trace": "upstream"}


def codat_ids(sandbox: Sandbox, count: int) -> list[str]:
    customers = sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id]
    # UUID-shaped ids, the common case (numbers and ids with reserved characters aside).
    uuids = [c["id"] for c in customers if len(c["id"]) == 36][:count]
    assert len(uuids) == count
    return [encode_id(CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, i)) for i in uuids]


def ids_of(sandbox: Sandbox, provider: Provider, count: int) -> list[str]:
    if provider is LAYER:
        native = [c["id"] for c in sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]]
        scope = DEMO_ACCOUNT.layer_business_id
    else:
        native = [
            c["external_id"] for c in sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
        ]
        scope = DEMO_ACCOUNT.lago_organization_id
    return [encode_id(CustomerKey(provider, scope, i)) for i in native[:count]]


async def test_trace_reports_calls_and_lookups(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql",
        json={"query": "{ customers(first: 3) { edges { cursor } } }"},
        headers=TRACE,
    )
    upstream = response.json()["extensions"]["upstream"]
    # Layer needs a token first; then one list page from each provider.
    assert upstream["byProvider"] == {
        "CODAT": {"calls": 1, "cacheHits": 0, "cacheMisses": 1},
        "LAGO": {"calls": 1, "cacheHits": 0, "cacheMisses": 1},
        "LAYER": {"calls": 2, "cacheHits": 0, "cacheMisses": 1},
    }
    assert upstream["calls"] == 4 == len(gateway.upstream.requests)
    assert (upstream["cacheHits"], upstream["cacheMisses"]) == (0, 3)


async def test_trace_is_not_given_in_production_to_untrusted_tenants() -> None:
    async with gateway_client(Settings(mode="production")) as gateway:
        response = await gateway.http.post(
            "/graphql",
            json={"query": "{ customers(first: 1) { edges { cursor } } }"},
            headers=TRACE,
        )
    assert "extensions" not in response.json()


async def test_100_codat_ids_take_at_most_3_calls(gateway: GatewayClient) -> None:
    ids = codat_ids(gateway.sandbox, 100)
    body = await gateway.query(NODES, {"ids": ids}, headers=TRACE)
    assert "errors" not in body
    assert [n["id"] for n in body["data"]["nodes"]] == ids
    assert all(n["displayName"] for n in body["data"]["nodes"])
    calls = body["extensions"]["upstream"]["byProvider"]["CODAT"]["calls"]
    assert calls == len(gateway.upstream.calls("/codat/")) <= 3
    assert all(
        "id%3D" in str(r.url) or "id=" in r.url.params.get("query", "")
        for r in gateway.upstream.calls("/codat/")
    )


async def test_100_copies_of_one_id_take_one_call(gateway: GatewayClient) -> None:
    one = codat_ids(gateway.sandbox, 1)[0]
    body = await gateway.query(NODES, {"ids": [one] * 100}, headers=TRACE)
    assert len({n["id"] for n in body["data"]["nodes"]}) == 1
    assert len(body["data"]["nodes"]) == 100
    assert body["extensions"]["upstream"]["calls"] == 1


async def test_codat_batches_then_serves_ids_from_cache(gateway: GatewayClient) -> None:
    ids = codat_ids(gateway.sandbox, 10)
    await gateway.query(NODES, {"ids": ids[:5]})
    body = await gateway.query(NODES, {"ids": ids}, headers=TRACE)
    codat = body["extensions"]["upstream"]["byProvider"]["CODAT"]
    # Five come from the cache; the other five in one batch.
    assert codat == {"calls": 1, "cacheHits": 5, "cacheMisses": 6}


async def test_ids_that_need_quoting_are_read_one_by_one(gateway: GatewayClient) -> None:
    key = CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, "C&R-000")
    ids = [*codat_ids(gateway.sandbox, 2), encode_id(key)]
    body = await gateway.query(NODES, {"ids": ids})
    assert all(n is not None for n in body["data"]["nodes"])
    paths = [r.url.path for r in gateway.upstream.calls("/codat/")]
    assert sorted(paths) == sorted(
        [
            f"/codat/companies/{DEMO_ACCOUNT.codat_company_id}/data/customers",
            f"/codat/companies/{DEMO_ACCOUNT.codat_company_id}/data/customers/C&R-000",
        ]
    )


@pytest.mark.parametrize("provider", [LAYER, LAGO])
async def test_100_ids_never_exceed_one_call_each_nor_the_concurrency_cap(
    provider: Provider,
) -> None:
    limits = LimitSettings(
        layer=ProviderLimits(concurrency=7, requests_per_second=1000),
        lago=ProviderLimits(concurrency=7, requests_per_second=1000),
    )
    sandbox = Sandbox()
    # The sandbox meters the real limits (Layer 100/s, Lago 50/s); this test is about the
    # gateway's own cap, so the simulators get room for its 100 calls.
    sandbox.layer.buckets.capacity = sandbox.lago.buckets.capacity = 1000
    async with gateway_client(Settings(limits=limits), sandbox, latency=0.005) as gateway:
        ids = ids_of(gateway.sandbox, provider, 90)
        body = await gateway.query(NODES, {"ids": [*ids, *ids[:10]]}, headers=TRACE)
    assert "errors" not in body
    assert all(n is not None for n in body["data"]["nodes"])
    calls = [r for r in gateway.upstream.requests if "/customers/" in r.url.path]
    assert len(calls) == 90
    assert len({r.url.path for r in calls}) == 90
    # Measured on the wire: never more than the configured 7 at once, and the cap was used.
    assert gateway.upstream.peak_in_flight == 7


async def test_a_failed_id_nulls_only_its_own_position(gateway: GatewayClient) -> None:
    good = ids_of(gateway.sandbox, LAGO, 2)
    body = await gateway.query(NODES, {"ids": [good[0], "not-an-id", good[1]]})
    nodes = body["data"]["nodes"]
    assert nodes[0] is not None
    assert nodes[1] is None
    assert nodes[2] is not None
    assert body["errors"] == [
        {
            "message": "Invalid ID: not a customer-gateway ID",
            "locations": [{"line": 1, "column": 23}],
            "path": ["nodes", 1],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


async def test_more_than_100_ids_are_refused_before_any_call(gateway: GatewayClient) -> None:
    ids = ids_of(gateway.sandbox, LAGO, 101)
    body = await gateway.query(NODES, {"ids": ids})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert not gateway.upstream.requests


async def test_loaders_are_per_request(gateway: GatewayClient) -> None:
    ids = ids_of(gateway.sandbox, LAGO, 3)
    first, second = await asyncio.gather(
        gateway.query(NODES, {"ids": ids}), gateway.query(NODES, {"ids": ids})
    )
    assert first["data"] == second["data"]
