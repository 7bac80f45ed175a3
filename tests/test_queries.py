"""The root fields through GraphQL: ids, lookups, argument checks, paging."""

from __future__ import annotations

import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT
from tests.support import GatewayClient

CUSTOMER = "query($id: ID!) { customer(id: $id) { __typename displayName provider } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Customer { displayName } } }"


def lago_id(external_id: str, org: str = DEMO_ACCOUNT.lago_organization_id) -> str:
    return encode_id(CustomerKey(LAGO, org, external_id))


async def test_node_resolves_a_customer_by_global_id(gateway: GatewayClient) -> None:
    global_id = lago_id("5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba")
    body = await gateway.query(NODE, {"id": global_id})
    assert body["data"]["node"] == {"id": global_id, "displayName": "Gavin Belson"}


async def test_unknown_customer_is_null_without_error(gateway: GatewayClient) -> None:
    body = await gateway.query(CUSTOMER, {"id": lago_id("no-such-customer")})
    assert body == {"data": {"customer": None}}


@pytest.mark.parametrize("bad_id", ["", "nope", "eyJ4IjoxfQ", "WyJPdGhlciIsIkxBR08iLCJhIiwiYiJd"])
async def test_malformed_ids_are_bad_user_input(gateway: GatewayClient, bad_id: str) -> None:
    body = await gateway.query(CUSTOMER, {"id": bad_id})
    assert body["data"] == {"customer": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert body["errors"][0]["path"] == ["customer"]
    assert not gateway.upstream.requests


async def test_another_tenants_scope_reads_as_nothing(gateway: GatewayClient) -> None:
    foreign = lago_id("shared-000", SECOND_ACCOUNT.lago_organization_id)
    body = await gateway.query(CUSTOMER, {"id": foreign})
    assert body == {"data": {"customer": None}}
    assert not gateway.upstream.requests


@pytest.mark.parametrize(
    ("provider", "external_id", "typename", "name"),
    [
        ("LAYER", "customer-1", "LayerCustomer", "Acme, Inc."),
        ("LAGO", "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba", "LagoCustomer", "Gavin Belson"),
        ("CODAT", "71", None, None),
        ("LAYER", "no-such-external-id", None, None),
    ],
)
async def test_customer_by_external_id(
    gateway: GatewayClient, provider: str, external_id: str, typename: str | None, name: str | None
) -> None:
    body = await gateway.query(
        "query($p: Provider!, $e: String!) { customerByExternalId(provider: $p, externalId: $e) "
        "{ __typename displayName } }",
        {"p": provider, "e": external_id},
    )
    found = body["data"]["customerByExternalId"]
    if typename is None:
        assert found is None
    else:
        assert found == {"__typename": typename, "displayName": name}
    if provider == "CODAT":
        # Codat has no external ids: answered without asking it.
        assert not gateway.upstream.calls("/codat/")


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_first_out_of_range_is_bad_user_input(gateway: GatewayClient, first: int) -> None:
    body = await gateway.query(
        "query($n: Int) { customers(first: $n) { edges { cursor } } }", {"n": first}
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert body["errors"][0]["message"] == "first must be between 1 and 100"
    assert not gateway.upstream.requests


async def test_filter_text_is_bounded(gateway: GatewayClient) -> None:
    body = await gateway.query(
        "query($s: String) { customers(filter: {search: $s}) { edges { cursor } } }",
        {"s": "x" * 201},
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert not gateway.upstream.requests


async def test_paging_through_graphql_with_cursors(gateway: GatewayClient) -> None:
    query = """query($after: String) {
      customers(first: 40, providers: [CODAT, LAGO], filter: {status: [ACTIVE]}, after: $after) {
        edges { node { id provider status } }
        pageInfo { hasNextPage endCursor }
      } }"""
    ids: list[str] = []
    providers: list[str] = []
    after = None
    while True:
        body = await gateway.query(query, {"after": after})
        connection = body["data"]["customers"]
        ids.extend(e["node"]["id"] for e in connection["edges"])
        providers.extend(e["node"]["provider"] for e in connection["edges"])
        assert {e["node"]["status"] for e in connection["edges"]} <= {"ACTIVE"}
        assert {e["node"]["provider"] for e in connection["edges"]} <= {"CODAT", "LAGO"}
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(ids) == len(set(ids))
    # Every Lago customer is ACTIVE; Codat's archived, unknown and deleted ones are left out.
    assert providers.count("LAGO") == 261
    assert 100 < providers.count("CODAT") < 261


async def test_customers_of_an_unconnected_provider_list_is_empty(gateway: GatewayClient) -> None:
    body = await gateway.query(
        "{ customers(providers: []) { edges { cursor } pageInfo { hasNextPage } } }"
    )
    assert body["data"]["customers"] == {"edges": [], "pageInfo": {"hasNextPage": False}}
    assert not gateway.upstream.requests
