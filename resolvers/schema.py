"""The Strawberry schema: the one place the GraphQL surface and its limits are assembled."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
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

from gateway.domain.provider import Provider
from gateway.providers.registry import default_connectors
from gateway.settings.model import Settings
from resolvers.limits import limit_extensions
from resolvers.query import Query
from resolvers.scopes import apply_field_scopes, root_scopes
from resolvers.subscription import Subscription
from resolvers.types.codat import CodatCustomer
from resolvers.types.customer import ProviderCustomerType, register_customer_types
from resolvers.types.datetime import DATE_TIME
from resolvers.types.enums import list_providers
from resolvers.types.lago import LagoCustomer
from resolvers.types.layer import LayerCustomer

# Parsed documents kept (Strawberry's ParserCache, shared by every cache of this size): the
# compiler parses through the same cache, so a document is parsed and analysed once whichever
# path runs it (resolvers/compiled/operations.py).
PARSER_CACHE_SIZE = 256
# Each registered provider's GraphQL customer type (gateway/providers/registry.py lists the
# providers themselves, in the same order).
CUSTOMER_TYPES: tuple[type[ProviderCustomerType], ...] = (
    LayerCustomer,
    CodatCustomer,
    LagoCustomer,
)


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback. Most are answers (bad input, a
        # provider down); gateway.errors_format logs the unexpected ones, once.
        return None


def build_schema(
    settings: Settings | None = None,
    providers: Sequence[Provider] | None = None,
    customer_types: Sequence[type[ProviderCustomerType]] = CUSTOMER_TYPES,
) -> strawberry.Schema:
    """The schema of `providers` (default: the registry's own; the GraphQL Provider enum),
    whose customers come as `customer_types`, with `settings.auth.field_scopes` applied
    (resolvers/scopes.py: a `ConfigError` for a rule naming no field)."""
    settings = settings or Settings()
    if providers is None:
        providers = [c.provider for c in default_connectors()]
    list_providers(providers)
    register_customer_types(customer_types)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        # Factories: each request gets its own extension; the LRU caches behind them are shared.
        partial(ParserCache, maxsize=PARSER_CACHE_SIZE),
        # Tokens, then selections, depth and aliases before graphql-core validates (linear,
        # where some validation rules are not), validation through its own cache, then cost.
        *limit_extensions(settings.limits, root_scopes(settings.auth.field_scopes)),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    schema = GatewaySchema(
        query=Query,
        subscription=Subscription,
        types=list(customer_types),
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.mode == "production"),
        scalar_overrides={datetime: DATE_TIME},
    )
    if settings.auth.field_scopes:
        # Scoped fields become nullable here; without rules the schema is schema.graphql.
        apply_field_scopes(schema._schema, settings.auth.field_scopes)
    return schema


__all__ = ["CUSTOMER_TYPES", "PARSER_CACHE_SIZE", "build_schema"]
