"""The `CustomerFilter` input and its mapping to the domain filter."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain.filter import CustomerFilter
from gateway.errors import BadUserInput
from resolvers.reads import READS
from resolvers.types.enums import CustomerStatus

MAX_TEXT_LENGTH = 200


@strawberry.input(
    name="CustomerFilter",
    description="Every condition given must hold. Filters go to each provider whose API can "
    "narrow the read, and the gateway re-checks every customer, so results never depend on "
    "which provider did the filtering.",
)
class CustomerFilterInput:
    search: str | None = strawberry.field(
        metadata={
            READS: ("displayName", "companyName", "legalName", "personName", "email", "emails")
        },
        default=None,
        description="Each word a case-insensitive substring of some name (display, company, "
        "legal, person: first, last, full) or email, not necessarily the same one.",
    )
    name: str | None = strawberry.field(
        metadata={READS: ("displayName", "companyName", "legalName", "personName")},
        default=None,
        description="Each word a case-insensitive substring of some name (display, company, "
        "legal, person: first, last, full): 'Ada Lovelace' finds first name Ada, last name "
        "Lovelace.",
    )
    email: str | None = strawberry.field(
        metadata={READS: ("email", "emails")},
        default=None,
        description="Case-insensitive exact match of one of the customer's emails.",
    )
    external_id: str | None = strawberry.field(
        metadata={READS: ("externalId",)}, default=None, description="Exact external id."
    )
    status: list[CustomerStatus] | None = strawberry.field(
        metadata={READS: ("status",)}, default=None, description="Any of these statuses."
    )
    modified_since: datetime | None = strawberry.field(
        metadata={READS: ("updatedAt",)},
        default=None,
        description="`updatedAt` at or after this instant; customers with no `updatedAt` "
        "(all of Layer's) never match.",
    )

    def to_domain(self) -> CustomerFilter:
        for label, value in (
            ("search", self.search),
            ("name", self.name),
            ("email", self.email),
            ("externalId", self.external_id),
        ):
            if value is not None and not 0 < len(value) <= MAX_TEXT_LENGTH:
                raise BadUserInput(f"filter.{label} must be 1 to {MAX_TEXT_LENGTH} characters")
        return CustomerFilter(
            search=self.search,
            name=self.name,
            email=self.email,
            external_id=self.external_id,
            statuses=frozenset(self.status) if self.status is not None else None,
            modified_since=self.modified_since,
        )


__all__ = ["MAX_TEXT_LENGTH", "CustomerFilterInput"]
