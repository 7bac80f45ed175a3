"""The hardened edge: every bad input is refused with its code, before any provider call."""

from __future__ import annotations

import pytest

from gateway.settings.model import LimitSettings, Settings
from tests.support import GatewayClient, gateway_client

GQL = {"accept": "application/graphql-response+json"}


# customers > edges > node > contacts > address > city: six fields deep.
SIX_DEEP = "{ customers(first: 1) { edges { node { contacts { address { city } } } } } }"
FIVE_DEEP = "{ customers(first: 1) { edges { node { contacts { name } } } } }"


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def tokens(count: int) -> str:
    # 16 tokens of structure, then one per `id`.
    return "{ customers(first: 1) { edges { node { " + "id " * (count - 16) + "} } } }"


async def refused(
    gateway: GatewayClient, query: str, variables: dict[str, object] | None = None
) -> str:
    response = await gateway.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=GQL
    )
    body = response.json()
    assert "data" not in body, body
    # GraphQL-over-HTTP: a document over the token limit does not parse (400); every other
    # limit is a validation failure (422).
    too_large = body["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert response.status_code == (400 if too_large else 422)
    assert not gateway.upstream.requests
    code: str = body["errors"][0]["extensions"]["code"]
    return code


async def accepted(gateway: GatewayClient, query: str) -> None:
    response = await gateway.http.post("/graphql", json={"query": query}, headers=GQL)
    assert response.status_code == 200, response.json()
    assert "errors" not in response.json()


async def test_depth_at_the_limit_passes_and_one_more_fails() -> None:
    # Strawberry counts depth from 0 at the root field, so SIX_DEEP is depth 5; the schema
    # nests no deeper, so the default limit (8) is tested lowered to 4.
    async with gateway_client(Settings(limits=LimitSettings(max_depth=4))) as gateway:
        assert await refused(gateway, SIX_DEEP) == "QUERY_TOO_DEEP"
        await accepted(gateway, FIVE_DEEP)


async def test_15_aliases_pass_and_16_fail(gateway: GatewayClient) -> None:
    await accepted(gateway, aliases(15))
    assert await refused(gateway, aliases(16)) == "TOO_MANY_ALIASES"


async def test_2000_tokens_parse_and_2001_do_not(gateway: GatewayClient) -> None:
    # 2000 tokens get past the parser; graphql-core's own validation budget then refuses
    # 1984 copies of one field, which is beside the point here.
    assert await refused(gateway, tokens(2000)) == "GRAPHQL_VALIDATION_FAILED"
    assert await refused(gateway, tokens(2001)) == "QUERY_TOO_LARGE"


async def test_documents_over_15000_characters_are_refused_unparsed(gateway: GatewayClient) -> None:
    query = "{ __typename }" + " " * 15_000
    assert await refused(gateway, query) == "QUERY_TOO_LARGE"


async def test_a_fragment_cycle_is_refused(gateway: GatewayClient) -> None:
    query = """
      query { customers(first: 1) { edges { node { ...A } } } }
      fragment A on Customer { ...B }
      fragment B on Customer { ...A }
    """
    assert await refused(gateway, query) == "GRAPHQL_VALIDATION_FAILED"


async def test_100_repeated_directives_are_refused(gateway: GatewayClient) -> None:
    query = "{ __typename " + "@include(if: true) " * 100 + "}"
    assert await refused(gateway, query) == "GRAPHQL_VALIDATION_FAILED"


async def test_wrong_variables_are_refused(gateway: GatewayClient) -> None:
    query = "query($n: Int!) { customers(first: $n) { edges { cursor } } }"
    assert await refused(gateway, query, {"n": "many"}) == "BAD_USER_INPUT"
    assert await refused(gateway, query, {}) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        # Fifteen pages of 100 customers, each with nested lists.
        "{ "
        + " ".join(
            f"c{i}: customers(first: 100) {{ edges {{ node {{ addresses {{ city }} "
            "contacts { name phones { number } } tags { key } } } }"
            for i in range(15)
        )
        + " }",
        # A page so large that it alone is too costly.
        "{ customers(first: 100000) { edges { node { displayName } } } }",
    ],
)
async def test_costly_queries_are_refused_before_any_call(
    gateway: GatewayClient, query: str
) -> None:
    assert await refused(gateway, query) == "QUERY_TOO_COSTLY"


async def test_nodes_cost_one_call_per_id(gateway: GatewayClient) -> None:
    query = "query($ids: [ID!]!) { a: nodes(ids: $ids) { id } b: nodes(ids: $ids) { id } }"
    ids = [f"id-{i}" for i in range(70)]
    assert await refused(gateway, query, {"ids": ids}) == "QUERY_TOO_COSTLY"


async def test_production_hides_the_schema_and_suggestions() -> None:
    async with gateway_client(Settings(mode="production")) as gateway:
        assert await refused(gateway, "{ __schema { types { name } } }") == "INTROSPECTION_DISABLED"
        assert (
            await refused(gateway, '{ __type(name: "Customer") { name } }')
            == "INTROSPECTION_DISABLED"
        )
        response = await gateway.http.post("/graphql", json={"query": "{ customerz { id } }"})
        assert "Did you mean" not in response.text
        await accepted(gateway, "{ __typename }")


async def test_development_keeps_introspection_and_suggestions(gateway: GatewayClient) -> None:
    await accepted(gateway, "{ __schema { queryType { name } } }")
    response = await gateway.http.post("/graphql", json={"query": "{ customerz { id } }"})
    assert "Did you mean" in response.text


async def test_unexpected_errors_are_masked(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A provider answering with JSON of an unexpected shape is handled; here we break the
    # gateway itself by asking a scalar field to serialise something it cannot.
    from graphql import GraphQLError

    from gateway.http.errors import INTERNAL_MESSAGE, format_error

    error = GraphQLError("boom", path=["customers"], original_error=KeyError("secret-detail"))
    formatted = format_error(error, "req-1")
    assert formatted == {
        "message": INTERNAL_MESSAGE,
        "path": ["customers"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    assert "secret-detail" not in str(formatted)
    assert "req-1" in caplog.text
