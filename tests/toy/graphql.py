"""The toy provider's GraphQL type: the common fields, and its two own ones."""

from __future__ import annotations

from typing import ClassVar

import strawberry

from gateway.domain.customer import Customer
from resolvers.types.customer import CustomerInterface, common_fields
from tests.toy.connector import ToyDetails


@strawberry.type(description="A customer of a toy shop (tests only).")
class ToyCustomer(CustomerInterface):
    toy_name: str
    shop_id: str

    details: ClassVar[type] = ToyDetails

    @classmethod
    def from_domain(cls, c: Customer) -> ToyCustomer:
        details = c.details
        assert isinstance(details, ToyDetails)
        return cls(**common_fields(c), toy_name=details.name, shop_id=details.shop_id)


__all__ = ["ToyCustomer"]
