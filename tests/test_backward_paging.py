"""`last`/`before` over the federated merge: the forward sequence, walked backwards."""

from __future__ import annotations

import httpx
import pytest

from gateway.backward import list_customers_before
from gateway.cache.entry import CachePolicy
from gateway.domain.customer import CustomerKey
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.errors import BackwardScanLimit, InvalidCursor
from gateway.federation import list_customers
from gateway.providers.base import CustomerSource
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import Sandbox
from tests.support import CountingTransport, demo_sources, memory_cache, walk

CACHED = CachePolicy(ttl=300, stale_while_revalidate=0, stale_if_error=0)


async def walk_back(
    sources: list[CustomerSource], filter: CustomerFilter, page_size: int
) -> list[CustomerKey]:
    """Every customer, from the last page back to the first, in forward order."""
    pages: list[list[CustomerKey]] = []
    before: str | None = None
    while True:
        page = await list_customers_before(sources, filter, page_size, before)
        assert not page.errors
        assert len(page.edges) <= page_size
        pages.append([e.customer.key for e in page.edges])
        if not page.has_previous_page:
            return [key for keys in reversed(pages) for key in keys]
        assert page.edges, "a page that promises more must not be empty"
        before = page.start_cursor


@pytest.mark.parametrize("page_size", [1, 13, 50, 100])
async def test_backwards_gives_the_forward_sequence(
    sandbox_http: httpx.AsyncClient, page_size: int
) -> None:
    sources = list(demo_sources(sandbox_http, cache=memory_cache(CACHED)).values())
    forward = await walk(sources, EMPTY_FILTER, 50)
    if page_size == 1:
        # One customer a page from the end would re-read 783 times: a stretch shows it.
        page = await list_customers(sources, EMPTY_FILTER, 40, None)
        keys, before = [], page.end_cursor
        for _ in range(39):
            back = await list_customers_before(sources, EMPTY_FILTER, 1, before)
            keys.insert(0, back.edges[0].customer.key)
            before = back.start_cursor
        assert keys == forward[:39]
        assert not back.has_previous_page
        return
    backward = await walk_back(sources, EMPTY_FILTER, page_size)
    assert len(backward) == 783
    assert {k.provider for k in backward} == {LAYER, CODAT, LAGO}
    assert backward == forward


async def test_a_filtered_walk_is_the_same_both_ways(sandbox_http: httpx.AsyncClient) -> None:
    sources = list(demo_sources(sandbox_http, cache=memory_cache(CACHED)).values())
    filter = CustomerFilter(search="an")
    forward = await walk(sources, filter, 9)
    assert 20 < len(forward) < 783
    assert await walk_back(sources, filter, 9) == forward
    assert await walk_back(sources, filter, 64) == forward


async def test_edges_before_a_cursor_carry_the_forward_cursors(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http, cache=memory_cache(CACHED)).values())
    first = await list_customers(sources, EMPTY_FILTER, 10, None)
    second = await list_customers(sources, EMPTY_FILTER, 10, first.end_cursor)
    assert first.has_previous_page is False
    assert first.start_cursor == first.edges[0].cursor
    assert second.has_previous_page is True
    assert second.start_cursor == second.edges[0].cursor
    # Before the second page's first edge: the first page again, with the same cursors.
    before_second = await list_customers_before(sources, EMPTY_FILTER, 10, second.edges[0].cursor)
    assert [e.customer.key for e in before_second.edges] == [e.customer.key for e in first.edges]
    assert [e.cursor for e in before_second.edges] == [e.cursor for e in first.edges]
    # Turning round: forward from a backward page's end is the forward walk's next page.
    onward = await list_customers(sources, EMPTY_FILTER, 10, before_second.end_cursor)
    assert [e.customer.key for e in onward.edges] == [e.customer.key for e in second.edges]
    assert before_second.has_previous_page is False
    assert before_second.has_next_page is True


