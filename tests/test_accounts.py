"""Several accounts of each provider in one tenant: listed, paged, read by id and by external
id, batched per account, cursors bound to the accounts, webhooks per account."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import orjson
import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import decode_id, encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.load import tenant_settings
from gateway.settings.model import Settings
from gateway.webhooks.signatures import standard_signature
from sandbox import DEMO_ACCOUNT, LAYER_WEBHOOK_SECRET, SECOND_ACCOUNT, Sandbox, tenant_config
from tests.support import IN_PROCESS_SANDBOX, GatewayClient, gateway_client

ACCOUNTS = {
    LAYER: (DEMO_ACCOUNT.layer_business_id, SECOND_ACCOUNT.layer_business_id),
    CODAT: (DEMO_ACCOUNT.codat_company_id, SECOND_ACCOUNT.codat_company_id),
    LAGO: (DEMO_ACCOUNT.lago_organization_id, SECOND_ACCOUNT.lago_organization_id),
}
# The interleave's streams: registry order, then the order the accounts are configured.
STREAMS = [(p.value, a) for p, accounts in ACCOUNTS.items() for a in accounts]
PAGE = """query($first: Int, $after: String, $providers: [Provider!]) {
  customers(first: $first, after: $after, providers: $providers) {
    edges { node { id provider account providerId } }
    pageInfo { hasNextPage endCursor }
  }
}"""
TRACE = {"x-gateway-trace": "upstream"}


def two_accounts(*accounts: Any) -> Settings:
    config = tenant_config("two", IN_PROCESS_SANDBOX, *(accounts or (DEMO_ACCOUNT, SECOND_ACCOUNT)))
    return Settings(tenants=(tenant_settings(config),))


async def walk(gateway: GatewayClient, first: int, providers: list[str] | None = None) -> list[Any]:
    nodes: list[Any] = []
    after = None
    while True:
        variables = {"first": first, "after": after, "providers": providers}
        body = await gateway.query(PAGE, variables)
        assert "errors" not in body, body
        page = body["data"]["customers"]
        nodes.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def seeded(sandbox: Sandbox) -> Counter[tuple[str, str]]:
    """How many customers each stream holds in the sandbox."""
    data = sandbox.data
    return Counter(
        {
            STREAMS[0]: len(data.layer_businesses[DEMO_ACCOUNT.layer_business_id]),
            STREAMS[1]: len(data.layer_businesses[SECOND_ACCOUNT.layer_business_id]),
            STREAMS[2]: len(data.codat_companies[DEMO_ACCOUNT.codat_company_id]),
            STREAMS[3]: len(data.codat_companies[SECOND_ACCOUNT.codat_company_id]),
            STREAMS[4]: len(data.lago_organizations[DEMO_ACCOUNT.lago_api_key]),
            STREAMS[5]: len(data.lago_organizations[SECOND_ACCOUNT.lago_api_key]),
        }
    )


async def test_both_accounts_are_listed_once_in_one_interleave_whatever_the_page_size() -> None:
    async with gateway_client(two_accounts()) as gateway:
        reference = await walk(gateway, 100)
        streams = [(n["provider"], n["account"]) for n in reference]
        # Rank by rank: each stream's first customer, in registry then configured order.
        assert streams[:6] == STREAMS
        assert Counter(streams) == seeded(gateway.sandbox)
        ids = [n["id"] for n in reference]
        assert len(set(ids)) == len(ids)
        for node in reference:
            key = decode_id(node["id"])
            assert (key.provider.value, key.account) == (node["provider"], node["account"])
        for first in (37, 9):
            assert await walk(gateway, first) == reference


async def test_one_provider_pages_across_its_two_accounts() -> None:
    async with gateway_client(two_accounts()) as gateway:
        nodes = await walk(gateway, 7, ["LAGO"])
    accounts = [n["account"] for n in nodes]
    # The second organisation is the shorter: until it ends, the two alternate.
    assert accounts[:6] == list(ACCOUNTS[LAGO]) * 3
    assert Counter(accounts) == {a: n for (p, a), n in seeded(Sandbox()).items() if p == "LAGO"}


async def test_a_cursor_of_a_one_account_tenant_is_refused_by_a_two_account_tenant() -> None:
    async with gateway_client(two_accounts(DEMO_ACCOUNT)) as one:
        body = await one.query(PAGE, {"first": 2})
        cursor = body["data"]["customers"]["pageInfo"]["endCursor"]
    async with gateway_client(two_accounts()) as two:
        refused = await two.query(PAGE, {"first": 2, "after": cursor})
        calls = len(two.upstream.requests)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    assert calls == 0


READ = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { account displayName } } }"""


