"""Relay connection types for `customers`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from resolvers.types.customer import CustomerInterface


@strawberry.type(description="Relay's page information (Cursor Connections Specification).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="Whether customers come before this page. Paging forwards, true when "
        "`after` was given and customers were shown before it; paging backwards, whether "
        "customers come before the first edge."
    )
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class CustomerEdge:
    cursor: str
    node: CustomerInterface


@strawberry.type(
    description="Customers of every requested provider, interleaved: the n-th customer of each "
    "provider (LAYER, then CODAT, then LAGO) before the (n+1)-th of any, each provider in its "
    "own order; with `orderBy`, sorted across all of them instead. The same walk always gives "
    "the same order, each customer once, forwards (`first`/`after`) and backwards "
    "(`last`/`before`)."
)
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    # Counted only when asked for: one first-page read per provider, usually a cache hit.
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many customers match in all, when every requested provider publishes "
        "an exact count (Codat, Lago; Layer only when it sends one). Otherwise null with a "
        "TOTAL_COUNT_UNKNOWN error naming each provider and why: it publishes no total, or the "
        "filter is re-checked by the gateway so the provider's count may be too high."
    )
    async def total_count(self) -> int | None:
        return await self.count()


__all__ = ["CustomerConnection", "CustomerEdge", "PageInfo"]
