"""The Strawberry schema: the one place the GraphQL surface is assembled."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from resolvers.query import Query
from resolvers.types.customer import CodatCustomer, LagoCustomer, LayerCustomer


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback. Most are answers (bad input, a
        # provider down); gateway.errors_format logs the unexpected ones, once.
        return None


def build_schema() -> strawberry.Schema:
    return GatewaySchema(
        query=Query,
        types=[LayerCustomer, CodatCustomer, LagoCustomer],
        # Factories: each request gets its own extension; the LRU caches behind them are shared.
        extensions=[partial(ParserCache, maxsize=256), partial(ValidationCache, maxsize=256)],
    )


__all__ = ["build_schema"]
