"""The GraphQL type of Codat's customers: every field of Codat's customer object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain.customer import Customer
from gateway.providers.codat.details import CodatDetails
from resolvers.types.customer import CustomerInterface, common_fields

# Each own field's value from the domain customer, by Python name: `from_domain` and compiled
# operations (resolvers/compiled/) both read them.
_VALUES: Mapping[str, Callable[[Customer], Any]] = {
    name: attrgetter(f"details.{source}")
    for name, source in {
        "customer_name": "customer_name",
        "contact_name": "contact_name",
        "email_address": "email_address",
        "default_currency": "default_currency",
        "phone": "phone",
        "codat_status": "status",
        "is_deleted": "is_deleted",
        "deleted_in_source": "deleted_in_source",
        "supplemental_data": "supplemental_data",
        "modified_date": "modified_date",
        "source_modified_date": "source_modified_date",
        "synced_at": "modified_date",
    }.items()
}


@strawberry.type(description="A customer of a company connected to Codat.")
class CodatCustomer(CustomerInterface):
    customer_name: str | None
    contact_name: str | None
    email_address: str | None
    default_currency: str | None = strawberry.field(
        description="As sent; XXX (no currency) shows here, `currency` is null then."
    )
    phone: str | None
    codat_status: str | None = strawberry.field(
        description="Codat's `status` as sent: Unknown, Active, Archived, or one Codat adds "
        "later (`status` is UNKNOWN then)."
    )
    is_deleted: bool | None = strawberry.field(description="Codat's `metadata.isDeleted`.")
    deleted_in_source: bool | None = strawberry.field(
        description="Whether the record was deleted in the source system: true when Codat "
        "marks it deleted (`isDeleted`, then `status` is DELETED); null when "
        "`sourceModifiedDate` is null, which Codat sends for a record deleted in the source "
        "without a deletion date, but also for a voided one and on platforms that keep no "
        "modification dates; false otherwise."
    )
    supplemental_data: JSON | None = strawberry.field(
        description="Codat's `supplementalData.content`."
    )
    modified_date: datetime | None = strawberry.field(
        description="Codat's `modifiedDate` as sent: the same as `syncedAt`."
    )
    source_modified_date: datetime | None
    synced_at: datetime | None = strawberry.field(
        description="When Codat last fetched the record from the source and changed it in its "
        "cache (`modifiedDate`). `updatedAt` is the source's own change time "
        "(`sourceModifiedDate`), or this when the source's is unknown."
    )

    details: ClassVar[type] = CodatDetails
    # Own fields as domain values, for compiled operations.
    domain_fields: ClassVar[Mapping[str, Callable[[Customer], Any]]] = _VALUES

    @classmethod
    def from_domain(cls, c: Customer) -> CodatCustomer:
        details = c.details
        assert isinstance(details, CodatDetails)
        return cls(**common_fields(c), **{name: value(c) for name, value in _VALUES.items()})


__all__ = ["CodatCustomer"]
