"""Freshness you can see: `Customer.freshness`, `extensions.freshness`, and max-age demands.

Every test runs on a fake clock, so ages are exact: the default Lago policy is a 60 s TTL,
30 s of stale-while-revalidate and 600 s of stale-if-error.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.cache.entry import Entry, Origin
from gateway.settings.model import CacheSettings, Settings
from tests.cache.test_caching import FakeClock
from tests.services import redis_server
from tests.support import GatewayClient, gateway_client
from tests.test_faults import FakeTimer
from tests.test_webhook_delivery import deliver_lago, lago_body, seeded_lago
from tests.test_webhooks import COYOTE, GAVIN, GAVIN_ID

FRESHNESS = "freshness { fetchedAt ageSeconds servedFrom }"
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Customer {{ {FRESHNESS} }} }} }}"
NODE_WITHIN = (
    "query($id: ID!, $maxAge: Int) { node: customer(id: $id, maxAge: $maxAge) { "
    f"{FRESHNESS} }} }}"
)
LIST = f"{{ customers(providers: [LAGO], first: 2) {{ edges {{ node {{ {FRESHNESS} }} }} }} }}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def gateway(clock: FakeClock) -> AsyncIterator[GatewayClient]:
    # The fake timer: a failing provider's retries back off without real sleeping.
    async with gateway_client(clock=clock, timer=FakeTimer()) as client:
        yield client


def at(clock: FakeClock) -> str:
    return datetime.fromtimestamp(clock.now, UTC).isoformat()


async def freshness_of(
    gateway: GatewayClient,
    query: str = NODE,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = await gateway.query(query, variables or {"id": GAVIN}, headers=headers)
    assert "errors" not in body, body
    freshness: dict[str, Any] = body["data"]["node"]["freshness"]
    return freshness


def lago_calls(gateway: GatewayClient) -> int:
    return len(gateway.upstream.calls("/lago/"))


# -- How an answer was served ------------------------------------------------------------


async def test_a_first_read_is_upstream_and_a_second_cache_aged_by_the_clock(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    fetched_at = at(clock)
    first = await freshness_of(gateway)
    clock.now += 20
    second = await freshness_of(gateway)
    assert first == {"fetchedAt": fetched_at, "ageSeconds": 0.0, "servedFrom": "UPSTREAM"}
    assert second == {"fetchedAt": fetched_at, "ageSeconds": 20.0, "servedFrom": "CACHE"}
    assert lago_calls(gateway) == 1


async def test_past_its_ttl_with_the_provider_failing_an_entry_is_stale(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    fetched_at = at(clock)
    await freshness_of(gateway)
    gateway.upstream.failing.add("/lago/")
    clock.now += 120  # past TTL and stale-while-revalidate, within stale-if-error
    body = await gateway.query(NODE, {"id": GAVIN})
    assert body["data"]["node"]["freshness"] == {
        "fetchedAt": fetched_at,
        "ageSeconds": 120.0,
        "servedFrom": "STALE",
    }
    assert body["extensions"]["stale"] == ["LAGO"]


async def test_within_stale_while_revalidate_an_entry_is_stale_too(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await freshness_of(gateway)
    clock.now += 75
    stale = await freshness_of(gateway)
    assert (stale["servedFrom"], stale["ageSeconds"]) == ("STALE", 75.0)


async def test_an_entry_a_verified_webhook_wrote_is_served_as_webhook(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await freshness_of(gateway)
    clock.now += 30
    applied_at = at(clock)
    customer = {
        **seeded_lago(GAVIN_ID),
        "name": "Gavin Renamed",
        "updated_at": "2099-01-01T00:00:00Z",
    }
    delivered = await deliver_lago(gateway, lago_body(customer), str(uuid.uuid4()))
    assert delivered.json() == {"received": True, "action": "replaced"}
    clock.now += 5
    calls = lago_calls(gateway)
    served = await freshness_of(gateway)
    assert served == {"fetchedAt": applied_at, "ageSeconds": 5.0, "servedFrom": "WEBHOOK"}
    assert lago_calls(gateway) == calls


async def test_customers_read_from_a_listed_page_carry_the_pages_age(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    listed = await gateway.query(
        "{ customers(providers: [CODAT], first: 2) { edges { node { id } } } }"
    )
    ids = [e["node"]["id"] for e in listed["data"]["customers"]["edges"]]
    clock.now += 7
    body = await gateway.query(
        f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Customer {{ {FRESHNESS} }} }} }}",
        {"ids": ids},
    )
    assert [n["freshness"]["servedFrom"] for n in body["data"]["nodes"]] == ["CACHE", "CACHE"]
    assert [n["freshness"]["ageSeconds"] for n in body["data"]["nodes"]] == [7.0, 7.0]
    calls = len(gateway.upstream.calls("/companies/"))
    within = await gateway.query(
        "query($ids: [ID!]!) { nodes(ids: $ids, maxAge: 5) { ... on Customer { "
        f"{FRESHNESS} }} }} }}",
        {"ids": ids},
    )
    assert [n["freshness"]["servedFrom"] for n in within["data"]["nodes"]] == ["UPSTREAM"] * 2
    # Both ids in one batched read, as without maxAge.
    assert len(gateway.upstream.calls("/companies/")) == calls + 1


# -- A client's maximum age -------------------------------------------------------------------


async def test_cache_control_max_age_refetches_an_older_entry_and_keeps_a_younger_one(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await freshness_of(gateway)
    clock.now += 10
    kept = await freshness_of(gateway, headers={"cache-control": "max-age=30"})
    assert (kept["servedFrom"], kept["ageSeconds"], lago_calls(gateway)) == ("CACHE", 10.0, 1)
    refetched = await freshness_of(gateway, headers={"cache-control": "max-age=5"})
    assert (refetched["servedFrom"], refetched["ageSeconds"]) == ("UPSTREAM", 0.0)
    assert lago_calls(gateway) == 2


async def test_max_age_refetches_through_a_shared_redis_cache_too(clock: FakeClock) -> None:
    # With Redis, a miss takes a lease and looks at the store once more before calling:
    # that look must hold the client's max-age too, or it would serve the entry it refused.
    with redis_server() as redis:
        settings = Settings(cache=CacheSettings(url=redis.url))
        async with gateway_client(settings, clock=clock, timer=FakeTimer()) as gateway:
            await freshness_of(gateway)
            clock.now += 10
            refetched = await freshness_of(gateway, headers={"cache-control": "max-age=5"})
            assert refetched["servedFrom"] == "UPSTREAM"
            assert lago_calls(gateway) == 2


async def test_max_age_zero_always_refetches(gateway: GatewayClient) -> None:
    await freshness_of(gateway)
    again = await freshness_of(gateway, headers={"cache-control": "no-transform, max-age=0"})
    assert again["servedFrom"] == "UPSTREAM"
    assert lago_calls(gateway) == 2


async def test_the_max_age_argument_refetches_an_older_entry_and_keeps_a_younger_one(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await freshness_of(gateway)
    clock.now += 10
    kept = await freshness_of(gateway, NODE_WITHIN, {"id": GAVIN, "maxAge": 30})
    assert (kept["servedFrom"], lago_calls(gateway)) == ("CACHE", 1)
    refetched = await freshness_of(gateway, NODE_WITHIN, {"id": GAVIN, "maxAge": 5})
    assert (refetched["servedFrom"], lago_calls(gateway)) == ("UPSTREAM", 2)


async def test_max_age_holds_on_every_root_field_that_reads_customers(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await gateway.query(LIST)
    await freshness_of(gateway)
    clock.now += 10
    body = await gateway.query(
        f"""query($id: ID!, $ext: String!) {{
          customers(providers: [LAGO], first: 1, maxAge: 5) {{ edges {{ node {{ {FRESHNESS} }} }} }}
          nodes(ids: [$id], maxAge: 5) {{ ... on Customer {{ {FRESHNESS} }} }}
          customer(id: $id, maxAge: 5) {{ {FRESHNESS} }}
          customerByExternalId(provider: LAGO, externalId: $ext, maxAge: 5) {{ {FRESHNESS} }}
          cached: node(id: $id) {{ ... on Customer {{ {FRESHNESS} }} }}
        }}""",
        {"id": GAVIN, "ext": GAVIN_ID},
    )
    assert "errors" not in body, body
    data = body["data"]
    within = [
        data["customers"]["edges"][0]["node"]["freshness"],
        data["nodes"][0]["freshness"],
        data["customer"]["freshness"],
        data["customerByExternalId"]["freshness"],
    ]
    # None is the 10-second-old entry: each was read again in this request, by itself or by
    # a field that ran before it (then it is a CACHE entry of age 0, which is within 5).
    assert [(f["servedFrom"] in {"UPSTREAM", "CACHE"}, f["ageSeconds"]) for f in within] == [
        (True, 0.0)
    ] * 4
    assert "UPSTREAM" in {f["servedFrom"] for f in within}
    # A field without maxAge in the same request takes what the cache holds.
    assert data["cached"]["freshness"]["servedFrom"] in {"CACHE", "UPSTREAM"}


async def test_a_refetch_the_provider_fails_serves_the_older_entry_as_stale(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await freshness_of(gateway)
    clock.now += 10
    gateway.upstream.failing.add("/lago/")
    body = await gateway.query(NODE_WITHIN, {"id": GAVIN, "maxAge": 5})
    assert body["data"]["node"]["freshness"]["servedFrom"] == "STALE"
    assert body["data"]["node"]["freshness"]["ageSeconds"] == 10.0
    assert body["extensions"]["stale"] == ["LAGO"]


async def test_a_negative_max_age_is_bad_user_input(gateway: GatewayClient) -> None:
    body = await gateway.query(NODE_WITHIN, {"id": GAVIN, "maxAge": -1})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "maxAge must be 0 or more seconds"
    assert lago_calls(gateway) == 0


@pytest.mark.parametrize("value", ["-1", "1.5", "soon", ""])
async def test_a_header_max_age_that_is_no_whole_number_is_refused(
    gateway: GatewayClient, value: str
) -> None:
    response = await gateway.http.post(
        "/graphql",
        json={"query": NODE, "variables": {"id": GAVIN}},
        headers={"cache-control": f"max-age={value}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert lago_calls(gateway) == 0


# -- The whole-response cache and the summary ---------------------------------------------------


async def post(gateway: GatewayClient, query: str, **headers: str) -> httpx.Response:
    return await gateway.http.post("/graphql", json={"query": query}, headers=headers)


async def test_an_answer_selecting_freshness_is_never_a_response_cache_hit(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    await post(gateway, LIST)
    clock.now += 10
    again = await post(gateway, LIST)
    assert "x-response-cache" not in again.headers
    ages = [
        e["node"]["freshness"]["ageSeconds"] for e in again.json()["data"]["customers"]["edges"]
    ]
    assert ages == [10.0, 10.0]


async def test_an_answer_not_selecting_freshness_still_is(gateway: GatewayClient) -> None:
    plain = "{ customers(providers: [LAGO], first: 2) { edges { node { displayName } } } }"
    await post(gateway, plain)
    assert (await post(gateway, plain)).headers.get("x-response-cache") == "hit"
    assert "extensions" not in (await post(gateway, plain)).json()


async def test_max_age_bypasses_the_response_cache(gateway: GatewayClient) -> None:
    plain = "{ customers(providers: [LAGO], first: 2) { edges { node { displayName } } } }"
    await post(gateway, plain)
    bypassed = await post(gateway, plain, **{"cache-control": "max-age=0"})
    assert "x-response-cache" not in bypassed.headers
    assert lago_calls(gateway) == 2


async def test_extensions_summarise_each_provider_read(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    fetched_at = at(clock)
    await post(gateway, LIST)
    clock.now += 12
    query = (
        f"query($id: ID!) {{ {LIST[2:-2]} codat: node(id: $id) {{ ... on Customer {{ "
        f"{FRESHNESS} }} }} }}"
    )
    body = await gateway.query(query, {"id": COYOTE})
    assert body["extensions"]["freshness"] == {
        "CODAT": {
            "oldestAgeSeconds": 0.0,
            "oldestFetchedAt": at(clock),
            "servedFrom": ["UPSTREAM"],
        },
        "LAGO": {"oldestAgeSeconds": 12.0, "oldestFetchedAt": fetched_at, "servedFrom": ["CACHE"]},
    }


# -- What the cache stores --------------------------------------------------------------------


def test_an_entry_keeps_who_wrote_it_and_reads_the_older_header() -> None:
    webhook = Entry(200, b"{}", 5.0, Origin.WEBHOOK)
    assert Entry.decode(webhook.encode()) == webhook
    assert Entry(200, b"{}", 5.0).encode() == b"200 5.0\n{}"
    assert Entry.decode(b"200 5.0\n{}") == Entry(200, b"{}", 5.0, Origin.UPSTREAM)
    assert Entry.decode(b"200 5.0 nobody\n{}") is None


async def test_customers_reached_through_same_as_say_how_fresh_their_read_was(
    gateway: GatewayClient, clock: FakeClock
) -> None:
    """A linked customer comes from the account index's page read: 20 seconds later, with
    nothing read again, it is a CACHE entry 20 seconds old, as the listed ones are (the review
    found it reported as read from the provider just now)."""
    query = (
        f"{{ customers(first: 6) {{ edges {{ node {{ {FRESHNESS} "
        f"sameAs {{ customer {{ {FRESHNESS} }} }} }} }} }} }}"
    )
    await gateway.query(query)
    clock.now += 20
    calls = len(gateway.upstream.requests)
    body = await gateway.query(query)
    assert "errors" not in body, body
    assert len(gateway.upstream.requests) == calls
    links = [link for e in body["data"]["customers"]["edges"] for link in e["node"]["sameAs"]]
    assert links, "the sandbox's first customers have links"
    assert {
        (x["customer"]["freshness"]["servedFrom"], x["customer"]["freshness"]["ageSeconds"])
        for x in links
    } == {("CACHE", 20.0)}
