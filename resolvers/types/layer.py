"""The GraphQL type of Layer's customers: every field of Layer's customer object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain.customer import Customer
from gateway.providers.layer.details import LayerDetails
from resolvers.types.customer import CustomerInterface, common_fields
from resolvers.types.nested import Tag

# Each own field's value from the domain customer, by Python name: `from_domain` and compiled
# operations (resolvers/compiled/) both read them.
_VALUES: Mapping[str, Callable[[Customer], Any]] = {
    name: attrgetter(f"details.{source}")
    for name, source in {
        "individual_name": "individual_name",
        "layer_company_name": "company_name",
        "layer_email": "email",
        "mobile_phone": "mobile_phone",
        "office_phone": "office_phone",
        "address_string": "address_string",
        "layer_status": "status",
        "memo": "memo",
        "layer_metadata": "metadata",
        "object_type": "type",
    }.items()
}


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
    # Own fields as domain values (nested ones unconverted), for compiled operations.
    domain_fields: ClassVar[Mapping[str, Callable[[Customer], Any]]] = {
        **_VALUES,
        "transaction_tags": attrgetter("tags"),
    }

    @classmethod
    def from_domain(cls, c: Customer) -> LayerCustomer:
        details = c.details
        assert isinstance(details, LayerDetails)
        return cls(
            **common_fields(c),
            **{name: value(c) for name, value in _VALUES.items()},
            transaction_tags=[Tag.from_domain(t) for t in c.tags],
        )


__all__ = ["LayerCustomer"]
