"""What `Customer.sameAs` costs upstream, counted in `extensions.upstream` (docs/links.md,
"Whose records, and what it costs"): a large account over real loopback HTTP to the sandbox,
a one-page account, an account past the bound of index pages; and that the links are the
evidence rule itself, pair by pair, over the sandbox's data. What webhooks and time do to a
kept index: tests/test_link_index_kept.py."""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx

from gateway.app import create_app
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER
from gateway.domain.links import evidence, link_keys
from gateway.ids import encode_id
from gateway.providers.base import CustomerSource
from gateway.providers.codat.client import INDEX_PAGE_SIZE as CODAT_INDEX_PAGE
from gateway.providers.codat.client import PAGE_SIZE as CODAT_PAGE
from gateway.providers.lago.client import INDEX_PAGE_SIZE as LAGO_INDEX_PAGE
from gateway.providers.lago.client import PAGE_SIZE as LAGO_PAGE
from gateway.providers.layer.client import PAGE_SIZE as LAYER_PAGE
from gateway.settings.load import tenant_settings
from gateway.settings.model import LimitSettings, Settings
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, Sandbox, tenant_config
from sandbox.seed.custom import CustomRecords
from sandbox.server import serve_on_loopback
from tests.support import CountingTransport, GatewayClient, gateway_client

TRACE = {"x-gateway-trace": "upstream"}
PAGE = "query($n: Int) { customers(first: $n) { edges { node { id %s } } } }"
# Customers added to the demo account's Codat company and Lago organisation, so each holds
# many listing pages (100) of customers, within one index page (1000).
BULK = 700


def bulk_records(sandbox: Sandbox, count: int = BULK) -> CustomRecords:
    """`count` more Codat and Lago customers: copies of a generated one, without evidence."""
    codat = sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id][-1]
    lago = sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key][-1]
    records: dict[str, list[dict[str, Any]]] = {"codat": [], "lago": []}
    for n in range(count):
        c = copy.deepcopy(codat) | {"id": f"bulk-{n:04d}", "emailAddress": None}
        records["codat"].append(c | {"taxNumber": None, "registrationNumber": None})
        x = copy.deepcopy(lago) | {"lago_id": f"00000000-0000-4000-8000-{n:012d}"}
        x |= {"external_id": f"bulk-{n:04d}", "email": None, "integration_customers": []}
        records["lago"].append(x | {"tax_identification_number": None, "legal_number": None})
    return CustomRecords("bulk", records)


