"""The upstream cache through the gateway: hits, TTLs, stale windows, stampedes, tenants."""

from __future__ import annotations

import asyncio

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.settings.model import CachePolicySettings, CacheSettings, Settings
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, Sandbox
from tests.support import GatewayClient, gateway_client, sandbox_tenant

TRACE = {"x-gateway-trace": "upstream"}
LIST = "{ customers(first: 5) { edges { node { id displayName } } } }"
GAVIN = encode_id(
    CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba")
)
CUSTOMER = "query($id: ID!) { customer(id: $id) { displayName } }"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def lago_policy(ttl: float, swr: float, sie: float) -> Settings:
    return Settings(
        cache=CacheSettings(
            lago=CachePolicySettings(
                ttl_seconds=ttl, stale_while_revalidate_seconds=swr, stale_if_error_seconds=sie
            )
        )
    )


async def calls(gateway: GatewayClient, query: str, variables: dict[str, str] | None = None) -> int:
    body = await gateway.query(query, variables, headers=TRACE)
    assert "errors" not in body, body
    count: int = body["extensions"]["upstream"]["calls"]
    return count


async def test_the_same_query_twice_makes_no_call_the_second_time(gateway: GatewayClient) -> None:
    assert await calls(gateway, LIST) == 4
    second = await gateway.query(LIST, headers=TRACE)
    assert second["extensions"]["upstream"]["calls"] == 0
    assert second["extensions"]["upstream"]["cacheHits"] == 3


async def test_a_listed_customer_is_then_read_without_a_call(gateway: GatewayClient) -> None:
    body = await gateway.query(
        "{ customers(first: 2, providers: [LAYER]) { edges { node { id } } } }"
    )
    layer_id = body["data"]["customers"]["edges"][1]["node"]["id"]
    assert await calls(gateway, CUSTOMER, {"id": layer_id}) == 0


async def test_not_found_is_cached_too(gateway: GatewayClient) -> None:
    missing = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "nobody"))
    assert await calls(gateway, CUSTOMER, {"id": missing}) == 1
    assert await calls(gateway, CUSTOMER, {"id": missing}) == 0


async def test_entries_expire_after_their_ttl() -> None:
    clock = FakeClock()
    async with gateway_client(lago_policy(60, 0, 0), clock=clock) as gateway:
        assert await calls(gateway, CUSTOMER, {"id": GAVIN}) == 1
        clock.now += 59
        assert await calls(gateway, CUSTOMER, {"id": GAVIN}) == 0
        clock.now += 2
        assert await calls(gateway, CUSTOMER, {"id": GAVIN}) == 1


async def test_stale_while_revalidate_serves_at_once_and_refreshes_behind() -> None:
    clock = FakeClock()
    async with gateway_client(lago_policy(60, 30, 0), clock=clock) as gateway:
        await calls(gateway, CUSTOMER, {"id": GAVIN})
        clock.now += 75
        assert await calls(gateway, CUSTOMER, {"id": GAVIN}) == 0
        await asyncio.sleep(0.05)
        # The background refresh made exactly one call, and the entry is fresh again.
        assert len(gateway.upstream.calls("/lago/")) == 2
        assert await calls(gateway, CUSTOMER, {"id": GAVIN}) == 0


async def test_stale_if_error_serves_the_old_entry_and_says_so() -> None:
    clock = FakeClock()
    async with gateway_client(lago_policy(60, 0, 600), clock=clock) as gateway:
        await calls(gateway, CUSTOMER, {"id": GAVIN})
        gateway.upstream.failing.add("/lago/")
        clock.now += 300
        body = await gateway.query(CUSTOMER, {"id": GAVIN}, headers=TRACE)
        assert body["data"] == {"customer": {"displayName": "Gavin Belson"}}
        assert "errors" not in body
        assert body["extensions"]["stale"] == ["LAGO"]
        # Three attempts (a 503 is worth retrying), then the stale entry.
        assert body["extensions"]["upstream"]["calls"] == 3
        clock.now += 400
        expired = await gateway.query(CUSTOMER, {"id": GAVIN})
        assert expired["data"] == {"customer": None}
        assert expired["errors"][0]["extensions"] == {
            "code": "UPSTREAM_UNAVAILABLE",
            "provider": "LAGO",
        }


async def test_50_concurrent_cold_queries_make_one_call_per_resource() -> None:
    async with gateway_client(latency=0.02) as gateway:
        bodies = await asyncio.gather(*(gateway.query(LIST, headers=TRACE) for _ in range(50)))
        assert all("errors" not in b for b in bodies)
        assert len({str(b["data"]) for b in bodies}) == 1
        paths = [r.url.path for r in gateway.upstream.requests]
        # One token, one page from each provider: four calls for fifty requests.
        assert len(paths) == 4
        assert sum(b["extensions"]["upstream"]["calls"] for b in bodies) == 4


def shared_name(lago_key: str) -> str:
    """The name of the `shared-000` customer in the Lago organisation behind `lago_key`."""
    customers = Sandbox().data.lago_organizations[lago_key]
    return next(str(c["name"]) for c in customers if c["external_id"] == "shared-000")


def twin_tenants() -> Settings:
    """Two tenants whose connections differ only in credentials: their cache keys differ only
    by tenant, so any key that forgot the tenant would leak one's data to the other."""
    base = "http://sandbox.invalid"
    a = sandbox_tenant("tenant-a", base, allow_anonymous=False, api_keys=("key-a",))
    b = sandbox_tenant("tenant-b", base, SECOND_ACCOUNT, allow_anonymous=False, api_keys=("key-b",))
    assert a.lago
    assert b.lago
    b = b.model_copy(
        update={"lago": b.lago.model_copy(update={"organization_id": a.lago.organization_id})}
    )
    return Settings(tenants=(a, b))


async def test_two_tenants_never_see_each_others_cached_data() -> None:
    shared = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "shared-000"))
    async with gateway_client(twin_tenants()) as gateway:
        names = {}
        for _ in range(2):  # the second round is served from the cache
            for tenant in ("a", "b"):
                body = await gateway.query(
                    CUSTOMER, {"id": shared}, headers={"authorization": f"Bearer key-{tenant}"}
                )
                names.setdefault(tenant, set()).add(body["data"]["customer"]["displayName"])
        lago_calls = gateway.upstream.calls("/lago/")
    expected = {
        "a": shared_name(DEMO_ACCOUNT.lago_api_key),
        "b": shared_name(SECOND_ACCOUNT.lago_api_key),
    }
    assert expected["a"] != expected["b"]
    assert names == {"a": {expected["a"]}, "b": {expected["b"]}}
    assert len(lago_calls) == 2
