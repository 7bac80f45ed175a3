"""The cost model: a full page a UI builds is admitted, the bombs are not, and
`extensions.cost` reports the estimate and the upstream calls actually made."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    parse,
)

from gateway.settings.model import LimitSettings, Settings
from resolvers.limits.analysis import analyse
from resolvers.limits.cost import PROVIDERS, RECORD_WEIGHT, Cost, estimate, type_coverage
from resolvers.schema import build_schema
from tests.support import GatewayClient, gateway_client

GQL = {"accept": "application/graphql-response+json"}
REPORT = {**GQL, "x-gateway-cost": "report"}
LIMITS = LimitSettings()


def gateway_schema() -> GraphQLSchema:
    return build_schema(Settings())._schema


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return gateway_schema()


# Left out of the every-box page besides `raw`: `sameAs` leads back to Customer (a cycle no
# explorer can tick whole) and reads each account's listing, charged on its own (below).
BEYOND_THE_RECORD = frozenset({"raw", "sameAs"})


def every_field(kind: GraphQLObjectType | GraphQLInterfaceType, skip: frozenset[str]) -> str:
    """Every field of `kind` but `skip` and deprecated ones, objects expanded to every field:
    what GraphiQL's explorer builds when every box is ticked."""
    parts = []
    for name, field in kind.fields.items():
        if name in skip or field.deprecation_reason:
            continue
        below = get_named_type(field.type)
        if isinstance(below, GraphQLObjectType | GraphQLInterfaceType):
            parts.append(f"{name} {{ {every_field(below, skip - {'raw'})} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def full_page(
    schema: GraphQLSchema, first: int = 100, copies: int = 1, interface: bool = False
) -> str:
    """`copies` pages of `first` customers, every typed field (all but `raw` and `sameAs`) of every
    provider's type through inline fragments; with `interface`, the interface's fields ticked
    too, beside the fragments that repeat them (as the explorer writes them)."""
    customer = schema.get_type("Customer")
    assert isinstance(customer, GraphQLInterfaceType)
    direct = every_field(customer, BEYOND_THE_RECORD) if interface else ""
    fragments = (
        direct
        + " "
        + " ".join(
            f"... on {kind.name} {{ {every_field(kind, BEYOND_THE_RECORD)} }}"
            for kind in schema.get_possible_types(customer)
        )
    )
    page = (
        f"customers(first: {first}) {{ edges {{ cursor node {{ {fragments} }} }} "
        "pageInfo { hasNextPage endCursor } }"
    )
    if copies == 1:
        return "{ " + page + " }"
    return "{ " + " ".join(f"p{i}: {page}" for i in range(copies)) + " }"


def cost_of(
    schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None
) -> Cost | None:
    analysis = analyse(parse(query), covers=type_coverage(schema))
    return estimate(analysis, schema, variables, None, default_page_size=20)


async def test_a_full_page_of_100_is_accepted(gateway: GatewayClient) -> None:
    query = full_page(gateway_schema())
    response = await gateway.http.post("/graphql", json={"query": query}, headers=REPORT)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["customers"]["edges"]) > 3
    cost = body["extensions"]["cost"]
    assert cost["estimated"]["upstreamCalls"] == 6
    assert cost["estimated"]["fields"] <= LIMITS.max_fields
    assert cost["limits"] == {
        "fields": LIMITS.max_fields,
        "upstreamCalls": LIMITS.max_upstream_calls,
    }
    # The actual calls are the ones the providers saw: a page and the next one per provider
    # (the estimate's two), and Layer's token, fetched once per process.
    assert len(gateway.upstream.requests) == 7
    assert cost["actual"] == {"upstreamCalls": 7}
    gateway.upstream.reset()
    again = await gateway.http.post("/graphql", json={"query": query}, headers=REPORT)
    # Estimated alike, but read from the gateway's cache of upstream answers.
    assert again.json()["extensions"]["cost"]["estimated"] == cost["estimated"]
    assert again.json()["extensions"]["cost"]["actual"] == {"upstreamCalls": 0}
    assert not gateway.upstream.requests


def test_fields_repeated_beside_type_fragments_are_counted_once(schema: GraphQLSchema) -> None:
    """GraphQL resolves a field named twice in a set once; the estimate must too, or the
    explorer's every-box page (the interface's fields and each type's) is refused."""
    alone = cost_of(schema, full_page(schema))
    ticked = cost_of(schema, full_page(schema, interface=True))
    # Every interface field ticked is repeated, same selection, in each type's fragment.
    assert ticked == alone
    assert alone is not None
    assert alone.fields <= 25_000
    once = cost_of(schema, '{ node(id: "x") { id } }')
    thrice = cost_of(schema, '{ node(id: "x") { id id id ... on LagoCustomer { id } } }')
    assert once == thrice


