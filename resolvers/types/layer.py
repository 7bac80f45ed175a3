"""The GraphQL type of Layer's customers: every field of Layer's customer object."""

from __future__ import annotations

from typing import ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain.customer import Customer
from gateway.providers.layer.details import LayerDetails
from resolvers.types.customer import CustomerInterface, common_fields
from resolvers.types.nested import Tag


@strawberry.type(description="A customer of a Layer business.")
class LayerCustomer(CustomerInterface):
    individual_name: str | None
    layer_company_name: str | None = strawberry.field(description="Layer's `company_name`.")
    layer_email: str | None = strawberry.field(description="Layer's `email`.")
    mobile_phone: str | None
    office_phone: str | None
    address_string: str | None
    layer_status: str | None = strawberry.field(
        description="Layer's `status` as sent (one Layer adds later reads as UNKNOWN in `status`)."
    )
    memo: str | None = strawberry.field(description="Layer's `memo` (older API pages: `notes`).")
    layer_metadata: JSON | None = strawberry.field(description="Layer's `metadata` object.")
    transaction_tags: list[Tag]
    object_type: str | None = strawberry.field(description="Layer's `type`, e.g. CustomerData.")

    details: ClassVar[type] = LayerDetails

    @classmethod
    def from_domain(cls, c: Customer) -> LayerCustomer:
        details = c.details
        assert isinstance(details, LayerDetails)
        return cls(
            **common_fields(c),
            individual_name=details.individual_name,
            layer_company_name=details.company_name,
            layer_email=details.email,
            mobile_phone=details.mobile_phone,
            office_phone=details.office_phone,
            address_string=details.address_string,
            layer_status=details.status,
            memo=details.memo,
            layer_metadata=details.metadata,
            transaction_tags=[Tag.from_domain(t) for t in c.tags],
            object_type=details.type,
        )


__all__ = ["LayerCustomer"]
