"""The Relay connection over GraphQL: pageInfo both ways, argument rules, totalCount."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.domain.provider import Provider
from gateway.errors import TotalCountUnknown
from gateway.providers.base import Page
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.totals import FILTERED, NO_TOTAL, count_customers
from tests.support import GatewayClient

PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String, $providers: [Provider!],
       $filter: CustomerFilter) {
  customers(first: $first, after: $after, last: $last, before: $before,
            providers: $providers, filter: $filter) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
TOTAL = """
query ($providers: [Provider!], $filter: CustomerFilter) {
  customers(first: 5, providers: $providers, filter: $filter) {
    totalCount
    edges { node { id } }
  }
}
"""


def ids(body: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in body["data"]["customers"]["edges"]]


async def test_page_info_both_ways(gateway: GatewayClient) -> None:
    first = await gateway.query(PAGE, {"first": 4})
    info = first["data"]["customers"]["pageInfo"]
    edges = first["data"]["customers"]["edges"]
    assert info == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": edges[0]["cursor"],
        "endCursor": edges[-1]["cursor"],
    }
    second = await gateway.query(PAGE, {"first": 4, "after": info["endCursor"]})
    assert second["data"]["customers"]["pageInfo"]["hasPreviousPage"] is True
    # Relay's loadPrevious: last/before the second page's startCursor.
    start = second["data"]["customers"]["pageInfo"]["startCursor"]
    back = await gateway.query(PAGE, {"last": 4, "before": start})
    assert "errors" not in back
    assert ids(back) == ids(first)
    assert back["data"]["customers"]["pageInfo"] == info | {"hasNextPage": True}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 2, "last": 2}, "page with first/after or with last/before, not both"),
        ({"first": 2, "before": "x"}, "page with first/after or with last/before, not both"),
        ({"last": 2, "after": "x"}, "page with first/after or with last/before, not both"),
        ({"before": "x"}, "before needs last"),
        ({"last": 0}, "last must be between 1 and 100"),
        ({"last": 101}, "last must be between 1 and 100"),
        ({"first": 0}, "first must be between 1 and 100"),
    ],
)
async def test_mixed_or_out_of_range_arguments_are_refused(
    gateway: GatewayClient, variables: dict[str, Any], message: str
) -> None:
    body = await gateway.query(PAGE, variables)
    assert body["data"] is None
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert gateway.upstream.calls("/customers") == []


async def test_a_bad_before_cursor_is_invalid_cursor_without_a_call(
    gateway: GatewayClient,
) -> None:
    body = await gateway.query(PAGE, {"last": 3, "before": "bm90LWEtY3Vyc29y"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    assert gateway.upstream.calls() == []


async def test_total_count_sums_the_providers_that_publish_one(gateway: GatewayClient) -> None:
    body = await gateway.query(TOTAL, {"providers": ["CODAT", "LAGO"]})
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] == 522
    # The count reads each provider's first page, which the page itself just read.
    assert len(gateway.upstream.calls("/customers")) == 2


async def test_total_count_is_null_with_a_reason_when_a_provider_publishes_none(
    gateway: GatewayClient,
) -> None:
    body = await gateway.query(TOTAL)
    assert body["data"]["customers"]["totalCount"] is None
    assert len(ids(body)) == 5
    [error] = body["errors"]
    assert error["path"] == ["customers", "totalCount"]
    assert error["extensions"] == {
        "code": "TOTAL_COUNT_UNKNOWN",
        # Not a server failure: generic tools see the family they know.
        "classification": "BAD_USER_INPUT",
        "providers": [{"provider": "LAYER", "reason": "PROVIDER_PUBLISHES_NO_TOTAL"}],
    }


async def test_a_filter_makes_the_total_unknown(gateway: GatewayClient) -> None:
    body = await gateway.query(TOTAL, {"providers": ["CODAT", "LAGO"], "filter": {"search": "an"}})
    assert body["data"]["customers"]["totalCount"] is None
    reasons = body["errors"][0]["extensions"]["providers"]
    assert reasons == [
        {"provider": "CODAT", "reason": "FILTER_CHECKED_BY_GATEWAY"},
        {"provider": "LAGO", "reason": "FILTER_CHECKED_BY_GATEWAY"},
    ]


async def test_without_total_count_no_count_is_read(gateway: GatewayClient) -> None:
    body = await gateway.query(PAGE, {"first": 3, "providers": ["CODAT"]})
    assert len(ids(body)) == 3
    assert len(gateway.upstream.calls("/customers")) == 1


@dataclass
class Counted:
    """A source whose first page says how many it has (or not)."""

    provider: Provider
    total: int | None
    reads: int = 0
    account: str = "a"

    def can_match(self, filter: CustomerFilter) -> bool:
        return filter.external_id is None or self.provider != CODAT

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        self.reads += 1
        return Page(items=(), next_token=None, total=self.total)


async def test_the_total_is_the_sum_when_every_provider_gives_one() -> None:
    layer, codat, lago = Counted(LAYER, 7), Counted(CODAT, 11), Counted(LAGO, 0)
    sources: list[Any] = [layer, codat, lago]
    assert await count_customers(sources, EMPTY_FILTER) == 18
    assert (layer.reads, codat.reads, lago.reads) == (1, 1, 1)
    # A provider that cannot match is not read and counts nothing; a filter the others are
    # sent makes their counts unknown, without a read.
    with pytest.raises(TotalCountUnknown) as unknown:
        await count_customers(sources, CustomerFilter(external_id="x"))
    assert unknown.value.unknown == {LAYER: FILTERED, LAGO: FILTERED}
    assert (layer.reads, codat.reads, lago.reads) == (1, 1, 1)
    with pytest.raises(TotalCountUnknown) as unknown:
        await count_customers([layer, Counted(LAGO, None)], EMPTY_FILTER)
    assert unknown.value.unknown == {LAGO: NO_TOTAL}
    assert await count_customers([codat], CustomerFilter(external_id="x")) == 0
