"""`customers(orderBy:)`: every provider's customers sorted by the gateway, both ways."""

from __future__ import annotations

from datetime import UTC

import httpx
import pytest

from gateway.cache.entry import CachePolicy
from gateway.domain.customer import Customer, CustomerKey
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.domain.order import CustomerOrder, OrderDirection, OrderField
from gateway.errors import InvalidCursor, OrderScanLimit
from gateway.federation import list_customers
from gateway.ordered import list_customers_ordered
from gateway.providers.base import CustomerSource
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import Sandbox
from tests.support import CountingTransport, demo_sources, memory_cache

CACHED = CachePolicy(ttl=300, stale_while_revalidate=0, stale_if_error=0)
ORDERS = [CustomerOrder(f, d) for f in OrderField for d in OrderDirection]
RANK = {LAYER: 0, CODAT: 1, LAGO: 2}


async def everyone(sources: list[CustomerSource]) -> list[Customer]:
    """Every customer, by the unordered walk."""
    found: list[Customer] = []
    after: str | None = None
    while True:
        page = await list_customers(sources, EMPTY_FILTER, 100, after)
        found.extend(e.customer for e in page.edges)
        if not page.has_next_page:
            return found
        after = page.end_cursor


def value(order: CustomerOrder, customer: Customer) -> object:
    if order.field is OrderField.NAME:
        name = customer.display_name
        return (name.casefold(), name) if name else None
    at = customer.created_at if order.field is OrderField.CREATED_AT else customer.updated_at
    return at.astimezone(UTC) if at is not None else None


def expected(order: CustomerOrder, customers: list[Customer]) -> list[CustomerKey]:
    """The documented order, written independently: by value (none last in both directions),
    ties by provider, then account, then id, ascending whatever the direction."""
    tied = sorted(customers, key=lambda c: (RANK[c.key.provider], c.key.account, c.key.native_id))
    valued = [c for c in tied if value(order, c) is not None]
    valued.sort(key=lambda c: value(order, c), reverse=order.descending)  # type: ignore[arg-type, return-value]
    return [c.key for c in valued + [c for c in tied if value(order, c) is None]]


async def walk_ordered(
    sources: list[CustomerSource],
    order: CustomerOrder,
    size: int,
    *,
    backward: bool = False,
    filter: CustomerFilter = EMPTY_FILTER,
) -> list[CustomerKey]:
    pages: list[list[CustomerKey]] = []
    cursor: str | None = None
    while True:
        page = await list_customers_ordered(
            sources, filter, size, cursor, order=order, backward=backward
        )
        assert not page.errors
        assert 0 < len(page.edges) <= size
        pages.append([e.customer.key for e in page.edges])
        more = page.has_previous_page if backward else page.has_next_page
        if not more:
            break
        cursor = page.start_cursor if backward else page.end_cursor
    ordered = reversed(pages) if backward else pages
    return [key for keys in ordered for key in keys]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field.value}-{o.direction.value}")
@pytest.mark.parametrize("size", [7, 50, 100])
async def test_every_page_size_walks_the_same_sorted_sequence(
    sandbox_http: httpx.AsyncClient, order: CustomerOrder, size: int
) -> None:
    sources = list(demo_sources(sandbox_http, cache=memory_cache(CACHED)).values())
    customers = await everyone(sources)
    forward = await walk_ordered(sources, order, size)
    assert len(forward) == len(set(forward)) == len(customers) == 783
    assert {k.provider for k in forward} == {LAYER, CODAT, LAGO}
    assert forward == expected(order, customers)
    assert await walk_ordered(sources, order, size, backward=True) == forward


async def test_the_data_has_ties_and_missing_values_to_place(
    sandbox_http: httpx.AsyncClient,
) -> None:
    """Guards the walk test: ties and nulls are exercised, not merely allowed."""
    customers = await everyone(list(demo_sources(sandbox_http).values()))
    names = [value(ORDERS[0], c) for c in customers if c.display_name]
    assert len(set(names)) < len(names)  # equal names: the tiebreak decides
    for order in ORDERS[2:]:
        # Customers without the date, of more than one provider: their order is the tiebreak's.
        missing = {c.key.provider for c in customers if value(order, c) is None}
        assert len(missing) >= 2, order
    order = CustomerOrder(OrderField.UPDATED_AT, OrderDirection.DESC)
    undated = sum(1 for c in customers if c.updated_at is None)
    tail = (await walk_ordered(list(demo_sources(sandbox_http).values()), order, 100))[-undated:]
    # Layer sends no updatedAt: last, in provider order, ids ascending, as in either direction.
    assert tail[0].provider is LAYER
    assert tail == sorted(tail, key=lambda k: (RANK[k.provider], k.account, k.native_id))


