"""Each account's link index is kept between requests and kept current (docs/links.md, "Whose
records, and what it costs"): a webhook that names its customer patches it in place, a change
nobody named or an index past its TTL is refreshed in the background while the old one is
served as STALE, an index can be built at start, and the kept indexes are bounded, keyed by
tenant first. Costs are counted in `extensions.upstream`, over the sandbox's real contracts."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest

from gateway.cache.entry import CachePolicy
from gateway.cache.keys import Account
from gateway.domain.customer import CustomerKey
from gateway.domain.filter import CustomerFilter
from gateway.ids import decode_id, encode_id
from gateway.loaders.account_index import AccountIndexes
from gateway.providers.base import Page
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.load import tenant_settings
from gateway.settings.model import CachePolicySettings, CacheSettings, Settings
from gateway.tenants import Tenant
from gateway.webhooks.signatures import standard_signature
from sandbox import DEMO_ACCOUNT, LAYER_WEBHOOK_SECRET, Sandbox, tenant_config
from tests.providers.fakes import ListingSource
from tests.support import GatewayClient, gateway_client, memory_cache
from tests.test_metrics import series
from tests.test_webhook_delivery import deliver_lago, deliver_standard, lago_body

TRACE = {"x-gateway-trace": "upstream"}
LINKS = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer {
  sameAs { evidence customer { id freshness { servedFrom } } } } } }"""
PAGE = "query($n: Int) { customers(first: $n) { edges { node { id %s } } } }"
PROVIDERS = ("LAYER", "CODAT", "LAGO")


def lago_id(external_id: str) -> str:
    return encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, external_id))


def layer_record(sandbox: Sandbox, external_id: str) -> dict[str, Any]:
    records = sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
    return next(r for r in records if r.get("external_id") == external_id)


def layer_id(record: dict[str, Any]) -> str:
    return encode_id(CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, record["id"]))


async def links(
    gateway: GatewayClient, node: str, headers: dict[str, str] | None = None
) -> tuple[dict[str, tuple[list[str], str]], dict[str, int]]:
    """`node`'s links (id: evidence, servedFrom) and the request's upstream calls by provider."""
    body = await gateway.query(LINKS, {"ids": [node]}, headers=TRACE | (headers or {}))
    assert "errors" not in body, body["errors"]
    (found,) = body["data"]["nodes"]
    by_provider = body["extensions"]["upstream"]["byProvider"]
    return (
        {
            x["customer"]["id"]: (x["evidence"], x["customer"]["freshness"]["servedFrom"])
            for x in found["sameAs"]
        },
        {p: by_provider.get(p, {}).get("calls", 0) for p in PROVIDERS},
    )


def demo(gateway: GatewayClient) -> Tenant:
    tenant: Tenant = gateway.app.state.tenants.tenants["demo"]
    return tenant


async def deliver_layer(gateway: GatewayClient, event_type: str, customer_id: str) -> None:
    """A thin Layer event, signed as Standard Webhooks does: it names the customer only."""
    event = {"id": str(uuid.uuid4()), "type": event_type, "data": {"id": customer_id}}
    body, message, stamp = orjson.dumps(event), str(uuid.uuid4()), int(time.time())
    response = await gateway.http.post(
        "/webhooks/layer?tenant=demo",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": message,
            "webhook-timestamp": str(stamp),
            "webhook-signature": standard_signature(LAYER_WEBHOOK_SECRET, message, stamp, body),
        },
    )
    assert response.status_code == 200, response.text


async def test_a_webhook_carrying_its_customer_patches_the_index_without_a_read() -> None:
    sandbox = Sandbox()
    layer = sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id][-1]
    lago = sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key][-1]
    async with gateway_client(sandbox=sandbox) as gateway:
        before, _ = await links(gateway, layer_id(layer))
        assert lago_id(lago["external_id"]) not in before
        # Read by id once, so the event below is provably newer than what the gateway holds.
        await links(gateway, lago_id(lago["external_id"]))
        # Lago's record takes the Layer record's email, and says so by webhook, whole.
        lago["email"] = layer["email"].upper()
        lago["updated_at"] = "2099-01-01T00:00:00Z"
        delivered = await deliver_lago(gateway, lago_body(lago), str(uuid.uuid4()))
        assert delivered.json()["received"] is True
        after, calls = await links(gateway, layer_id(layer))
    assert after[lago_id(lago["external_id"])] == (["EMAIL"], "WEBHOOK")
    # The changed record came with the event: nothing is read again, not even Lago's index.
    assert calls == {"LAYER": 0, "CODAT": 0, "LAGO": 0}


