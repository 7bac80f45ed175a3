"""Review of the kept `sameAs` indexes (gateway/loaders/account_index.py): sequences of
webhooks, requests and reads behind them that the kept index got wrong at 809af50. Each test
failed there and guards its fix (072d44d) since; the docstrings tell the defect as found. The
ordering of concurrent work is fixed by a transport that holds chosen provider answers until
the test lets them go (no timing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from gateway.ids import decode_id
from gateway.providers.codat import CODAT
from gateway.settings.model import (
    CachePolicySettings,
    CacheSettings,
    ResilienceSettings,
    Settings,
)
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.support import GatewayClient, gateway_client
from tests.test_link_index_kept import deliver_layer, demo, lago_id, layer_id, layer_record, links

TRACE = {"x-gateway-trace": "upstream"}
FILTERED = """query($externalId: String) {
  customers(first: 5, filter: {externalId: $externalId}) {
    edges { node { id sameAs { evidence customer { id } } } } } }"""
LAYER_CUSTOMERS = f"/layer/v1/businesses/{DEMO_ACCOUNT.layer_business_id}/customers"


@dataclass
class Held:
    """One provider answer the gate holds: `arrived` once the provider has answered (the
    answer is read, so it is the provider's state at that moment), sent on `release`."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Gate(httpx.AsyncBaseTransport):
    """Passes requests on; the answer to each request `holds` matches is held until released,
    in the order they come (one `Held` per matching request)."""

    inner: httpx.AsyncBaseTransport
    holds: Callable[[httpx.Request], bool]
    # Answer held requests with this status instead (a provider failing), once released.
    status: int | None = None
    held: list[Held] = field(default_factory=list)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.holds(request):
            return response
        await response.aread()
        hold = Held()
        self.held.append(hold)
        hold.arrived.set()
        self.waiting.set()
        await hold.release.wait()
        if self.status is not None:
            return httpx.Response(self.status, json={"error": "unavailable"})
        return response

    async def nth(self, n: int) -> Held:
        """The `n`th held answer (0-based), once it has arrived."""
        while len(self.held) <= n:
            self.waiting.clear()
            await self.waiting.wait()
        await self.held[n].arrived.wait()
        return self.held[n]

    async def aclose(self) -> None:
        await self.inner.aclose()


def gate(
    gateway: GatewayClient, holds: Callable[[httpx.Request], bool], status: int | None = None
) -> Gate:
    """Put a gate between the gateway and the sandbox (behind the call counter)."""
    gated = Gate(gateway.upstream.inner, holds, status)
    gateway.upstream.inner = gated
    return gated


def listing(request: httpx.Request) -> bool:
    return request.url.path == LAYER_CUSTOMERS


def codat_index(request: httpx.Request) -> bool:
    """Codat's customers listing: its index read."""
    return request.url.path.startswith("/codat/") and request.url.path.endswith("/customers")


def filtered(request: httpx.Request) -> bool:
    """A Layer listing read of a filtered page (not an index page of `sameAs`)."""
    return "external_id" in request.url.params


async def test_an_older_read_by_id_landing_first_wins_over_a_newer_change() -> None:
    """Two thin webhooks for one customer, each read by id behind a request: the first read
    (of the state before the second change) lands while the second is in flight, takes the
    customer out of `behind`, and the second read, of the current state, is then thrown away
    ("changed again and taken from the cache: this is older", which it is not). The kept
    index holds the first state for good (until the TTL), served as CACHE."""
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    path = f"{LAYER_CUSTOMERS}/{shared['id']}"
    async with gateway_client(sandbox=sandbox) as gateway:
        before, _ = await links(gateway, lago_id("shared-000"))
        assert "EXPLICIT_ID" in before[layer_id(shared)][0]
        held = gate(gateway, lambda r: r.url.path == path)
        # First change: Layer's record loses the shared external id.
        shared["external_id"] = "moved-000"
        await deliver_layer(gateway, "customer.updated", shared["id"])
        first, _ = await links(gateway, lago_id("shared-000"))
        assert first[layer_id(shared)][1] == "STALE"
        # Layer has answered the first read by id (with "moved-000"); the answer is held.
        one = await held.nth(0)
        # Second change: the external id is back. A request starts a second read by id.
        shared["external_id"] = "shared-000"
        await deliver_layer(gateway, "customer.updated", shared["id"])
        await links(gateway, lago_id("shared-000"))
        two = await held.nth(1)
        # The first (older) answer lands first; then the second (current) one.
        one.release.set()
        for _ in range(1000):
            # Until the first answer is applied: the record is no longer served as STALE.
            if (await links(gateway, lago_id("shared-000")))[0][layer_id(shared)][1] != "STALE":
                break
            await asyncio.sleep(0)
        two.release.set()
        await demo(gateway).indexes.settled()
        after, _ = await links(gateway, lago_id("shared-000"))
    # Layer's record has the shared external id again: the link is explicit once more.
    assert "EXPLICIT_ID" in after[layer_id(shared)][0], after[layer_id(shared)]


async def test_a_request_begun_before_a_webhook_does_not_read_a_kept_account_again() -> None:
    """A request memoises every account's cache generation when it starts (the response
    cache's key). When a webhook comes while it runs and another request brings the kept index
    up to the new generation first, the older request finds its generation behind the kept
    one, takes that for a store that started again (`_catch_up`: `generation <
    kept.generation`), drops the kept index and reads the whole account within the request:
    3 Layer listing calls, where docs/links.md promises at most one read per provider once an
    account is indexed (and it then keeps an index of the older generation)."""
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        await links(gateway, lago_id("shared-000"))
        # The older request's page is a filtered Layer read (held); its sameAs comes after.
        held = gate(gateway, lambda r: listing(r) and "external_id" in r.url.params)
        older = asyncio.create_task(
            gateway.query(FILTERED, {"externalId": "shared-001"}, headers=TRACE)
        )
        answer = await held.nth(0)
        # Meanwhile a webhook, and a newer request that applies it to the kept index.
        shared["email"] = "moved@example.test"
        await deliver_layer(gateway, "customer.updated", shared["id"])
        await links(gateway, lago_id("shared-000"))
        await demo(gateway).indexes.settled()
        gateway.upstream.reset()
        answer.release.set()
        body = await older
    assert "errors" not in body, body["errors"]
    edges = body["data"]["customers"]["edges"]
    assert any(e["node"]["sameAs"] for e in edges)
    # Layer's index is kept and current: the older request's sameAs needs no listing read.
    index_reads = [r for r in gateway.upstream.calls() if listing(r) and not filtered(r)]
    assert index_reads == [], [str(r.url) for r in index_reads]


async def test_an_archived_customer_is_linked_alike_however_the_index_was_built() -> None:
    """An index's full read of Layer lists archived customers too (`include_archived=true`,
    as any unfiltered listing), so a cold gateway, a TTL refresh or a `max-age` request links
    an archived customer. The kept index drops it on `customer.archived` (DELETED): the same
    provider data gives different links depending on how this process came by its index
    (and differs between two processes, one that got the webhook and one that did not)."""
    sandbox = Sandbox()
    shared = layer_record(sandbox, "shared-000")
    async with gateway_client(sandbox=sandbox) as gateway:
        await links(gateway, lago_id("shared-000"))
        shared["status"] = "ARCHIVED"
        await deliver_layer(gateway, "customer.archived", shared["id"])
        await links(gateway, lago_id("shared-000"))
        await demo(gateway).indexes.settled()
        warm, _ = await links(gateway, lago_id("shared-000"))
        demanded, _ = await links(
            gateway, lago_id("shared-000"), headers={"cache-control": "max-age=0"}
        )
    async with gateway_client(sandbox=sandbox) as fresh_process:
        cold, _ = await links(fresh_process, lago_id("shared-000"))
    # The archived record is linked by a full read of the same data...
    assert layer_id(shared) in cold
    assert layer_id(shared) in demanded
    # ...and so must be by the kept index.
    assert set(warm) == set(cold), set(cold) ^ set(warm)


PLAIN_LINKS = """query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer {
  sameAs { evidence customer { id } } } } }"""


async def test_a_request_joining_a_stale_read_is_not_stored_as_clean() -> None:
    """A one-page account past its TTL is read again within the request; a second request
    needing it meanwhile joins that read. When the read comes back STALE (the provider failed:
    stale-if-error), the request that started it notes STALE in its ledger, but the joining
    request notes nothing (the read ran in the other request's context and a joined
    `AccountView` is never `note`d): its answer, STALE records and all, counts as clean, is
    sent with `max-age` and stored in the whole-response cache (docs/freshness.md: nothing
    stale is stored)."""
    now = [1_800_000_000.0]
    policy = CachePolicySettings(
        ttl_seconds=60, stale_while_revalidate_seconds=0, stale_if_error_seconds=3600
    )
    # Only Codat's index passes its TTL in this test.
    long = CachePolicySettings(ttl_seconds=3600)
    settings = Settings(
        cache=CacheSettings(providers={"codat": policy, "layer": long, "lago": long}),
        resilience=ResilienceSettings(attempts=1),
    )
    async with gateway_client(settings, clock=lambda: now[0]) as gateway:
        cold, _ = await links(gateway, lago_id("shared-001"))
        codat = [i for i in cold if decode_id(i).provider == CODAT]
        assert codat
        now[0] += 120
        # Codat fails now; its first index read is held until the second request has joined.
        held = gate(gateway, codat_index, status=503)
        first = asyncio.create_task(links(gateway, lago_id("shared-001")))
        answer = await held.nth(0)
        params = {
            "query": PLAIN_LINKS,
            "variables": orjson.dumps({"ids": [lago_id("shared-001")]}).decode(),
        }
        second = asyncio.create_task(gateway.http.get("/graphql", params=params))
        for _ in range(1000):
            # Let the second request run until it waits on the read in flight.
            await asyncio.sleep(0)
        answer.release.set()
        found, _ = await first
        response = await second
    # The read was served from the cache past its TTL, as the provider failed: STALE.
    assert {found[i][1] for i in codat} == {"STALE"}
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert {x["customer"]["id"] for x in body["data"]["nodes"][0]["sameAs"]} >= set(codat)
    # Only one index read of Codat was made: the second request joined the first's.
    assert len(held.held) == 1
    # Not clean: no max-age, not stored, and said so (as when the request reads it alone).
    assert response.headers["cache-control"] == "private, no-store", response.headers
    assert body["extensions"].get("stale") == ["CODAT"], body["extensions"]


async def test_a_created_customer_is_linked_from_both_ends_or_neither() -> None:
    """A thin `customer.created` for a Layer record sharing a Lago record's external id: until
    its read by id lands, the kept index lacks it (it is in `behind` only, not in `by_id`),
    so the Lago record does not list it; but the Layer record itself, found by a page (here a
    filter by the external id), falls back to its own live keys (`LinkResolver.same_as`:
    `view.record(...) or link_keys(customer)`) and lists the Lago record. One answer then
    says A is B and B is not A (docs/links.md: symmetric)."""
    sandbox = Sandbox()
    lago = sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key][-1]
    business = sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
    created = {
        **business[0],
        "id": str(uuid.uuid4()),
        "external_id": lago["external_id"],
        "email": "created@example.test",
        "status": "ACTIVE",
    }
    async with gateway_client(sandbox=sandbox) as gateway:
        await links(gateway, lago_id(lago["external_id"]))
        business.append(created)
        # The created record's read by id, behind the requests, is held: its window stays open.
        held = gate(gateway, lambda r: r.url.path == f"{LAYER_CUSTOMERS}/{created['id']}")
        await deliver_layer(gateway, "customer.created", created["id"])
        await links(gateway, lago_id(lago["external_id"]))
        answer = await held.nth(0)
        body = await gateway.query(FILTERED, {"externalId": lago["external_id"]})
        answer.release.set()
        await demo(gateway).indexes.settled()
    assert "errors" not in body, body["errors"]
    same_as = {
        e["node"]["id"]: {x["customer"]["id"] for x in e["node"]["sameAs"]}
        for e in body["data"]["customers"]["edges"]
    }
    layer, lago_node = layer_id(created), lago_id(lago["external_id"])
    assert {layer, lago_node} <= same_as.keys(), same_as
    assert (lago_node in same_as[layer]) == (layer in same_as[lago_node]), same_as
