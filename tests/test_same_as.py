"""`Customer.sameAs`: one customer across providers (docs/links.md).

The rules as pure functions (gateway/domain/links.py), then over the sandbox's data through
GraphQL: symmetric, never self, one provider only by an explicit id, never transitive, the
tenant's evidence kinds, one index build per account per request, and a narrowed view."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.auth.accounts import AccountViews
from gateway.domain.customer import (
    Customer,
    CustomerKey,
    CustomerStatus,
    IntegrationKind,
    IntegrationLink,
)
from gateway.domain.filter import EMPTY_FILTER
from gateway.domain.links import (
    LinkEvidence,
    LinkIndex,
    evidence,
    link_keys,
    normalised_email,
    normalised_identifier,
)
from gateway.errors import ConfigError
from gateway.ids import decode_id, encode_id
from gateway.loaders.links import LinkResolver
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.load import tenant_settings
from gateway.settings.model import LimitSettings, Settings
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, Sandbox, tenant_config
from sandbox.seed.overlaps import UNLINKED_LAYER_EMAIL
from tests.support import IN_PROCESS_SANDBOX, GatewayClient, gateway_client

E = LinkEvidence
TRACE = {"x-gateway-trace": "upstream"}
PAGE = """query($first: Int, $after: String) {
  customers(first: $first, after: $after) {
    edges { node { id sameAs { evidence customer { id } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NODES = """query($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Customer { sameAs { evidence customer { id provider } } } }
}"""


def customer(
    provider: Any = LAYER,
    native_id: str = "1",
    account: str = "a",
    *,
    external_id: str | None = None,
    emails: tuple[str, ...] = (),
    tax_id: str | None = None,
    registration_number: str | None = None,
    links: tuple[str, ...] = (),
) -> Customer:
    return Customer(
        key=CustomerKey(provider, account, native_id),
        external_id=external_id,
        display_name=None,
        company_name=None,
        legal_name=None,
        person_name=None,
        customer_type=None,
        emails=emails,
        phones=(),
        addresses=(),
        contacts=(),
        taxes=(),
        tax_id=tax_id,
        registration_number=registration_number,
        integration_links=tuple(
            IntegrationLink(
                system="xero", kind=IntegrationKind.ACCOUNTING, code=None, external_id=i
            )
            for i in links
        ),
        tags=(),
        metadata=(),
        notes=None,
        reference_number=None,
        status=CustomerStatus.ACTIVE,
        currency=None,
        timezone=None,
        created_at=None,
        updated_at=None,
        source_modified_at=None,
        details=None,
    )


# The rules, as pure functions.


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Billing@Example.COM", "billing@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        # Fullwidth letters (NFKC).
        ("\uff21\uff24\uff21@example.com", "ada@example.com"),
        ("not an email", None),
        ("a@b@c", None),
        ("@example.com", None),
        ("ada@", None),
        ("ada @example.com", None),
        (None, None),
    ],
)
def test_emails_are_keys_case_insensitively_and_only_when_they_read_as_one_address(
    given: str | None, expected: str | None
) -> None:
    assert normalised_email(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("GB 123 456 789", "GB123456789"),
        ("gb123-456.789", "GB123456789"),
        ("12 34 5678", "12345678"),
        ("DE/811.907.980", "DE811907980"),
        ("N/A", None),
        ("none", None),
        ("000-000", None),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_identifiers_are_keys_without_spaces_punctuation_or_case_and_placeholders_are_not(
    given: str | None, expected: str | None
) -> None:
    assert normalised_identifier(given) == expected


def test_evidence_is_symmetric_and_lists_every_kind_that_holds_in_order() -> None:
    a = link_keys(
        customer(
            LAYER, "l1", external_id="x-1", emails=("Ada@Example.com",), tax_id="GB 123 456 789"
        )
    )
    b = link_keys(
        customer(LAGO, "x-1", external_id="x-1", emails=("ada@example.com",), tax_id="gb123456789")
    )
    assert evidence(a, b) == evidence(b, a) == (E.EXPLICIT_ID, E.TAX_ID, E.EMAIL)
    assert evidence(a, a) == ()


def test_an_integration_link_naming_the_other_records_id_is_explicit() -> None:
    codat = link_keys(customer(CODAT, "c-77"))
    lago = link_keys(customer(LAGO, "ext-9", external_id="ext-9", links=("c-77",)))
    unrelated = link_keys(customer(LAGO, "ext-8", external_id="ext-8", links=("c-78",)))
    assert evidence(codat, lago) == evidence(lago, codat) == (E.EXPLICIT_ID,)
    assert evidence(codat, unrelated) == ()


def test_one_providers_records_are_linked_only_by_an_explicit_id() -> None:
    email, tax = ("billing@example.com",), "GB123456789"
    a = link_keys(customer(LAGO, "x", "org-1", external_id="x", emails=email, tax_id=tax))
    b = link_keys(customer(LAGO, "y", "org-1", external_id="y", emails=email, tax_id=tax))
    c = link_keys(customer(LAGO, "x", "org-2", external_id="x", emails=email, tax_id=tax))
    assert evidence(a, b) == ()
    # The same external id in two organisations: only the explicit id is evidence.
    assert evidence(a, c) == (E.EXPLICIT_ID,)


def test_links_are_never_transitive() -> None:
    layer = link_keys(customer(LAYER, "l", external_id="e-1", emails=("a@x.test",)))
    lago = link_keys(customer(LAGO, "e-1", external_id="e-1", tax_id="GB123456789"))
    codat = link_keys(customer(CODAT, "c", emails=("b@x.test",), tax_id="GB123456789"))
    index = LinkIndex([layer, lago, codat])
    assert [(x.keys.key, x.evidence) for x in index.links(layer)] == [(lago.key, (E.EXPLICIT_ID,))]
    assert [x.keys.key for x in index.links(lago)] == [layer.key, codat.key]
    assert [x.keys.key for x in index.links(codat)] == [lago.key]


def test_evidence_kinds_not_accepted_are_neither_listed_nor_enough_for_a_link() -> None:
    a = link_keys(customer(LAYER, "l", external_id="e", emails=("a@x.test",)))
    b = link_keys(customer(LAGO, "e", external_id="e", emails=("A@x.test",)))
    only_email = frozenset({E.EMAIL})
    assert evidence(a, b, only_email) == (E.EMAIL,)
    assert evidence(a, replace(b, emails=frozenset()), only_email) == ()


# Over the sandbox, through GraphQL.


def settings(*accounts: Any, evidence: list[str] | None = None) -> Settings:
    config = tenant_config("links", IN_PROCESS_SANDBOX, *(accounts or (DEMO_ACCOUNT,)))
    if evidence is not None:
        config["link_evidence"] = evidence
    return Settings(tenants=(tenant_settings(config),))


async def all_links(gateway: GatewayClient) -> dict[str, dict[str, list[str]]]:
    """Every customer's links, id to linked id to evidence, over a walk of every page."""
    links: dict[str, dict[str, list[str]]] = {}
    after = None
    while True:
        body = await gateway.query(PAGE, {"first": 100, "after": after})
        assert "errors" not in body, body["errors"]
        page = body["data"]["customers"]
        for edge in page["edges"]:
            node = edge["node"]
            links[node["id"]] = {
                link["customer"]["id"]: link["evidence"] for link in node["sameAs"]
            }
        if not page["pageInfo"]["hasNextPage"]:
            return links
        after = page["pageInfo"]["endCursor"]


async def test_sandbox_links_are_symmetric_never_self_and_one_provider_only_by_explicit_id() -> (
    None
):
    async with gateway_client(settings(DEMO_ACCOUNT, SECOND_ACCOUNT)) as gateway:
        links = await all_links(gateway)
    assert len(links) == sum(len(v) for v in _seeded(Sandbox()).values())
    pairs = 0
    for a, linked in links.items():
        assert a not in linked
        for b, kinds in linked.items():
            pairs += 1
            assert kinds, (a, b)
            assert links[b][a] == kinds, (a, b)
            if decode_id(a).provider == decode_id(b).provider:
                assert kinds == ["EXPLICIT_ID"], (a, b)
    # Every shared identity in both accounts, in two or three providers.
    assert pairs >= 2 * 3 * 2 * 6


def _seeded(sandbox: Sandbox) -> dict[str, list[Any]]:
    data = sandbox.data
    return {
        **{f"layer:{k}": v for k, v in data.layer_businesses.items()},
        **{f"codat:{k}": v for k, v in data.codat_companies.items()},
        **{f"lago:{k}": v for k, v in data.lago_organizations.items()},
    }


def identity_ids(sandbox: Sandbox, n: int) -> tuple[str, str, str]:
    """The global ids of the demo account's shared identity `n` in Layer, Codat and Lago."""
    external = f"shared-{n:03d}"
    layer = next(
        c["id"]
        for c in sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
        if c["external_id"] == external
    )
    lago = next(
        c
        for c in sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
        if c["external_id"] == external
    )
    codat = next(
        c["id"]
        for c in sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id]
        if c["taxNumber"] == lago["tax_identification_number"].replace(" ", "").upper()
    )
    return (
        encode_id(CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, layer)),
        encode_id(CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, codat)),
        encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, external)),
    )