async def test_two_full_pages_of_100_are_refused(gateway: GatewayClient) -> None:
    query = full_page(gateway_schema(), copies=2)
    response = await gateway.http.post("/graphql", json={"query": query}, headers=REPORT)
    body = response.json()
    assert response.status_code == 422
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    # A refusal still reports what was estimated, and that nothing was called.
    assert body["extensions"]["cost"]["estimated"]["fields"] > LIMITS.max_fields
    assert body["extensions"]["cost"]["actual"] == {"upstreamCalls": 0}
    assert not gateway.upstream.requests


async def test_the_cost_is_reported_only_when_asked(gateway: GatewayClient) -> None:
    query = "{ customers(first: 2) { edges { node { id } } } }"
    response = await gateway.http.post("/graphql", json={"query": query}, headers=GQL)
    assert "extensions" not in response.json()


def test_fragments_on_abstract_types_count_the_most_expensive_condition(
    schema: GraphQLSchema,
) -> None:
    node = (
        "... on LayerCustomer { id memo } "
        "... on CodatCustomer { id } "
        "... on LagoCustomer { id slug name url }"
    )
    cost = cost_of(schema, f'{{ node(id: "x") {{ {node} }} }}')
    # Lago's four fields, not the seven of all three fragments.
    assert cost == Cost(fields=1 + RECORD_WEIGHT + 4, upstream_calls=1)


def test_a_condition_on_an_interface_adds_to_every_type_it_covers(schema: GraphQLSchema) -> None:
    node = "... on Customer { id displayName } ... on LagoCustomer { slug } ... on Node { id }"
    cost = cost_of(schema, f'{{ node(id: "x") {{ {node} }} }}')
    # A Lago customer matches all three fragments.
    assert cost == Cost(fields=1 + RECORD_WEIGHT + 4, upstream_calls=1)


def test_named_fragments_count_like_inline_ones(schema: GraphQLSchema) -> None:
    query = (
        '{ node(id: "x") { ...L ...C } }\n'
        "fragment L on LayerCustomer { id memo objectType }\n"
        "fragment C on CodatCustomer { id }"
    )
    assert cost_of(schema, query) == Cost(fields=1 + RECORD_WEIGHT + 3, upstream_calls=1)


def test_nested_lists_of_a_record_count_once(schema: GraphQLSchema) -> None:
    node = "contacts { phones { number } } tags { key }"
    query = f"{{ customers(first: 10) {{ edges {{ node {{ {node} }} }} }} }}"
    # Per customer: edges, node, contacts, phones, number, tags, key; and the record itself.
    assert cost_of(schema, query) == Cost(fields=1 + 10 * (7 + RECORD_WEIGHT), upstream_calls=6)


def test_list_sizes_come_from_first_and_ids(schema: GraphQLSchema) -> None:
    page = cost_of(schema, "{ customers(first: 50) { edges { node { id } } } }")
    assert page == Cost(fields=1 + 50 * (3 + RECORD_WEIGHT), upstream_calls=6)
    default = cost_of(schema, "{ customers { edges { node { id } } } }")
    assert default == Cost(fields=1 + 20 * (3 + RECORD_WEIGHT), upstream_calls=6)
    nodes = cost_of(schema, '{ nodes(ids: ["a", "b", "c"]) { id } }')
    assert nodes == Cost(fields=1 + 3 * (1 + RECORD_WEIGHT), upstream_calls=3)


async def test_a_browser_may_ask_for_the_cost() -> None:
    settings = Settings(cors_origins=("https://app.example.com",))
    async with gateway_client(settings) as gateway:
        response = await gateway.http.options(
            "/graphql",
            headers={
                "origin": "https://app.example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "x-gateway-cost",
            },
        )
    assert response.status_code == 200
    assert "X-Gateway-Cost" in response.headers["access-control-allow-headers"]


def test_links_charge_each_account_s_index_once_per_operation(schema: GraphQLSchema) -> None:
    """`sameAs` may read each account whole the first time (docs/links.md): up to the scan
    bound's pages per account, once per operation however many customers or levels ask."""
    plain = cost_of(schema, "{ customers(first: 20) { edges { node { id } } } }")
    linked = cost_of(
        schema,
        """{ customers(first: 20) { edges { node { id
             sameAs { evidence customer { id sameAs { evidence } } } } } }
           a: nodes(ids: ["x"]) { ... on Customer { sameAs { evidence } } } }""",
    )
    fragment = cost_of(
        schema,
        """query { customer(id: "x") { ...Links } }
           fragment Links on Customer { sameAs { evidence } }""",
    )
    assert plain is not None
    assert linked is not None
    assert fragment is not None
    index = PROVIDERS * LIMITS.max_filter_scan_pages
    assert linked.upstream_calls == plain.upstream_calls + 1 + index
    assert fragment.upstream_calls == 1 + index


async def test_the_index_charge_counts_the_caller_s_accounts(gateway: GatewayClient) -> None:
    body = await gateway.query(
        "{ customers(first: 5) { edges { node { sameAs { evidence } } } } }", headers=REPORT
    )
    cost = body["extensions"]["cost"]
    # The demo tenant: one account at each of three providers.
    assert cost["estimated"]["upstreamCalls"] == 3 * 2 + 3 * LIMITS.max_filter_scan_pages