async def test_a_thin_webhook_serves_the_old_record_as_stale_and_reads_it_behind() -> None:
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        cold, _ = await links(gateway, lago_id("shared-000"))
        assert cold[layer_id(shared)][0][0] == "EXPLICIT_ID"
        # Layer's index is its listing's pages (261 customers: 3 reads).
        assert len(gateway.upstream.calls("/layer/")) == 3
        shared["external_id"] = "moved-000"
        await deliver_layer(gateway, "customer.updated", shared["id"])
        gateway.upstream.reset()
        stale, stale_calls = await links(gateway, lago_id("shared-000"))
        # Served at once from the kept index, the changed record marked STALE...
        assert stale[layer_id(shared)][1] == "STALE"
        assert stale_calls == {"LAYER": 0, "CODAT": 0, "LAGO": 0}
        # ...while one read by id, behind the request, brings it up to date.
        await demo(gateway).indexes.settled()
        assert [r.url.path for r in gateway.upstream.calls("/layer/")] == [
            f"/layer/v1/businesses/{DEMO_ACCOUNT.layer_business_id}/customers/{shared['id']}"
        ]
        fresh, fresh_calls = await links(gateway, lago_id("shared-000"))
    # Its external id no longer matches; what else holds between the two records still does.
    evidence, served = fresh[layer_id(shared)]
    assert "EXPLICIT_ID" not in evidence
    assert evidence == [e for e in stale[layer_id(shared)][0] if e != "EXPLICIT_ID"]
    assert served == "CACHE"
    assert fresh_calls == {"LAYER": 0, "CODAT": 0, "LAGO": 0}


async def test_an_archived_layer_customer_stays_linked_as_a_full_read_lists_it() -> None:
    """Layer's listings, as the gateway sends them, include archived customers: what the
    archive changed is read by id behind the request, not dropped (compare
    tests/test_link_index_review.py, which builds the index each way)."""
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        assert layer_id(shared) in (await links(gateway, lago_id("shared-000")))[0]
        shared["status"] = "ARCHIVED"
        await deliver_layer(gateway, "customer.archived", shared["id"])
        gateway.upstream.reset()
        during, calls = await links(gateway, lago_id("shared-000"))
        await demo(gateway).indexes.settled()
        reads = len(gateway.upstream.calls("/layer/"))
        after, _ = await links(gateway, lago_id("shared-000"))
    assert during[layer_id(shared)][1] == "STALE"
    assert calls == {"LAYER": 0, "CODAT": 0, "LAGO": 0}
    assert reads == 1
    assert after[layer_id(shared)][1] == "CACHE"


async def test_a_change_nobody_named_on_a_large_account_is_read_again_behind() -> None:
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        await links(gateway, lago_id("shared-000"))
        # Retired with no record of what changed (a store that lost it, say): only a full
        # read of Layer's 3 pages can tell, and it is made behind the request.
        cache = gateway.app.state.cache
        await cache.retire(Account("demo", LAYER, DEMO_ACCOUNT.layer_business_id))
        gateway.upstream.reset()
        stale, calls = await links(gateway, lago_id("shared-000"))
        assert stale[layer_id(shared)][1] == "STALE"
        assert calls["LAYER"] == 0
        await demo(gateway).indexes.settled()
        assert len(gateway.upstream.calls("/layer/")) == 3
        fresh, calls = await links(gateway, lago_id("shared-000"))
    assert fresh[layer_id(shared)][1] == "CACHE"
    assert calls == {"LAYER": 0, "CODAT": 0, "LAGO": 0}