async def same_as(gateway: GatewayClient, ids: list[str]) -> dict[str, dict[str, list[str]]]:
    body = await gateway.query(NODES, {"ids": ids})
    assert "errors" not in body, body["errors"]
    return {
        n["id"]: {link["customer"]["id"]: link["evidence"] for link in n["sameAs"]}
        for n in body["data"]["nodes"]
    }


async def test_the_sandbox_shows_one_customer_in_three_providers_with_its_evidence() -> None:
    sandbox = Sandbox()
    layer, codat, lago = identity_ids(sandbox, 0)
    async with gateway_client(settings(), sandbox) as gateway:
        links = await same_as(gateway, [layer, codat, lago])
    assert links[layer] == {codat: ["EMAIL"], lago: ["EXPLICIT_ID", "EMAIL"]}
    # Lago's Xero link names the Codat record; tax and registration numbers are written
    # differently in the two and match once normalised.
    assert links[codat] == {
        layer: ["EMAIL"],
        lago: ["EXPLICIT_ID", "TAX_ID", "REGISTRATION_NUMBER", "EMAIL"],
    }
    assert links[lago] == {
        layer: ["EXPLICIT_ID", "EMAIL"],
        codat: ["EXPLICIT_ID", "TAX_ID", "REGISTRATION_NUMBER", "EMAIL"],
    }