async def test_ids_of_either_account_are_read_through_their_own_account() -> None:
    sandbox = Sandbox()
    # Plain ids, which Codat's query language reads in one batch.
    codat = {
        a.codat_company_id: [
            c["id"]
            for c in sandbox.data.codat_companies[a.codat_company_id]
            if c["id"].replace("-", "").isalnum()
        ][:2]
        for a in (DEMO_ACCOUNT, SECOND_ACCOUNT)
    }
    ids = [
        encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "shared-000")),
        encode_id(CustomerKey(LAGO, SECOND_ACCOUNT.lago_organization_id, "shared-000")),
        encode_id(CustomerKey(LAGO, SECOND_ACCOUNT.lago_organization_id, "shared-001")),
        *(encode_id(CustomerKey(CODAT, c, n)) for c, natives in codat.items() for n in natives),
        encode_id(CustomerKey(CODAT, "another-tenants-company", "71")),
    ]
    async with gateway_client(two_accounts(), sandbox) as gateway:
        body = await gateway.query(READ, {"ids": ids}, headers=TRACE)
        lago = gateway.upstream.calls("/lago/")
        codat_paths = [r.url.path for r in gateway.upstream.calls("/codat/")]
    assert "errors" not in body, body
    nodes = body["data"]["nodes"]
    assert [n and n["account"] for n in nodes] == [
        DEMO_ACCOUNT.lago_organization_id,
        SECOND_ACCOUNT.lago_organization_id,
        SECOND_ACCOUNT.lago_organization_id,
        *(c for c in codat for _ in range(2)),
        None,
    ]
    assert nodes[0]["displayName"] == _shared_name(DEMO_ACCOUNT.lago_api_key)
    assert nodes[1]["displayName"] == _shared_name(SECOND_ACCOUNT.lago_api_key)
    # Lago names no organisation: each id is read with its own organisation's key (Lago
    # has no batch read, so one call per id).
    keys = Counter(r.headers["authorization"] for r in lago)
    assert keys == {
        f"Bearer {DEMO_ACCOUNT.lago_api_key}": 1,
        f"Bearer {SECOND_ACCOUNT.lago_api_key}": 2,
    }
    # Codat batches: one call per company, each for its own company's two ids.
    assert Counter(p.split("/")[3] for p in codat_paths) == dict.fromkeys(codat, 1)


def _shared_name(lago_key: str) -> str:
    customers = Sandbox().data.lago_organizations[lago_key]
    return next(str(c["name"]) for c in customers if c["external_id"] == "shared-000")


async def test_layer_ids_of_the_second_business_are_read_from_its_path() -> None:
    second = Sandbox().data.layer_businesses[SECOND_ACCOUNT.layer_business_id][0]["id"]
    global_id = encode_id(CustomerKey(LAYER, SECOND_ACCOUNT.layer_business_id, second))
    async with gateway_client(two_accounts()) as gateway:
        body = await gateway.query(READ, {"ids": [global_id]})
        paths = [r.url.path for r in gateway.upstream.calls("/layer/")]
    assert body["data"]["nodes"][0]["account"] == SECOND_ACCOUNT.layer_business_id
    assert paths
    assert all(SECOND_ACCOUNT.layer_business_id in p for p in paths)
    assert not any(DEMO_ACCOUNT.layer_business_id in p for p in paths)


BY_EXTERNAL = """query($account: String) {
  customerByExternalId(provider: LAGO, externalId: "shared-000", account: $account) {
    account displayName
  }
}"""


async def test_by_external_id_asks_every_account_and_the_first_configured_wins() -> None:
    async with gateway_client(two_accounts(SECOND_ACCOUNT, DEMO_ACCOUNT)) as gateway:
        default = await gateway.query(BY_EXTERNAL, headers=TRACE)
        asked = Counter(r.headers["authorization"] for r in gateway.upstream.calls("/lago/"))
        named = await gateway.query(
            BY_EXTERNAL, {"account": DEMO_ACCOUNT.lago_organization_id}, headers=TRACE
        )
        unknown = await gateway.query(BY_EXTERNAL, {"account": "another-tenants-org"})
    # Configured second first: it wins though both hold the id.
    assert default["data"]["customerByExternalId"]["account"] == (
        SECOND_ACCOUNT.lago_organization_id
    )
    assert asked == {
        f"Bearer {DEMO_ACCOUNT.lago_api_key}": 1,
        f"Bearer {SECOND_ACCOUNT.lago_api_key}": 1,
    }
    assert named["data"]["customerByExternalId"] == {
        "account": DEMO_ACCOUNT.lago_organization_id,
        "displayName": _shared_name(DEMO_ACCOUNT.lago_api_key),
    }
    assert unknown == {"data": {"customerByExternalId": None}}


async def test_an_account_argument_out_of_bounds_is_bad_input() -> None:
    async with gateway_client(two_accounts()) as gateway:
        body = await gateway.query(BY_EXTERNAL, {"account": ""})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "account must be 1 to 255 characters"


