"""The Strawberry schema: the one place the GraphQL surface and its limits are assembled."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.settings import Settings
from resolvers.limits import CostLimiter
from resolvers.query import Query
from resolvers.types.customer import CodatCustomer, LagoCustomer, LayerCustomer


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback. Most are answers (bad input, a
        # provider down); gateway.errors_format logs the unexpected ones, once.
        return None


def _limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    depth = QueryDepthLimiter(max_depth=max_depth)
    aliases = MaxAliasesLimiter(max_alias_count=max_aliases)
    return [*depth.validation_rules, *aliases.validation_rules]


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    limits = settings.limits
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        partial(
            CostLimiter,
            max_fields=limits.max_fields,
            max_upstream_calls=limits.max_upstream_calls,
            default_page_size=limits.default_page_size,
        ),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        # Factories: each request gets its own extension; the LRU caches behind them are shared.
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        # The depth and alias limiters build a new rule class per instance, and the validation
        # cache keys on the rules: build them once, or every request validates afresh.
        partial(AddValidationRules, _limit_rules(limits.max_depth, limits.max_aliases)),
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