async def test_two_records_linked_to_a_third_are_not_linked_without_evidence_of_their_own() -> None:
    sandbox = Sandbox()
    layer, codat, lago = identity_ids(sandbox, UNLINKED_LAYER_EMAIL)
    async with gateway_client(settings(), sandbox) as gateway:
        links = await same_as(gateway, [layer, codat, lago])
    assert links[layer] == {lago: ["EXPLICIT_ID"]}
    assert links[codat] == {lago: ["TAX_ID", "REGISTRATION_NUMBER", "EMAIL"]}
    assert set(links[lago]) == {layer, codat}


async def test_the_tenant_chooses_the_evidence_it_accepts() -> None:
    sandbox = Sandbox()
    layer, codat, lago = identity_ids(sandbox, UNLINKED_LAYER_EMAIL)
    async with gateway_client(settings(evidence=["EMAIL"]), sandbox) as gateway:
        links = await same_as(gateway, [layer, codat, lago])
    assert links == {layer: {}, codat: {lago: ["EMAIL"]}, lago: {codat: ["EMAIL"]}}
    async with gateway_client(settings(evidence=["EXPLICIT_ID", "TAX_ID"]), sandbox) as gateway:
        links = await same_as(gateway, [layer, codat, lago])
    assert links == {
        layer: {lago: ["EXPLICIT_ID"]},
        codat: {lago: ["TAX_ID"]},
        lago: {layer: ["EXPLICIT_ID"], codat: ["TAX_ID"]},
    }


async def test_no_evidence_accepted_means_no_links_and_no_reads() -> None:
    sandbox = Sandbox()
    ids = list(identity_ids(sandbox, 0))
    async with gateway_client(settings(evidence=[]), sandbox) as gateway:
        assert await same_as(gateway, ids) == {key: {} for key in ids}
        # The records were read by id; no account was listed for an index.
        assert listing_reads(gateway) == {}
        assert gateway.upstream.requests


def test_an_unknown_evidence_kind_is_refused_with_the_settings() -> None:
    config = tenant_config("links", IN_PROCESS_SANDBOX) | {"link_evidence": ["NAME"]}
    with pytest.raises(ConfigError, match="link_evidence"):
        tenant_settings(config)


# What it costs.


def listing_reads(gateway: GatewayClient) -> Counter[str]:
    """Listing calls (not gets, not Layer's token) per provider."""
    reads: Counter[str] = Counter()
    for r in gateway.upstream.requests:
        path = r.url.path
        if path.endswith("/customers") and "query" not in r.url.params:
            reads[path.split("/")[1]] += 1
    return reads


async def test_a_page_of_n_customers_costs_one_index_read_per_account_whatever_n() -> None:
    sandbox = Sandbox()
    second = settings(SECOND_ACCOUNT)
    ids = [
        encode_id(CustomerKey(LAYER, SECOND_ACCOUNT.layer_business_id, c["id"]))
        for c in sandbox.data.layer_businesses[SECOND_ACCOUNT.layer_business_id]
    ]
    costs = []
    for n in (1, 12):
        async with gateway_client(second, sandbox) as gateway:
            body = await gateway.http.post(
                "/graphql", json={"query": NODES, "variables": {"ids": ids[:n]}}, headers=TRACE
            )
            answer = body.json()
            assert "errors" not in answer
            # The second account fits one page per provider: one listing read each.
            assert listing_reads(gateway) == {"layer": 1, "codat": 1, "lago": 1}
            upstream = answer["extensions"]["upstream"]
            assert upstream["calls"] == len(gateway.upstream.requests)
            costs.append(upstream["byProvider"])
    # Twelve customers cost what one costs, but for the Layer records read by id.
    assert costs[0]["CODAT"] == costs[1]["CODAT"]
    assert costs[0]["LAGO"] == costs[1]["LAGO"]


