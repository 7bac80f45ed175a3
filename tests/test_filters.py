"""Each filter against each provider: the same customers whether or not it was pushed down."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from gateway.domain.customer import Customer, CustomerStatus, Provider
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.federation import list_customers
from gateway.providers.base import CustomerSource
from sandbox import Sandbox
from tests.support import PROVIDERS, CountingTransport, demo_sources

FILTERS = {
    "search-name": CustomerFilter(search="acme"),
    "search-email": CustomerFilter(search="HOTMAIL"),
    "search-unicode": CustomerFilter(search="ø"),
    "search-reserved": CustomerFilter(search="O'Neil"),
    "name": CustomerFilter(name="pied piper"),
    "name-accented": CustomerFilter(name="Chloé"),
    "email-layer": CustomerFilter(email="John@Hotmail.com"),
    "email-codat": CustomerFilter(email="w.coyote@warnerbros.com"),
    "email-lago": CustomerFilter(email="dinesh@piedpiper.test"),
    "external-id-shared": CustomerFilter(external_id="shared-000"),
    "external-id-layer": CustomerFilter(external_id="customer-1"),
    "status-archived": CustomerFilter(statuses=frozenset({CustomerStatus.ARCHIVED})),
    "status-active": CustomerFilter(statuses=frozenset({CustomerStatus.ACTIVE})),
    "status-deleted": CustomerFilter(statuses=frozenset({CustomerStatus.DELETED})),
    "status-unknown-or-deleted": CustomerFilter(
        statuses=frozenset({CustomerStatus.UNKNOWN, CustomerStatus.DELETED})
    ),
    "modified-since": CustomerFilter(modified_since=datetime(2025, 3, 1, tzinfo=UTC)),
    "combined": CustomerFilter(
        search="a", statuses=frozenset({CustomerStatus.ACTIVE}), modified_since=datetime(2024, 6, 1)
    ),
}


async def collect(source: CustomerSource, filter: CustomerFilter) -> list[Customer]:
    customers, after = [], None
    while True:
        page = await list_customers([source], filter, 100, after)
        assert not page.errors
        customers.extend(e.customer for e in page.edges)
        if not page.has_next_page:
            return customers
        after = page.end_cursor


@pytest.fixture
def counting(sandbox: Sandbox) -> CountingTransport:
    return CountingTransport(httpx.ASGITransport(sandbox.app))


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("name", list(FILTERS))
async def test_filter_gives_the_same_customers_pushed_down_or_not(
    counting: CountingTransport, provider: Provider, name: str
) -> None:
    filter = FILTERS[name]
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        everyone = await collect(demo_sources(http)[provider], EMPTY_FILTER)
        expected = [c.key for c in everyone if filter.matches(c)]
        counting.reset()
        pushed = await collect(demo_sources(http, pushdown=True)[provider], filter)
        pushed_calls = len([r for r in counting.requests if "token" not in r.url.path])
        counting.reset()
        local = await collect(demo_sources(http, pushdown=False)[provider], filter)
        local_calls = len([r for r in counting.requests if "token" not in r.url.path])
    assert [c.key for c in pushed] == expected
    assert [c.key for c in local] == expected
    # Push-down may only save calls, never add them.
    assert pushed_calls <= local_calls


@pytest.mark.parametrize("name", list(FILTERS))
async def test_every_filter_selects_someone(sandbox_http: httpx.AsyncClient, name: str) -> None:
    """Guards the test above against passing on empty results."""
    sources = list(demo_sources(sandbox_http).values())
    page = await list_customers(sources, FILTERS[name], 5, None)
    assert page.edges


async def test_shared_identity_found_in_all_three_providers(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    layer_page = await list_customers(sources, CustomerFilter(external_id="shared-000"), 10, None)
    email = layer_page.edges[0].customer.emails[0]
    page = await list_customers(sources, CustomerFilter(email=email), 10, None)
    assert {e.customer.provider for e in page.edges} == set(PROVIDERS)


async def test_pushdown_reaches_the_provider_query(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = demo_sources(http)
        await list_customers(list(sources.values()), CustomerFilter(name="pied"), 5, None)
    params = {
        p: dict(r.url.params)
        for r in counting.requests
        for p in ("/layer/", "/codat/", "/lago/")
        if p in r.url.path and "token" not in r.url.path
    }
    assert params["/layer/"]["name_contains"] == "pied"
    assert params["/codat/"]["query"] == "{customerName~pied||contactName~pied}"
    assert params["/lago/"]["search_term"] == "pied"


async def test_providers_that_cannot_match_are_not_called(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())
        # Codat keeps no external ids; Layer has no timestamps.
        await list_customers(sources, CustomerFilter(external_id="shared-001"), 5, None)
        assert not counting.calls("/codat/")
        counting.reset()
        await list_customers(sources, CustomerFilter(modified_since=datetime(2025, 1, 1)), 5, None)
        assert not counting.calls("/layer/")