async def test_a_codat_sync_costs_one_read_of_its_one_page_company() -> None:
    sandbox = Sandbox()
    async with gateway_client(sandbox=sandbox) as gateway:
        before, _ = await links(gateway, lago_id("shared-001"))
        codat = [i for i in before if decode_id(i).provider == CODAT]
        assert codat
        delivered = await deliver_standard(gateway, "codat", str(uuid.uuid4()), time.time())
        assert delivered.status_code == 200
        after, calls = await links(gateway, lago_id("shared-001"))
    # The sync names no customer; the company fits one index read, made in the request.
    assert calls == {"LAYER": 0, "CODAT": 1, "LAGO": 0}
    assert {after[i][1] for i in codat} == {"UPSTREAM"}


@pytest.mark.parametrize("prewarm", [True, False])
async def test_an_index_built_at_start_costs_a_page_no_read(prewarm: bool) -> None:
    settings = Settings(cache=CacheSettings(links_prewarm=prewarm))
    async with gateway_client(settings) as gateway:
        await demo(gateway).indexes.settled()
        page = await gateway.query(PAGE % "", {"n": 30}, headers=TRACE)
        linked = await gateway.query(PAGE % "sameAs { evidence }", {"n": 30}, headers=TRACE)
    assert "errors" not in linked, linked["errors"]
    by_provider = linked["extensions"]["upstream"]["byProvider"]
    extra = {p: by_provider.get(p, {}).get("calls", 0) for p in PROVIDERS}
    assert "errors" not in page
    if prewarm:
        assert extra == {"LAYER": 0, "CODAT": 0, "LAGO": 0}
    else:
        # Cold: Layer's two pages past the one the page read, one index read each for the
        # others.
        assert extra == {"LAYER": 2, "CODAT": 1, "LAGO": 1}


async def test_a_request_during_the_read_at_start_waits_for_it_and_calls_nothing_more() -> None:
    settings = Settings(cache=CacheSettings(links_prewarm=True))
    async with gateway_client(settings) as gateway:
        # At once: the accounts are still being read behind the requests.
        linked = await gateway.query(PAGE % "sameAs { evidence }", {"n": 30}, headers=TRACE)
        await demo(gateway).indexes.settled()
        listing = [r for r in gateway.upstream.calls("/layer/") if "cursor" in r.url.params]
    assert "errors" not in linked, linked["errors"]
    by_provider = linked["extensions"]["upstream"]["byProvider"]
    assert all(by_provider.get(p, {}).get("calls", 0) <= 1 for p in PROVIDERS), by_provider
    # Layer's second and third pages were read once, shared by the read at start and the page.
    assert len(listing) == 2


async def test_an_index_past_its_ttl_is_served_stale_and_refreshed_behind() -> None:
    now = [time.time()]
    policy = CachePolicySettings(ttl_seconds=60, stale_while_revalidate_seconds=30)
    settings = Settings(cache=CacheSettings(providers={"layer": policy}))
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(settings, sandbox, clock=lambda: now[0]) as gateway:
        await links(gateway, lago_id("shared-000"))
        now[0] += 70
        stale, calls = await links(gateway, lago_id("shared-000"))
        assert stale[layer_id(shared)][1] == "STALE"
        assert calls["LAYER"] == 0
        await demo(gateway).indexes.settled()
        fresh, calls = await links(gateway, lago_id("shared-000"))
    assert fresh[layer_id(shared)][1] == "CACHE"
    assert calls["LAYER"] == 0


async def test_a_client_demanding_a_younger_answer_gets_the_index_read_again() -> None:
    async with gateway_client() as gateway:
        await links(gateway, lago_id("shared-000"))
        demanded, calls = await links(
            gateway, lago_id("shared-000"), headers={"cache-control": "max-age=0"}
        )
    assert calls["LAYER"] == 3
    assert {served for _, served in demanded.values()} == {"UPSTREAM"}