async def test_a_backward_page_reads_each_provider_up_to_the_cursor_only(
    sandbox: Sandbox,
) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())  # nothing cached
        page = await list_customers(sources, EMPTY_FILTER, 6, None)
        counting.reset()
        back = await list_customers_before(sources, EMPTY_FILTER, 3, page.end_cursor)
        assert [e.customer.key for e in back.edges] == [e.customer.key for e in page.edges[2:5]]
        # One first page per provider: two customers each are before the cursor.
        assert len(counting.calls("/customers")) == 3
        counting.reset()
        # Past 100 customers each, the second page of every provider is read too.
        deep = await list_customers(sources, EMPTY_FILTER, 100, None)
        for _ in range(3):
            deep = await list_customers(sources, EMPTY_FILTER, 100, deep.end_cursor)
        counting.reset()
        await list_customers_before(sources, EMPTY_FILTER, 5, deep.end_cursor)
        assert len(counting.calls("/customers")) == 6


async def test_the_end_of_the_list_reads_every_provider_to_its_end(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    forward = await walk(sources, EMPTY_FILTER, 100)
    tail = await list_customers_before(sources, EMPTY_FILTER, 4, None)
    assert [e.customer.key for e in tail.edges] == forward[-4:]
    assert tail.has_previous_page is True
    assert tail.has_next_page is False
    assert tail.end_cursor == tail.edges[-1].cursor


async def test_a_cursor_past_the_scan_bound_is_refused_not_answered_short(
    sandbox_http: httpx.AsyncClient,
) -> None:
    sources = list(demo_sources(sandbox_http).values())
    page = await list_customers(sources, EMPTY_FILTER, 100, None)
    for _ in range(3):
        page = await list_customers(sources, EMPTY_FILTER, 100, page.end_cursor)
    # 400 customers in, each provider is on its second upstream page: one is not enough.
    with pytest.raises(BackwardScanLimit) as refused:
        await list_customers_before(sources, EMPTY_FILTER, 10, page.end_cursor, max_scan_pages=1)
    assert refused.value.provider == LAYER
    assert (await list_customers_before(sources, EMPTY_FILTER, 10, page.end_cursor)).edges


async def test_a_forged_or_foreign_cursor_is_refused_before_any_call(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())
        page = await list_customers(sources, EMPTY_FILTER, 5, None)
        counting.reset()
        with pytest.raises(InvalidCursor):
            await list_customers_before(sources, EMPTY_FILTER, 5, page.end_cursor + "x")
        with pytest.raises(InvalidCursor):
            await list_customers_before(sources, CustomerFilter(search="a"), 5, page.end_cursor)
        with pytest.raises(InvalidCursor):
            await list_customers_before(sources[:2], EMPTY_FILTER, 5, page.end_cursor)
        assert counting.calls() == []


async def test_the_end_of_a_list_too_long_to_read_back_says_so_in_its_own_words(
    sandbox_http: httpx.AsyncClient,
) -> None:
    """`last` without `before` must read every stream to its end: past the bound, the error
    names the stream and says what to do instead, not a filter that was never given."""
    sources = list(demo_sources(sandbox_http).values())
    with pytest.raises(BackwardScanLimit) as refused:
        await list_customers_before(sources, EMPTY_FILTER, 5, None, max_scan_pages=1)
    assert refused.value.code == "BACKWARD_SCAN_LIMIT"
    assert "filter" not in str(refused.value)
    assert refused.value.extensions()["provider"] in ("LAYER", "CODAT", "LAGO")


async def test_a_failing_provider_costs_a_backward_page_only_its_own_customers_place(
    sandbox: Sandbox,
) -> None:
    """A backward page cannot place the others' customers without the failed provider, so it
    is empty with that provider's error: the field stays, and so do its siblings."""
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sandbox.invalid") as http:
        sources = list(demo_sources(http).values())
        counting.failing.add("/lago")
        page = await list_customers_before(sources, EMPTY_FILTER, 5, None)
    assert page.edges == ()
    assert [e.code for e in page.errors] == ["UPSTREAM_UNAVAILABLE"]
    assert page.has_previous_page is True
