"""Document analysis: linear in the document, refusing over-large expansions before
graphql-core validates them, and costing the values that will run."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from graphql import GraphQLSchema, parse

from gateway.settings.model import LimitSettings, Settings
from resolvers.limits.analysis import DocumentAnalysis, analyse
from resolvers.limits.cost import RECORD_WEIGHT, Cost, estimate, type_coverage
from resolvers.schema import build_schema
from tests.support import GatewayClient, gateway_client

GQL = {"accept": "application/graphql-response+json"}
TRACE = {**GQL, "x-gateway-trace": "upstream"}
PAGE = "edges { node { displayName } }"
# A request refused before execution by validation or a limit (GraphQL-over-HTTP: 422 for a
# document that parsed but is not run; the parse-level refusals are 400).
REFUSED = 422


def doubling(count: int, *, spread: bool = True) -> str:
    """`count` fragments, each spreading the one before twice: 2**count leaves, ~8 tokens each."""
    fragments = ["fragment F0 on Customer { id displayName }"]
    fragments += [
        f"fragment F{i} on Customer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, count)
    ]
    below = f"...F{count - 1}" if spread else "id"
    operation = f"query {{ customers(first: 1) {{ edges {{ node {{ {below} }} }} }} }}"
    return "\n".join([operation, *fragments])


COVERS = type_coverage(build_schema(Settings())._schema)


def analysis_of(query: str) -> DocumentAnalysis:
    return analyse(parse(query), covers=COVERS)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(Settings())._schema


def cost_of(
    schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None
) -> Cost | None:
    return estimate(analysis_of(query), schema, variables, None, default_page_size=20)


async def post(
    gateway: GatewayClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    response = await gateway.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=TRACE
    )
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def refusal_code(status: int, body: dict[str, Any], gateway: GatewayClient) -> str:
    assert status == REFUSED, body
    assert "data" not in body, body
    assert not gateway.upstream.requests
    code: str = body["errors"][0]["extensions"]["code"]
    return code


# Linearity, counted.


def test_visits_grow_linearly_with_chained_fragments() -> None:
    visits = {n: analysis_of(doubling(n)).visits for n in (10, 20, 40)}
    # Each fragment holds two spreads: twice the fragments, about twice the visits, where a
    # walk that re-expands every spread would visit 2**n leaves.
    assert visits[20] <= 2 * visits[10] + 4
    assert visits[40] <= 2 * visits[20] + 4
    assert visits[40] < 200


def test_the_expansion_is_counted_without_being_walked() -> None:
    analysis = analysis_of(doubling(20))
    # F0's two fields, 2**19 times over once every spread is replaced in place, below
    # customers, edges and node (a leaf is depth 0, so node's leaves make depth 3).
    assert analysis.selections == 3 + 2 * 2**19
    assert analysis.depth == 3
    assert analysis.visits < 100


def test_unknown_fragments_and_cycles_count_as_nothing() -> None:
    unknown = analysis_of("{ customers { edges { node { ...Missing } } } }")
    assert (unknown.depth, unknown.selections) == (3, 3)
    cycle = analysis_of(
        "{ customers { edges { node { ...A } } } }\n"
        "fragment A on Customer { id ...B }\n"
        "fragment B on Customer { displayName ...A }"
    )
    assert cycle.depth == 3
    assert cycle.selections == 5
    assert cycle.cyclic
    assert not unknown.cyclic
    assert not analysis_of(doubling(5)).cyclic


def test_depth_and_aliases_count_through_fragments_and_inline_fragments() -> None:
    analysis = analysis_of(
        "{ customers { edges { ... on CustomerEdge { node { ...Deep } } } } }\n"
        "fragment Deep on Customer { a: contacts { b: address { c: city } } }"
    )
    # customers > edges > node > contacts > address > city, counted from 0 at the root.
    assert analysis.depth == 5
    assert analysis.aliases == 3


# The edge, through the HTTP app.


async def test_a_doubling_document_is_refused_before_validation(gateway: GatewayClient) -> None:
    status, body = await post(gateway, doubling(20))
    assert refusal_code(status, body, gateway) == "SELECTION_TOO_LARGE"
    assert len(body["errors"]) == 1


async def test_an_unspread_doubling_fragment_is_refused_too(gateway: GatewayClient) -> None:
    status, body = await post(gateway, doubling(20, spread=False))
    assert refusal_code(status, body, gateway) == "SELECTION_TOO_LARGE"


async def test_the_selection_bound_is_exact() -> None:
    # customers, edges, node and then `count` leaves.
    def flat(count: int) -> str:
        fields = " ".join(f"f{i}: id" for i in range(count))
        return f"{{ customers(first: 1) {{ edges {{ node {{ {fields} }} }} }} }}"

    limits = LimitSettings(max_selections=100, max_aliases=200)
    async with gateway_client(Settings(limits=limits)) as gateway:
        status, body = await post(gateway, flat(97))
        assert status == 200, body
        assert "errors" not in body
        gateway.upstream.reset()
        status, body = await post(gateway, flat(98))
        assert refusal_code(status, body, gateway) == "SELECTION_TOO_LARGE"
        assert body["errors"][0]["message"] == (
            "The query expands to 101 selections once its fragments are spread; the limit is 100."
        )


@pytest.mark.parametrize(
    "query",
    [
        "{ customers(first: 1) { edges { node { ...Missing } } } }",
        "{ customers(first: 1) { edges { node { ...A } } } }\n"
        "fragment A on Customer { id ...B }\n"
        "fragment B on Customer { displayName ...A }",
        "{ customers(first: 1) { edges { node { ...F0 } } } }\n"
        + "\n".join(
            f"fragment F{i} on Customer {{ id ...F{(i + 1) % 30} ...F{(i + 1) % 30} }}"
            for i in range(30)
        ),
    ],
    ids=["unknown fragment", "fragment cycle", "doubling cycle"],
)
async def test_bad_fragments_are_validation_errors_without_a_traceback(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    with caplog.at_level(logging.INFO):
        status, body = await post(gateway, query)
    assert refusal_code(status, body, gateway) == "GRAPHQL_VALIDATION_FAILED"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_depth_counts_through_fragments_and_inline_fragments() -> None:
    query = (
        "{ customers(first: 1) { edges { ... on CustomerEdge { node { ...C } } } } }\n"
        "fragment C on Customer { contacts { address { city } } }"
    )
    async with gateway_client(Settings(limits=LimitSettings(max_depth=4))) as gateway:
        status, body = await post(gateway, query)
        assert refusal_code(status, body, gateway) == "QUERY_TOO_DEEP"


async def test_aliases_count_at_each_spread(gateway: GatewayClient) -> None:
    eight = " ".join(f"a{i}: __typename" for i in range(8))
    query = f"{{ ...Q ... on Query {{ ...Q }} }}\nfragment Q on Query {{ {eight} }}"
    status, body = await post(gateway, query)
    assert refusal_code(status, body, gateway) == "TOO_MANY_ALIASES"
    assert body["errors"][0]["message"] == "16 aliases found. Allowed: 15"


async def test_the_validation_cache_still_hits(gateway: GatewayClient) -> None:
    from resolvers.limits.validation import validation_cache_info

    query = "{ customers(first: 2) { edges { cursor } } }"
    await post(gateway, query)
    hits = validation_cache_info().hits
    status, _ = await post(gateway, query)
    assert status == 200
    assert validation_cache_info().hits == hits + 1


async def test_a_repeated_document_is_analysed_once(gateway: GatewayClient) -> None:
    from resolvers.limits.analyses import ANALYSES

    query = "{ customers(first: 3) { edges { cursor } } }"
    await post(gateway, query)
    misses = ANALYSES.misses
    status, _ = await post(gateway, query)
    assert status == 200
    assert ANALYSES.misses == misses


# Costs from the values that will run.

# Fifteen pages, each within max_page_size, of customers with nested lists: too costly at 100
# a page, admitted at the default page size of 20.
NESTED = "edges { node { addresses { city } contacts { name phones { number } } tags { key } } }"


def fifteen_pages(first: str, declaration: str = "") -> str:
    pages = " ".join(f"c{i}: customers(first: {first}) {{ {NESTED} }}" for i in range(15))
    return f"query{declaration} {{ {pages} }}"


async def test_a_costly_default_is_refused_like_the_literal(gateway: GatewayClient) -> None:
    messages = []
    for query, variables in (
        (fifteen_pages("100"), None),
        (fifteen_pages("$n", "($n: Int = 100)"), None),
        (fifteen_pages("$n", "($n: Int)"), {"n": 100}),
    ):
        status, body = await post(gateway, query, variables)
        assert refusal_code(status, body, gateway) == "QUERY_TOO_COSTLY"
        messages.append(body["errors"][0]["message"])
    assert messages[0] == messages[1] == messages[2]
    # 1,500 records of 20 fields' weight and 10 selected: far more reads than one full page.
    assert "about 45015 fields and 90 provider calls" in messages[0]


async def test_undeclared_variables_change_nothing(gateway: GatewayClient) -> None:
    query = f"query($n: Int = 2) {{ customers(first: $n) {{ {PAGE} }} }}"
    status, body = await post(gateway, query, {"m": 100000})
    assert status == 200, body
    assert len(body["data"]["customers"]["edges"]) == 2


def test_literal_default_and_variable_cost_the_same(schema: GraphQLSchema) -> None:
    literal = cost_of(schema, f"{{ customers(first: 100) {{ {PAGE} }} }}")
    default = cost_of(schema, f"query($n: Int = 100) {{ customers(first: $n) {{ {PAGE} }} }}")
    variable = cost_of(
        schema, f"query($n: Int = 5) {{ customers(first: $n) {{ {PAGE} }} }}", {"n": 100}
    )
    # customers, then per customer its record's weight, edges, node and displayName.
    assert (
        literal
        == default
        == variable
        == Cost(fields=1 + 100 * (RECORD_WEIGHT + 3), upstream_calls=6)
    )


def test_a_single_value_counts_as_a_list_of_one(schema: GraphQLSchema) -> None:
    one = Cost(fields=2 + RECORD_WEIGHT, upstream_calls=1)
    assert cost_of(schema, '{ nodes(ids: "x") { id } }') == one
    assert cost_of(schema, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": "x"}) == one
    assert cost_of(schema, 'query($ids: [ID!]! = "x") { nodes(ids: $ids) { id } }') == one
    layer_only = cost_of(schema, f"{{ customers(first: 1, providers: LAYER) {{ {PAGE} }} }}")
    assert layer_only is not None
    assert layer_only.upstream_calls == 2


def test_variables_the_operation_does_not_declare_are_ignored(schema: GraphQLSchema) -> None:
    query = f"query($n: Int = 10) {{ customers(first: $n) {{ {PAGE} }} }}"
    assert cost_of(schema, query, {"m": 100000, "ids": ["a"] * 50}) == cost_of(schema, query)


def test_root_fragments_are_costed_once_per_spread(schema: GraphQLSchema) -> None:
    query = (
        "{ ...R ... on Query { ...R } }\n"
        'fragment R on Query { node(id: "a") { id } nodes(ids: ["b", "c"]) { id } }'
    )
    node = 2 + RECORD_WEIGHT
    nodes = 1 + 2 * (1 + RECORD_WEIGHT)
    assert cost_of(schema, query) == Cost(fields=2 * (node + nodes), upstream_calls=2 * 3)


def test_variables_that_do_not_coerce_leave_the_refusal_to_execution(
    schema: GraphQLSchema,
) -> None:
    query = f"query($n: Int!) {{ customers(first: $n) {{ {PAGE} }} }}"
    assert cost_of(schema, query, {"n": "many"}) is None


# graphql-core's field-merging rule, bounded.


def repeated(count: int) -> str:
    return "{ customers(first: 1) { edges { node { " + "id " * count + "} } } }"


async def test_fields_repeated_past_the_merge_budget_are_refused(gateway: GatewayClient) -> None:
    # 153 selections pass the selection bound, but comparing 150 copies pairwise spends
    # ~22,000 units of graphql-core's field-merging work (its own budget is 500,000).
    status, body = await post(gateway, repeated(150))
    assert refusal_code(status, body, gateway) == "GRAPHQL_VALIDATION_FAILED"
    assert body["errors"] == [
        {"message": "Validation aborted.", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]


async def test_fragments_sharing_fields_as_clients_write_them_pass(gateway: GatewayClient) -> None:
    fragments = "\n".join(
        f"fragment C{i} on Customer {{ id __typename displayName email }}" for i in range(30)
    )
    spreads = " ".join(f"...C{i}" for i in range(30))
    status, body = await post(
        gateway, f"{{ customers(first: 2) {{ edges {{ node {{ {spreads} }} }} }} }}\n{fragments}"
    )
    assert status == 200, body
    assert "errors" not in body
    assert len(body["data"]["customers"]["edges"]) == 2


def test_a_backward_page_costs_what_a_forward_page_of_that_size_costs(
    schema: GraphQLSchema,
) -> None:
    forward = cost_of(schema, f"{{ customers(first: 80) {{ {PAGE} }} }}")
    backward = cost_of(schema, f'{{ customers(last: 80, before: "c") {{ {PAGE} }} }}')
    assert forward is not None
    assert backward == forward
    assert forward != cost_of(schema, f"{{ customers {{ {PAGE} }} }}")
