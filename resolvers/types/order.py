"""The `CustomerOrder` input of `customers(orderBy:)`, in the shape GitHub's API uses."""

from __future__ import annotations

import strawberry

from gateway.domain.order import CustomerOrder, OrderDirection, OrderField

# Registered under GraphQL names of their own: Relay clients know these from GitHub's schema.
strawberry.enum(
    OrderField,
    name="CustomerOrderField",
    description="NAME: the display name, compared case-insensitively (its first 1,000 "
    "characters); CREATED_AT, UPDATED_AT: the customer's dates.",
)
strawberry.enum(OrderDirection, description="ASC: smallest or earliest first; DESC: the reverse.")


@strawberry.input(
    name="CustomerOrder",
    description="How to sort customers across every provider and account. Customers without "
    "the value sort last in both directions; ties go by provider (the Provider enum's order), "
    "then account, then the provider's id, ascending in both directions.",
)
class CustomerOrderInput:
    field: OrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_domain(self) -> CustomerOrder:
        return CustomerOrder(self.field, self.direction)


__all__ = ["CustomerOrderInput"]
