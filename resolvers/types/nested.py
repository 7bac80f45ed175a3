"""Values nested in a customer: addresses, phones, contacts, taxes, links, tags, metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain import customer as domain
from resolvers.reads import EVERYTHING, READS
from resolvers.types.enums import AddressType, CustomerStatus, IntegrationKind, PhoneType


@strawberry.type
class Address:
    """Each field shows its namesake of the domain address (`raw`: `formatted`)."""

    type: AddressType
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None = strawberry.field(
        description="As the provider sends it: ISO 3166 alpha-2 from Lago, free text from Codat."
    )
    country_code: str | None = strawberry.field(
        description="ISO 3166-1 alpha-2, from `country` when it is an ISO code or an English "
        "country name ('USA', 'United States', 'us' → 'US'), or 'US' for a one-line address "
        "that parsed as a US one; null when neither names a country unambiguously."
    )
    formatted: str | None = strawberry.field(
        description="The address as one line, exactly as the provider wrote it, when that is "
        "what the provider has (Layer's `address_string`). The structured fields are filled "
        "from it only when it parses unambiguously (docs/records.md)."
    )
    raw: str | None = strawberry.field(
        # The address as sent: it holds what every other field of it does.
        metadata={READS: EVERYTHING},
        description="The same as `formatted`.",
        deprecation_reason="Use `formatted`, which means the same.",
    )
    provider_type: str | None = strawberry.field(
        default=None,
        description="The provider's own type as sent (Codat: Billing, Delivery, Unknown, or "
        "one it adds later, which `type` shows as UNKNOWN); null when the type is ours.",
    )
    # Fields showing a domain attribute of another name (every other field shows its
    # namesake): what compiled operations (resolvers/compiled/) read.
    domain_sources: ClassVar[Mapping[str, str]] = {"raw": "formatted"}

    @staticmethod
    def from_domain(a: domain.Address) -> Address:
        return Address(
            type=a.type,
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            region=a.region,
            postal_code=a.postal_code,
            country=a.country,
            country_code=a.country_code,
            formatted=a.formatted,
            raw=a.formatted,
            provider_type=a.provider_type,
        )


@strawberry.type
class Phone:
    number: str | None = strawberry.field(description="As the provider sends it.")
    type: PhoneType
    provider_type: str | None = strawberry.field(
        default=None,
        description="The provider's own type as sent (Codat: Primary, Landline, Mobile, Fax, "
        "Unknown, or one it adds later, which `type` shows as UNKNOWN); null when the type "
        "is ours.",
    )
    e164: str | None = strawberry.field(
        description="The number in E.164 ('+442079460958'), read in the record's country when "
        "it has no '+'; null when the numbering plan has no such number."
    )
    extension: str | None = strawberry.field(
        description="The extension of a number with an E.164 form; E.164 itself has none."
    )

    @staticmethod
    def from_domain(p: domain.Phone) -> Phone:
        return Phone(
            number=p.number,
            type=p.type,
            provider_type=p.provider_type,
            e164=p.e164,
            extension=p.extension,
        )


@strawberry.type
class Contact:
    name: str | None
    email: str | None
    phones: list[Phone]
    address: Address | None
    status: CustomerStatus
    modified_at: datetime | None
    provider_status: str | None = strawberry.field(
        description="The provider's own status as sent (one it adds later reads as UNKNOWN "
        "in `status`)."
    )

    @staticmethod
    def from_domain(c: domain.Contact) -> Contact:
        return Contact(
            name=c.name,
            email=c.email,
            phones=[Phone.from_domain(p) for p in c.phones],
            address=Address.from_domain(c.address) if c.address else None,
            status=c.status,
            modified_at=c.modified_at,
            provider_status=c.provider_status,
        )


@strawberry.type
class Tax:
    code: str
    name: str
    rate: float = strawberry.field(description="Percent, e.g. 20 for 20%.")
    description: str | None
    provider_internal_id: str | None
    applied_to_organization: bool | None
    created_at: datetime | None

    @staticmethod
    def from_domain(t: domain.Tax) -> Tax:
        return Tax(
            code=t.code,
            name=t.name,
            rate=t.rate,
            description=t.description,
            provider_internal_id=t.provider_internal_id,
            applied_to_organization=t.applied_to_organization,
            created_at=t.created_at,
        )


@strawberry.type
class IntegrationLink:
    system: str | None = strawberry.field(
        description="The other system as the provider names it, e.g. netsuite, xero, hubspot, "
        "stripe; `kind` is OTHER for one the gateway does not know. Null when none was sent."
    )
    kind: IntegrationKind
    code: str | None = strawberry.field(description="The connection's code in the provider.")
    external_id: str | None = strawberry.field(description="The customer's id in `system`.")
    provider_internal_id: str | None
    sync_with_provider: bool | None
    subsidiary_id: str | None
    targeted_object: str | None
    email: str | None
    is_default: bool | None
    category: str | None

    @staticmethod
    def from_domain(i: domain.IntegrationLink) -> IntegrationLink:
        return IntegrationLink(
            system=i.system,
            kind=i.kind,
            code=i.code,
            external_id=i.external_id,
            provider_internal_id=i.provider_internal_id,
            sync_with_provider=i.sync_with_provider,
            subsidiary_id=i.subsidiary_id,
            targeted_object=i.targeted_object,
            email=i.email,
            is_default=i.is_default,
            category=i.category,
        )


@strawberry.type
class Tag:
    key: str
    value: str
    id: str | None
    dimension_display_name: str | None
    value_display_name: str | None
    dimension_id: str | None
    definition_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: datetime | None
    archived_at: datetime | None

    @staticmethod
    def from_domain(t: domain.Tag) -> Tag:
        return Tag(
            key=t.key,
            value=t.value,
            id=t.id,
            dimension_display_name=t.dimension_display_name,
            value_display_name=t.value_display_name,
            dimension_id=t.dimension_id,
            definition_id=t.definition_id,
            created_at=t.created_at,
            updated_at=t.updated_at,
            deleted_at=t.deleted_at,
            archived_at=t.archived_at,
        )


@strawberry.type
class MetadataEntry:
    key: str
    value: JSON | None = strawberry.field(
        description="A string from Lago; any JSON value from Layer metadata and Codat "
        "supplemental data."
    )
    display_in_invoice: bool | None
    created_at: datetime | None
    provider_internal_id: str | None

    @staticmethod
    def from_domain(m: domain.MetadataEntry) -> MetadataEntry:
        return MetadataEntry(
            key=m.key,
            value=m.value,
            display_in_invoice=m.display_in_invoice,
            created_at=m.created_at,
            provider_internal_id=m.provider_internal_id,
        )


@strawberry.type
class PersonName:
    full_name: str | None
    first_name: str | None
    last_name: str | None

    @staticmethod
    def from_domain(p: domain.PersonName) -> PersonName:
        return PersonName(full_name=p.full_name, first_name=p.first_name, last_name=p.last_name)


__all__ = [
    "Address",
    "Contact",
    "IntegrationLink",
    "MetadataEntry",
    "PersonName",
    "Phone",
    "Tag",
    "Tax",
]
