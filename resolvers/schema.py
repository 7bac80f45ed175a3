"""The Strawberry schema: the one place the GraphQL surface and its limits are assembled."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.settings import Settings
from resolvers.limits import limit_extensions
from resolvers.query import Query
from resolvers.types.customer import CodatCustomer, LagoCustomer, LayerCustomer


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback. Most are answers (bad input, a
        # provider down); gateway.errors_format logs the unexpected ones, once.
        return None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        # Factories: each request gets its own extension; the LRU caches behind them are shared.
        partial(ParserCache, maxsize=256),
        # Tokens, then selections, depth and aliases before graphql-core validates (linear,
        # where some validation rules are not), validation through its own cache, then cost.
        *limit_extensions(settings.limits),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        types=[LayerCustomer, CodatCustomer, LagoCustomer],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.mode == "production"),
    )


__all__ = ["build_schema"]