async def test_sameas_on_a_page_adds_the_same_reads_whatever_the_page_size() -> None:
    extra = []
    for first in (5, 60):
        query = "query($n: Int) { customers(first: $n) { edges { node { id %s } } } }"
        async with gateway_client(settings()) as plain:
            await plain.query(query % "", {"n": first})
            without = len(plain.upstream.requests)
        async with gateway_client(settings()) as linked:
            body = await linked.query(query % "sameAs { evidence }", {"n": first})
            assert "errors" not in body
            extra.append(len(linked.upstream.requests) - without)
            # The index's pages are cached: the same page again reads nothing.
            linked.upstream.reset()
            # Another document, so the whole-answer cache cannot serve it.
            again = await linked.http.post(
                "/graphql",
                json={"query": query % "sameAs { evidence } __typename", "variables": {"n": first}},
                headers=TRACE,
            )
            assert again.json()["extensions"]["upstream"]["calls"] == 0
    # The demo account has 261 customers per provider, three listing pages of 100: the
    # listing read the first; the index reads Layer's other two, and all of Codat's and of
    # Lago's in one larger read each (docs/links.md), whatever the page size.
    assert extra == [4, 4]


# A narrowed view.


async def test_a_narrowed_view_never_links_to_an_account_outside_it() -> None:
    async with gateway_client(settings(DEMO_ACCOUNT, SECOND_ACCOUNT)) as gateway:
        tenant = gateway.app.state.tenants.tenants["links"]
        claim = {
            "layer": (DEMO_ACCOUNT.layer_business_id,),
            "codat": (SECOND_ACCOUNT.codat_company_id,),
            "lago": (DEMO_ACCOUNT.lago_organization_id,),
        }
        view = AccountViews().view(tenant, claim)
        seen = {(s.provider, s.account) for s in view.sources}
        layer = view.sources_of(LAYER)[0]
        customers = (await layer.list_page(EMPTY_FILTER, None)).items
        whole, narrowed = LinkResolver(tenant, 5), LinkResolver(view, 5)
        outside = inside = 0
        for c in customers:
            for link in (await whole.same_as(c)).links:
                key = link.keys.key
                outside += (key.provider, key.account) not in seen
            for link in (await narrowed.same_as(c)).links:
                key = link.keys.key
                assert (key.provider, key.account) in seen
                inside += 1
    # Not vacuous: the whole tenant links these customers outside the view too.
    assert outside > 0
    assert inside > 0


README = Path(__file__).resolve().parents[1] / "README.md"


async def test_the_readme_query_shows_links_on_the_sandbox() -> None:
    part = README.read_text(encoding="utf-8").split("## One customer across providers")[1]
    query = part.split("```graphql")[1].split("```")[0]
    async with gateway_client() as gateway:
        body = await gateway.query(query)
    assert "errors" not in body
    nodes = [e["node"] for e in body["data"]["customers"]["edges"]]
    assert nodes
    assert all(n["sameAs"] for n in nodes)


async def test_an_account_past_the_page_bound_is_indexed_in_part_and_said_once() -> None:
    bounded = settings().model_copy(update={"limits": LimitSettings(max_filter_scan_pages=2)})
    async with gateway_client(bounded) as gateway:
        body = await gateway.query(PAGE, {"first": 30})
    errors = body["errors"]
    # One per account past the bound, not one per customer on the page: Layer's three pages
    # of 100 are; Codat and Lago are indexed in one larger page each.
    assert [(e["extensions"]["code"], e["extensions"]["provider"]) for e in errors] == [
        ("LINK_SCAN_LIMIT", "LAYER")
    ]
    assert all(e["path"][-1] == "sameAs" for e in errors)
    assert len(body["data"]["customers"]["edges"]) == 30


async def test_a_failing_account_is_one_error_and_the_others_still_link() -> None:
    sandbox = Sandbox()
    layer, codat, lago = identity_ids(sandbox, 0)
    async with gateway_client(settings(), sandbox) as gateway:
        # Codat's record is read (and cached) first; then Codat fails.
        await gateway.query(
            NODES.replace("sameAs { evidence customer { id provider } }", "id"), {"ids": [codat]}
        )
        gateway.upstream.failing.add("/codat/")
        body = await gateway.query(NODES, {"ids": [layer, codat, lago]})
    errors = body["errors"]
    assert [(e["extensions"]["code"], e["extensions"]["provider"]) for e in errors] == [
        ("UPSTREAM_UNAVAILABLE", "CODAT")
    ]
    links = {
        n["id"]: {x["customer"]["id"]: x["evidence"] for x in n["sameAs"]}
        for n in body["data"]["nodes"]
    }
    assert links[layer] == {lago: ["EXPLICIT_ID", "EMAIL"]}
    assert links[lago] == {layer: ["EXPLICIT_ID", "EMAIL"]}
