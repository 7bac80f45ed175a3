"""Relay connection types for `customers`."""

from __future__ import annotations

import strawberry

from resolvers.types.customer import CustomerInterface


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CustomerEdge:
    cursor: str
    node: CustomerInterface


@strawberry.type(
    description="Customers of every requested provider, interleaved: the n-th customer of each "
    "provider (LAYER, then CODAT, then LAGO) before the (n+1)-th of any, each provider in its "
    "own order. The same walk always gives the same order, each customer once."
)
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo


__all__ = ["CustomerConnection", "CustomerEdge", "PageInfo"]
