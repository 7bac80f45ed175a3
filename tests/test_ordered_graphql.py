"""`customers(orderBy:)` over GraphQL: the argument's shape, its rules, its errors, its cost."""

from __future__ import annotations

from typing import Any

from tests.support import GatewayClient

PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String, $orderBy: CustomerOrder,
       $filter: CustomerFilter) {
  customers(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy,
            filter: $filter) {
    totalCount
    edges { cursor node { id displayName createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
REPORT = {"X-Gateway-Cost": "report"}


def names(body: dict[str, Any]) -> list[str | None]:
    return [e["node"]["displayName"] for e in body["data"]["customers"]["edges"]]


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_ordered_by_name_both_ways_and_back(gateway: GatewayClient) -> None:
    asc = await gateway.query(PAGE, {"first": 30, "orderBy": {"field": "NAME"}})
    assert "errors" not in asc, asc["errors"]
    got = [n for n in names(asc) if n is not None]
    assert len(got) == 30
    assert [n.casefold() for n in got] == sorted(n.casefold() for n in got)
    # Exact even though Layer publishes no total: an ordered page has read every customer.
    assert asc["data"]["customers"]["totalCount"] == 783
    desc = await gateway.query(
        PAGE, {"first": 30, "orderBy": {"field": "NAME", "direction": "DESC"}}
    )
    top = [n.casefold() for n in names(desc) if n is not None]
    assert top == sorted(top, reverse=True)
    assert top[0] >= got[-1].casefold()
    info = asc["data"]["customers"]["pageInfo"]
    onward = await gateway.query(
        PAGE, {"first": 10, "after": info["endCursor"], "orderBy": {"field": "NAME"}}
    )
    back = await gateway.query(
        PAGE,
        {
            "last": 10,
            "before": onward["data"]["customers"]["pageInfo"]["startCursor"],
            "orderBy": {"field": "NAME"},
        },
    )
    assert names(back) == names(asc)[-10:]
    assert back["data"]["customers"]["pageInfo"]["hasPreviousPage"] is True


async def test_cursors_are_bound_to_their_order(gateway: GatewayClient) -> None:
    asc = await gateway.query(PAGE, {"first": 3, "orderBy": {"field": "CREATED_AT"}})
    plain = await gateway.query(PAGE, {"first": 3})
    ordered_cursor = asc["data"]["customers"]["pageInfo"]["endCursor"]
    plain_cursor = plain["data"]["customers"]["pageInfo"]["endCursor"]
    gateway.upstream.reset()
    for variables in (
        {"first": 3, "after": ordered_cursor},
        {"first": 3, "after": ordered_cursor, "orderBy": {"field": "UPDATED_AT"}},
        {
            "first": 3,
            "after": ordered_cursor,
            "orderBy": {"field": "CREATED_AT", "direction": "DESC"},
        },
        {"first": 3, "after": plain_cursor, "orderBy": {"field": "CREATED_AT"}},
        {"last": 3, "before": plain_cursor, "orderBy": {"field": "CREATED_AT"}},
    ):
        body = await gateway.query(PAGE, variables)
        assert code(body) == "INVALID_CURSOR", variables
    assert not gateway.upstream.requests


async def test_a_bad_order_is_bad_user_input(gateway: GatewayClient) -> None:
    for order in ({"field": "EMAIL"}, {"direction": "ASC"}, {"field": "NAME", "direction": "UP"}):
        body = await gateway.query(PAGE, {"first": 3, "orderBy": order})
        assert "data" not in body
        assert code(body) == "BAD_USER_INPUT"
        assert "$orderBy" in body["errors"][0]["message"]
    assert not gateway.upstream.requests


async def test_an_ordered_page_is_costed_as_every_page_of_every_provider(
    gateway: GatewayClient,
) -> None:
    query = "{ customers(first: 5, orderBy: {field: UPDATED_AT}) { edges { node { id } } } }"
    body = (await gateway.http.post("/graphql", json={"query": query}, headers=REPORT)).json()
    assert "errors" not in body, body
    # Up to the scan bound (5) of pages from each of the 3 providers.
    assert body["extensions"]["cost"]["estimated"]["upstreamCalls"] == 15
    # What they were: three pages from each provider, and Layer's token.
    assert body["extensions"]["cost"]["actual"] == {"upstreamCalls": 10}
