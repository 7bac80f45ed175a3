"""The Strawberry schema: the one place the GraphQL surface is assembled."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from resolvers.query import Query
from resolvers.types.customer import CodatCustomer, LagoCustomer, LayerCustomer


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        types=[LayerCustomer, CodatCustomer, LagoCustomer],
        # Factories: each request gets its own extension; the LRU caches behind them are shared.
        extensions=[partial(ParserCache, maxsize=256), partial(ValidationCache, maxsize=256)],
    )


__all__ = ["build_schema"]