@contextlib.asynccontextmanager
async def gateway_on_loopback(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh gateway (empty cache) reading `sandbox` over loopback HTTP."""
    async with serve_on_loopback(sandbox.app) as base_url:
        config = tenant_config("links", base_url, DEMO_ACCOUNT)
        app = create_app(
            Settings(tenants=(tenant_settings(config),)),
            upstream_transport=CountingTransport(httpx.AsyncHTTPTransport()),
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gateway.test", timeout=30
            ) as http,
        ):
            yield http


async def calls(http: httpx.AsyncClient, query: str, first: int) -> dict[str, int]:
    """Upstream calls per provider of one query, from `extensions.upstream`."""
    response = await http.post(
        "/graphql", json={"query": query, "variables": {"n": first}}, headers=TRACE
    )
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["customers"]["edges"]) == first
    by_provider = body["extensions"]["upstream"]["byProvider"]
    return {p: by_provider.get(p, {}).get("calls", 0) for p in ("LAYER", "CODAT", "LAGO")}


async def test_sameas_on_a_page_costs_one_read_per_provider_of_many_listing_pages() -> None:
    sandbox = Sandbox(custom=bulk_records(Sandbox()))
    codat = len(sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id])
    lago = len(sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key])
    layer = len(sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id])
    assert 9 * CODAT_PAGE < codat <= CODAT_INDEX_PAGE
    assert 9 * LAGO_PAGE < lago <= LAGO_INDEX_PAGE
    async with gateway_on_loopback(sandbox) as plain:
        without = await calls(plain, PAGE % "", 30)
    async with gateway_on_loopback(sandbox) as linked:
        cold = await calls(linked, PAGE % "sameAs { evidence customer { id } }", 30)
        # Another document, so the whole-answer cache cannot serve it: the index is cached.
        warm = await calls(linked, PAGE % "sameAs { evidence } __typename", 30)
    extra = {p: cold[p] - without[p] for p in cold}
    # Codat and Lago: one read lists the whole account, however many listing pages it holds.
    assert extra["CODAT"] == 1
    assert extra["LAGO"] == 1
    # Layer lists at most 100 customers a read and filters by neither email nor several ids
    # (docs/links.md): its index is the listing's own pages, the first already read.
    assert extra["LAYER"] == math.ceil(layer / LAYER_PAGE) - 1
    assert warm == {"LAYER": 0, "CODAT": 0, "LAGO": 0}


async def test_an_account_past_the_bound_of_index_pages_is_indexed_in_part() -> None:
    sandbox = Sandbox(custom=bulk_records(Sandbox(), CODAT_INDEX_PAGE))
    tenant = tenant_settings(tenant_config("links", "http://sandbox.invalid", DEMO_ACCOUNT))
    one_page = Settings(tenants=(tenant,), limits=LimitSettings(max_filter_scan_pages=1))
    async with gateway_client(one_page, sandbox) as gateway:
        body = await gateway.query(PAGE % "sameAs { evidence }", {"n": 5})
    # Each account now holds more than one index page.
    assert sorted(
        (e["extensions"]["code"], e["extensions"]["provider"]) for e in body["errors"]
    ) == [
        ("LINK_SCAN_LIMIT", "CODAT"),
        ("LINK_SCAN_LIMIT", "LAGO"),
        ("LINK_SCAN_LIMIT", "LAYER"),
    ]
    assert len(body["data"]["customers"]["edges"]) == 5


async def test_an_account_of_one_listing_page_costs_nothing_after_the_page_read_it() -> None:
    second = tenant_settings(tenant_config("links", "http://sandbox.invalid", SECOND_ACCOUNT))
    counts = []
    for fields in ("", "sameAs { evidence }"):
        async with gateway_client(Settings(tenants=(second,))) as gateway:
            counts.append(await calls(gateway.http, PAGE % fields, 30))
    # The listing's cached first page holds the whole account: the index reuses it.
    assert counts[0] == counts[1]


async def test_links_are_exactly_the_pairs_with_evidence_over_every_sandbox_record() -> None:
    """Whatever the reads, `sameAs` over every page is the rule applied to every pair."""
    tenant = tenant_settings(
        tenant_config("links", "http://sandbox.invalid", DEMO_ACCOUNT, SECOND_ACCOUNT)
    )
    async with gateway_client(Settings(tenants=(tenant,))) as gateway:
        found = await every_link(gateway)
        sources = gateway.app.state.tenants.tenants["links"].sources
        records = [c for s in sources for c in await every_customer(s)]
    keys = [link_keys(c) for c in records]
    expected: dict[str, dict[str, list[str]]] = {encode_id(k.key): {} for k in keys}
    for a, b in itertools.combinations(keys, 2):
        if kinds := [e.value for e in evidence(a, b)]:
            expected[encode_id(a.key)][encode_id(b.key)] = kinds
            expected[encode_id(b.key)][encode_id(a.key)] = kinds
    assert found == expected
    assert sum(len(v) for v in found.values()) > 100


async def every_link(gateway: GatewayClient) -> dict[str, dict[str, list[str]]]:
    query = """query($after: String) { customers(first: 100, after: $after) {
      edges { node { id sameAs { evidence customer { id } } } }
      pageInfo { hasNextPage endCursor } } }"""
    links: dict[str, dict[str, list[str]]] = {}
    after = None
    while True:
        body = await gateway.query(query, {"after": after})
        assert "errors" not in body, body["errors"]
        page = body["data"]["customers"]
        for edge in page["edges"]:
            node = edge["node"]
            links[node["id"]] = {x["customer"]["id"]: x["evidence"] for x in node["sameAs"]}
        if not page["pageInfo"]["hasNextPage"]:
            return links
        after = page["pageInfo"]["endCursor"]


async def every_customer(source: CustomerSource) -> list[Customer]:
    found: list[Customer] = []
    token: str | None = None
    while True:
        page = await source.list_page(EMPTY_FILTER, token)
        found.extend(page.items)
        if page.next_token is None:
            return found
        token = page.next_token
