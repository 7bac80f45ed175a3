"""The GraphQL type of Codat's customers: every field of Codat's customer object."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain.customer import Customer
from gateway.providers.codat.details import CodatDetails
from resolvers.types.customer import CustomerInterface, common_fields


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

    @classmethod
    def from_domain(cls, c: Customer) -> CodatCustomer:
        details = c.details
        assert isinstance(details, CodatDetails)
        return cls(
            **common_fields(c),
            customer_name=details.customer_name,
            contact_name=details.contact_name,
            email_address=details.email_address,
            default_currency=details.default_currency,
            phone=details.phone,
            codat_status=details.status,
            is_deleted=details.is_deleted,
            deleted_in_source=details.deleted_in_source,
            supplemental_data=details.supplemental_data,
            modified_date=details.modified_date,
            source_modified_date=details.source_modified_date,
            synced_at=details.modified_date,
        )


__all__ = ["CodatCustomer"]