async def test_a_filtered_ordered_walk_sorts_only_the_matches(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http, cache=memory_cache(CACHED)).values())
    filter = CustomerFilter(search="an")
    matches = [c for c in await everyone(sources) if filter.matches(c)]
    order = CustomerOrder(OrderField.NAME, OrderDirection.DESC)
    walked = await walk_ordered(sources, order, 9, filter=filter)
    assert 20 < len(walked) < 783
    assert walked == expected(order, matches)


async def test_turning_round_and_cursors_bound_to_the_order(
    sandbox: Sandbox,
) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http, cache=memory_cache(CACHED)).values())
        asc = CustomerOrder(OrderField.CREATED_AT)
        first = await list_customers_ordered(sources, EMPTY_FILTER, 10, None, order=asc)
        second = await list_customers_ordered(
            sources, EMPTY_FILTER, 10, first.end_cursor, order=asc
        )
        assert (first.has_previous_page, first.has_next_page) == (False, True)
        assert second.has_previous_page is True
        back = await list_customers_ordered(
            sources, EMPTY_FILTER, 10, second.start_cursor, order=asc, backward=True
        )
        assert [e.cursor for e in back.edges] == [e.cursor for e in first.edges]
        assert (back.has_previous_page, back.has_next_page) == (False, True)
        plain = await list_customers(sources, EMPTY_FILTER, 10, None)
        counting.reset()
        refused = [
            list_customers_ordered(
                sources,
                EMPTY_FILTER,
                10,
                first.end_cursor,
                order=CustomerOrder(OrderField.CREATED_AT, OrderDirection.DESC),
            ),
            list_customers_ordered(
                sources, EMPTY_FILTER, 10, first.end_cursor, order=CustomerOrder(OrderField.NAME)
            ),
            list_customers_ordered(
                sources, CustomerFilter(search="a"), 10, first.end_cursor, order=asc
            ),
            list_customers_ordered(
                sources, EMPTY_FILTER, 10, first.end_cursor, order=asc, tenant="x"
            ),
            list_customers_ordered(sources[:2], EMPTY_FILTER, 10, first.end_cursor, order=asc),
            list_customers_ordered(sources, EMPTY_FILTER, 10, plain.end_cursor, order=asc),
            list_customers(sources, EMPTY_FILTER, 10, first.end_cursor),
        ]
        for attempt in refused:
            with pytest.raises(InvalidCursor):
                await attempt
        assert counting.calls() == []  # refused before any provider is asked


async def test_an_ordered_page_reads_every_page_of_every_stream_once(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http, cache=memory_cache(CACHED)).values())
        order = CustomerOrder(OrderField.NAME)
        page = await list_customers_ordered(sources, EMPTY_FILTER, 20, None, order=order)
        # 783 customers, 100 a page: three pages from each of the three providers.
        assert len(counting.calls("/customers")) == 9
        counting.reset()
        await list_customers_ordered(sources, EMPTY_FILTER, 20, page.end_cursor, order=order)
        assert counting.calls("/customers") == []  # the walk on is read from the cache


async def test_a_stream_too_large_to_sort_is_refused_not_sorted_in_part(
    sandbox: Sandbox,
) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())
        with pytest.raises(OrderScanLimit) as refused:
            await list_customers_ordered(
                sources,
                EMPTY_FILTER,
                5,
                None,
                order=CustomerOrder(OrderField.NAME),
                max_scan_pages=2,
            )
        assert refused.value.code == "ORDER_SCAN_LIMIT"
        assert refused.value.extensions()["provider"] in {"LAYER", "CODAT", "LAGO"}
        # Each provider read up to the bound, and no further.
        assert len(counting.calls("/customers")) == 6


async def test_a_failing_provider_leaves_an_ordered_page_empty_with_its_error(
    sandbox: Sandbox,
) -> None:
    """The others' places cannot be known without it, so the page is empty with the failed
    provider's error, never an exception that nulls the whole response."""
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())
        counting.failing.add("/codat")
        order = CustomerOrder(OrderField.NAME, OrderDirection.ASC)
        page = await list_customers_ordered(sources, EMPTY_FILTER, 5, None, order=order)
    assert page.edges == ()
    assert [e.code for e in page.errors] == ["UPSTREAM_UNAVAILABLE"]
    assert page.has_next_page is True
