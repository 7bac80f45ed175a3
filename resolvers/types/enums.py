"""The domain enums, registered with Strawberry under their GraphQL names.

The classes stay the domain's own (so mypy sees real types); registering them is the side
effect of importing this module. `Provider` is not a closed enum in the domain (a connector
brings its own), so its GraphQL values are the registry's, set by `list_providers` when a
schema is built: each schema converts the values it finds then.
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types.enum import EnumValue, StrawberryEnumDefinition

from gateway.domain.customer import (
    AddressType,
    CustomerStatus,
    CustomerType,
    IntegrationKind,
    PhoneType,
)
from gateway.domain.links import LinkEvidence
from gateway.domain.provider import Provider

_PROVIDER = StrawberryEnumDefinition(
    # Strawberry reads a value back with `Provider(name)` and writes one by its `.value`.
    wrapped_cls=Provider,  # type: ignore[arg-type]
    name="Provider",
    values=[],
    description="A back office the gateway reads from.",
)
# What `strawberry.enum` would set on an Enum class.
type.__setattr__(Provider, "__strawberry_definition__", _PROVIDER)


def list_providers(providers: Sequence[Provider]) -> None:
    """Make the next schema built list exactly `providers` as the Provider enum's values."""
    _PROVIDER.values = [EnumValue(p.value, p.value) for p in providers]


strawberry.enum(
    CustomerStatus,
    description="ACTIVE and ARCHIVED as the provider says; DELETED when the source system "
    "deleted the record (Codat `metadata.isDeleted`); UNKNOWN when the provider does not say.",
)
strawberry.enum(
    CustomerType,
    description="OTHER: a type the provider added after this schema (its own type's field "
    "shows the value as sent).",
)
strawberry.enum(
    AddressType,
    description="UNKNOWN when the provider does not say or sends a type added after this "
    "schema (`providerType` shows it as sent).",
)
strawberry.enum(
    PhoneType,
    description="UNKNOWN when the provider does not say or sends a type added after this "
    "schema (`providerType` shows it as sent).",
)
strawberry.enum(
    IntegrationKind,
    description="OTHER for a system the gateway does not know (`system` names it).",
)
strawberry.enum(
    LinkEvidence,
    description="Why `sameAs` takes two records for one customer (docs/links.md): "
    "EXPLICIT_ID, equal external ids or an integration link naming the other record's id; "
    "TAX_ID, REGISTRATION_NUMBER and EMAIL, equal values once normalised (letters and digits "
    "only, case ignored; emails case-insensitive).",
)

__all__ = [
    "AddressType",
    "CustomerStatus",
    "CustomerType",
    "IntegrationKind",
    "LinkEvidence",
    "PhoneType",
    "Provider",
    "list_providers",
]