def signed(event: dict[str, Any], event_id: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(event)
    now = int(time.time())
    return body, {
        "content-type": "application/json",
        "webhook-id": event_id,
        "webhook-timestamp": str(now),
        "webhook-signature": standard_signature(LAYER_WEBHOOK_SECRET, event_id, now, body),
    }


async def test_a_webhook_retires_only_its_own_accounts_cache() -> None:
    sandbox = Sandbox()
    firsts = {
        a: sandbox.data.layer_businesses[a.layer_business_id][0]["id"]
        for a in (DEMO_ACCOUNT, SECOND_ACCOUNT)
    }
    ids = {
        a: encode_id(CustomerKey(LAYER, a.layer_business_id, native))
        for a, native in firsts.items()
    }
    read = "query($id: ID!) { customer(id: $id) { account } }"
    async with gateway_client(two_accounts(), sandbox) as gateway:

        async def calls(account: Any) -> int:
            body = await gateway.query(read, {"id": ids[account]}, headers=TRACE)
            assert body["data"]["customer"]["account"] == account.layer_business_id
            return int(body["extensions"]["upstream"]["calls"])

        # The first read also fetches the OAuth token, which both businesses' connections
        # share: they use one Layer client.
        assert [await calls(DEMO_ACCOUNT), await calls(SECOND_ACCOUNT)] == [2, 1]
        event = {"type": "customer.updated", "data": {"id": firsts[SECOND_ACCOUNT]}}
        body, headers = signed(event, "msg_second_1")
        url = f"/webhooks/layer?tenant=two&account={SECOND_ACCOUNT.layer_business_id}"
        response = await gateway.http.post(url, content=body, headers=headers)
        assert response.json() == {"received": True, "action": "retired"}
        # The second business's entries are gone; the demo business's are still fresh.
        assert [await calls(DEMO_ACCOUNT), await calls(SECOND_ACCOUNT)] == [0, 1]


async def test_a_webhook_that_names_no_account_of_several_is_refused() -> None:
    event = {"type": "customer.updated", "data": {"id": "c"}}
    async with gateway_client(two_accounts()) as gateway:
        body, headers = signed(event, "msg_1")
        ambiguous = await gateway.http.post(
            "/webhooks/layer?tenant=two", content=body, headers=headers
        )
        body, headers = signed(event, "msg_2")
        unknown = await gateway.http.post(
            "/webhooks/layer?tenant=two&account=another-business", content=body, headers=headers
        )
        calls = len(gateway.upstream.requests)
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (
        400,
        "WEBHOOK_DESTINATION_AMBIGUOUS",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "WEBHOOK_NOT_CONFIGURED")
    assert calls == 0


@pytest.mark.parametrize("first", [1, 4])
async def test_the_response_cache_keys_on_every_accounts_generation(first: int) -> None:
    sandbox = Sandbox()
    second = sandbox.data.layer_businesses[SECOND_ACCOUNT.layer_business_id][0]["id"]
    query = f"{{ customers(first: {first}, providers: [LAYER]) {{ edges {{ node {{ id }} }} }} }}"
    async with gateway_client(two_accounts(), sandbox) as gateway:
        await gateway.query(query)
        gateway.upstream.reset()
        await gateway.query(query)
        cached = len(gateway.upstream.requests)
        event = {"type": "customer.updated", "data": {"id": second}}
        body, headers = signed(event, f"msg_rc_{first}")
        url = f"/webhooks/layer?tenant=two&account={SECOND_ACCOUNT.layer_business_id}"
        await gateway.http.post(url, content=body, headers=headers)
        await gateway.query(query)
        layer_paths = [r.url.path for r in gateway.upstream.calls("/layer/v1/")]
    assert cached == 0
    # Only the retired business is read again; the other's page is still in the cache.
    assert layer_paths == [f"/layer/v1/businesses/{SECOND_ACCOUNT.layer_business_id}/customers"]


async def test_the_cost_estimate_counts_each_account_a_page_reads() -> None:
    """Each account is paged on its own: the upstream-call estimate counts accounts, not
    providers, so a tenant with two of each is not under-counted (found in review)."""
    report = {"X-Gateway-Cost": "report"}
    query = "query($p: [Provider!]) { customers(first: 6, providers: $p) { edges { cursor } } }"
    async with gateway_client(two_accounts()) as gateway:
        every = await gateway.http.post("/graphql", json={"query": query}, headers=report)
        lago = await gateway.http.post(
            "/graphql", json={"query": query, "variables": {"p": ["LAGO"]}}, headers=report
        )
        none = await gateway.http.post(
            "/graphql", json={"query": query, "variables": {"p": []}}, headers=report
        )
    # Two calls (a page and maybe the next) per account: 2 accounts of each of 3 providers.
    assert every.json()["extensions"]["cost"]["estimated"]["upstreamCalls"] == 12
    assert lago.json()["extensions"]["cost"]["estimated"]["upstreamCalls"] == 4
    assert none.json()["extensions"]["cost"]["estimated"]["upstreamCalls"] == 0
    actual = every.json()["extensions"]["cost"]["actual"]["upstreamCalls"]
    assert actual <= 12
