"""A filter the gateway re-checks reads at most `limits.max_filter_scan_pages` pages per
provider per request; the answer says so (FILTER_SCAN_LIMIT) and the cursor resumes the scan."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.domain.customer import Customer, CustomerKey
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.federation import list_customers
from gateway.ids import encode_id
from gateway.providers.base import Page
from gateway.providers.codat import CODAT
from gateway.providers.layer import LAYER
from gateway.settings.model import LimitSettings, Settings
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.providers.fakes import ListingSource
from tests.support import CountingTransport, GatewayClient, demo_sources, gateway_client

TRACE = {"x-gateway-trace": "upstream"}
LAYER_PAGE = """query($after: String, $search: String!) {
  customers(first: 5, providers: [LAYER], filter: {search: $search}, after: $after) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def bounded(pages: int) -> Settings:
    return Settings(limits=LimitSettings(max_filter_scan_pages=pages))


async def layer_page(gateway: GatewayClient, search: str, after: str | None) -> dict[str, Any]:
    gateway.upstream.reset()
    response = await gateway.http.post(
        "/graphql",
        json={"query": LAYER_PAGE, "variables": {"search": search, "after": after}},
        headers=TRACE,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def layer_list_calls(gateway: GatewayClient) -> int:
    return len(gateway.upstream.calls(f"/layer/v1/businesses/{DEMO_ACCOUNT.layer_business_id}/"))


SCAN_LIMIT_ERROR = {
    "message": "LAYER: the filter matched too few customers in the pages read; "
    "page on with endCursor to continue the scan",
    "path": ["customers"],
    "extensions": {"code": "FILTER_SCAN_LIMIT", "provider": "LAYER"},
}


async def test_a_filter_matching_nothing_reads_the_bound_then_says_so() -> None:
    # Layer cannot search upstream, and its 261 customers take 3 pages of 100.
    async with gateway_client(bounded(2)) as gateway:
        first = await layer_page(gateway, "matches-no-one", None)
        assert layer_list_calls(gateway) == 2
        # The ledger agrees: the two pages and Layer's token.
        assert first["extensions"]["upstream"]["calls"] == len(gateway.upstream.requests) == 3
        assert first["errors"] == [SCAN_LIMIT_ERROR]
        assert first["data"]["customers"]["edges"] == []
        assert first["data"]["customers"]["pageInfo"]["hasNextPage"] is True

        after = first["data"]["customers"]["pageInfo"]["endCursor"]
        second = await layer_page(gateway, "matches-no-one", after)
        # Only the page the scan had not read yet.
        assert layer_list_calls(gateway) == 1
        assert "errors" not in second
        assert second["data"]["customers"] == {
            "edges": [],
            "pageInfo": {"hasNextPage": False, "endCursor": after},
        }


async def test_a_filter_matching_deep_in_the_list_pages_on_to_every_match_once(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    everyone = await every_customer(demo_sources(sandbox_http)[LAYER])
    # The email of a customer on the third page, matched by its search.
    search = everyone[250].emails[0]
    expected = [encode_id(c.key) for c in everyone if CustomerFilter(search=search).matches(c)]
    assert expected
    async with gateway_client(bounded(2), sandbox) as gateway:
        found: list[str] = []
        calls: list[int] = []
        codes: list[list[str]] = []
        after: str | None = None
        while True:
            body = await layer_page(gateway, search, after)
            calls.append(layer_list_calls(gateway))
            codes.append([e["extensions"]["code"] for e in body.get("errors", [])])
            connection = body["data"]["customers"]
            found.extend(e["node"]["id"] for e in connection["edges"])
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    assert found == expected
    assert calls == [2, 1]
    assert codes == [["FILTER_SCAN_LIMIT"], []]


@pytest.mark.parametrize("max_pages", [1, 2])
@pytest.mark.parametrize("page_size", [3, 40])
async def test_a_bounded_walk_gives_the_unbounded_sequence(
    sandbox: Sandbox, max_pages: int, page_size: int
) -> None:
    """Three providers filtering in the gateway: the bound changes how many requests a walk
    takes, never which customers it finds or their order."""
    # A handful of matches per provider, spread over its three pages.
    filter = CustomerFilter(search="qu")
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http, pushdown=False).values())
        reference = await walk_keys(sources, filter, page_size, max_pages=100)
        keys: list[CustomerKey] = []
        after: str | None = None
        while True:
            counting.reset()
            page = await list_customers(sources, filter, page_size, after, max_scan_pages=max_pages)
            for provider in ("/layer/", "/codat/", "/lago/"):
                assert len(counting.calls(provider)) <= max_pages
            assert {e.code for e in page.errors} <= {"FILTER_SCAN_LIMIT"}
            keys.extend(e.customer.key for e in page.edges)
            if not page.has_next_page:
                break
            after = page.end_cursor
    assert len(reference) > 2 * 3
    assert keys == reference


class EndlessEmptyPages(ListingSource):
    """A misbehaving provider: empty pages, each promising another."""

    provider = CODAT
    account = "company"

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        self.calls += 1
        return Page((), str(int(token or "1") + 1))


async def test_a_provider_sending_endless_empty_pages_is_read_only_up_to_the_bound() -> None:
    source = EndlessEmptyPages()
    page = await list_customers([source], EMPTY_FILTER, 10, None, max_scan_pages=4)
    assert source.calls == 4
    assert [(e.code, e.provider) for e in page.errors] == [("FILTER_SCAN_LIMIT", CODAT)]
    assert page.has_next_page
    again = await list_customers([source], EMPTY_FILTER, 10, page.end_cursor, max_scan_pages=4)
    assert source.calls == 8
    assert again.has_next_page


async def every_customer(source: Any) -> list[Customer]:
    customers: list[Customer] = []
    after: str | None = None
    while True:
        page = await list_customers([source], EMPTY_FILTER, 100, after)
        assert not page.errors
        customers.extend(e.customer for e in page.edges)
        if not page.has_next_page:
            return customers
        after = page.end_cursor


async def walk_keys(
    sources: Any, filter: CustomerFilter, page_size: int, *, max_pages: int
) -> list[CustomerKey]:
    keys: list[CustomerKey] = []
    after: str | None = None
    while True:
        page = await list_customers(sources, filter, page_size, after, max_scan_pages=max_pages)
        assert not page.errors
        keys.extend(e.customer.key for e in page.edges)
        if not page.has_next_page:
            return keys
        after = page.end_cursor
