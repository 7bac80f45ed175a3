"""The domain enums, registered with Strawberry under their GraphQL names.

The classes stay the domain's own (so mypy sees real enums); registering them is the side
effect of importing this module.
"""

from __future__ import annotations

import strawberry

from gateway.domain.customer import (
    AddressType,
    CustomerStatus,
    CustomerType,
    IntegrationKind,
    PhoneType,
    Provider,
)

strawberry.enum(Provider, description="A back office the gateway reads from.")
strawberry.enum(
    CustomerStatus,
    description="ACTIVE and ARCHIVED as the provider says; DELETED when the source system "
    "deleted the record (Codat `metadata.isDeleted`); UNKNOWN when the provider does not say.",
)
strawberry.enum(CustomerType)
strawberry.enum(AddressType)
strawberry.enum(PhoneType)
strawberry.enum(IntegrationKind)

__all__ = [
    "AddressType",
    "CustomerStatus",
    "CustomerType",
    "IntegrationKind",
    "PhoneType",
    "Provider",
]