async def test_kept_indexes_are_bounded_and_never_shared_between_tenants() -> None:
    config = tenant_config("other", "http://sandbox.invalid", DEMO_ACCOUNT)
    settings = Settings(
        tenants=(tenant_settings(config),), cache=CacheSettings(links_max_records=300)
    )
    async with gateway_client(settings) as gateway:
        other: Tenant = gateway.app.state.tenants.tenants["other"]
        first = await gateway.query(PAGE % "sameAs { evidence }", {"n": 5}, headers=TRACE)
        second = await gateway.query(PAGE % "sameAs { evidence } id", {"n": 5}, headers=TRACE)
        kept = other.indexes.records
    assert "errors" not in first
    assert "errors" not in second
    # Each account of 261 fits the bound alone, never with another: two were let go, and
    # listed again (from the upstream cache) by the second request.
    assert kept == 261
    again = second["extensions"]["upstream"]["byProvider"]
    assert sum(1 for p in PROVIDERS if again.get(p, {}).get("cacheHits", 0) > 0) >= 2


async def test_a_tenant_does_not_read_another_tenants_kept_index() -> None:
    configs = [
        tenant_config(
            t, "http://sandbox.invalid", DEMO_ACCOUNT, allow_anonymous=False, api_keys=(f"key-{t}",)
        )
        for t in ("a", "b")
    ]
    settings = Settings(tenants=tuple(tenant_settings(c) for c in configs))
    async with gateway_client(settings) as gateway:
        a, b = (gateway.app.state.tenants.tenants[t] for t in ("a", "b"))
        keys = {t: c["api_keys"][0] for t, c in zip(("a", "b"), configs, strict=True)}
        counts = {}
        for tenant in ("a", "b"):
            gateway.upstream.reset()
            body = await gateway.query(
                PAGE % "sameAs { evidence }",
                {"n": 5},
                headers={"authorization": f"Bearer {keys[tenant]}"},
            )
            assert "errors" not in body, body["errors"]
            counts[tenant] = [
                len(gateway.upstream.calls(f"/{p}/")) for p in ("layer", "codat", "lago")
            ]
        assert a.indexes is b.indexes
    # Same accounts, other tenant: its index is its own, read again, page for page.
    assert counts["b"] == counts["a"]
    assert counts["a"][0] == 3


class EmptyAccount(ListingSource):
    """An account with no customers (one a caller's token claimed, say)."""

    def __init__(self, account: str) -> None:
        super().__init__()
        self.account = account

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        self.calls += 1
        return Page((), None)


async def test_accounts_without_customers_count_against_the_bound() -> None:
    policy = CachePolicy(ttl=60, stale_while_revalidate=0, stale_if_error=0)
    indexes = AccountIndexes(memory_cache(policy), max_records=2)
    sources = [EmptyAccount(f"org-{n}") for n in range(5)]
    for source in sources:
        await indexes.read("t", source, max_pages=5)
    assert indexes.accounts == 2
    # The least recently used went; the last two are still kept (no second read).
    await indexes.read("t", sources[-1], max_pages=5)
    assert [s.calls for s in sources] == [1, 1, 1, 1, 1]
    await indexes.read("t", sources[0], max_pages=5)
    assert sources[0].calls == 2


def layer_attempts(text: str) -> float:
    return sum(
        value
        for name, labels, value in series(text)
        if name == "gateway_upstream_seconds_count" and labels.get("provider") == "LAYER"
    )


async def test_reads_behind_the_requests_are_counted_in_the_metrics() -> None:
    """No request counts a read behind the requests; /metrics does, and shows what is kept."""
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        await links(gateway, lago_id("shared-000"))
        before = layer_attempts((await gateway.http.get("/metrics")).text)
        await deliver_layer(gateway, "customer.updated", shared["id"])
        _, calls = await links(gateway, lago_id("shared-000"))
        await demo(gateway).indexes.settled()
        text = (await gateway.http.get("/metrics")).text
    assert calls["LAYER"] == 0
    # The one read by id behind the request.
    assert layer_attempts(text) == before + 1
    kept = {
        labels["kind"]: value
        for name, labels, value in series(text)
        if name == "gateway_link_index"
    }
    assert kept == {"accounts": 3, "customers": 3 * 261}
