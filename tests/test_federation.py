"""Paging `customers` over several providers: every customer once, same order on every walk."""

from __future__ import annotations

import httpx
import pytest

from gateway.domain.customer import CustomerKey
from gateway.domain.filter import EMPTY_FILTER
from gateway.errors import BadUserInput, InvalidCursor
from gateway.federation import list_customers
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.support import demo_sources, walk


def all_keys(sandbox: Sandbox) -> set[CustomerKey]:
    data = sandbox.data
    return (
        {
            CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, c["id"])
            for c in data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
        }
        | {
            CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, c["id"])
            for c in data.codat_companies[DEMO_ACCOUNT.codat_company_id]
        }
        | {
            CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, c["external_id"])
            for c in data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
        }
    )


@pytest.mark.parametrize("page_size", [7, 33, 100])
async def test_every_customer_exactly_once_in_one_order(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient, page_size: int
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    reference = await walk(sources, EMPTY_FILTER, 50)
    keys = await walk(sources, EMPTY_FILTER, page_size)
    assert len(keys) == len(set(keys)) == 783
    assert set(keys) == all_keys(sandbox)
    # The order is a property of the data, not of the page size.
    assert keys == reference


async def test_single_customer_pages_follow_the_same_order(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    reference = await walk(sources, EMPTY_FILTER, 100)
    keys, after = [], None
    for _ in range(12):
        page = await list_customers(sources, EMPTY_FILTER, 1, after)
        keys.append(page.edges[0].customer.key)
        after = page.end_cursor
    assert keys == reference[:12]


async def test_interleaves_providers_and_drains_the_longest(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    # Drop Layer to 5 customers so the walk must cross from three streams to two.
    business = sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
    del business[5:]
    sources = list(demo_sources(sandbox_http).values())
    keys = await walk(sources, EMPTY_FILTER, 4)
    providers = [k.provider for k in keys]
    assert providers[:6] == [LAYER, CODAT, LAGO] * 2
    assert providers.count(LAYER) == 5
    assert LAYER not in providers[15:]
    assert len(keys) == 5 + 261 + 261


async def test_edge_cursors_resume_right_after_their_edge(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    page = await list_customers(sources, EMPTY_FILTER, 10, None)
    resumed = await list_customers(sources, EMPTY_FILTER, 3, page.edges[4].cursor)
    assert [e.customer.key for e in resumed.edges] == [e.customer.key for e in page.edges[5:8]]


async def test_one_provider_pages_to_its_last_page(sandbox_http: httpx.AsyncClient) -> None:
    sources = demo_sources(sandbox_http)
    keys = await walk([sources[LAGO]], EMPTY_FILTER, 100)
    assert len(keys) == 261
    assert {k.provider for k in keys} == {LAGO}


async def test_a_cursor_from_another_provider_set_is_refused(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = demo_sources(sandbox_http)
    page = await list_customers([sources[LAGO]], EMPTY_FILTER, 2, None)
    with pytest.raises(InvalidCursor, match="another filter, provider set or caller"):
        await list_customers(list(sources.values()), EMPTY_FILTER, 2, page.end_cursor)


@pytest.mark.parametrize("cursor", ["", "not-a-cursor", "eyJ2IjoyfQ", "x" * 5000])
async def test_a_malformed_cursor_is_bad_user_input(
    sandbox_http: httpx.AsyncClient, cursor: str
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    with pytest.raises(BadUserInput, match="Invalid cursor"):
        await list_customers(sources, EMPTY_FILTER, 2, cursor)
