"""The provider-neutral customer and the values nested in it.

Every provider adapter maps its wire JSON into these frozen dataclasses; the GraphQL layer maps
them out again. Nothing here knows about httpx or Strawberry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.domain.freshness import Freshness
from gateway.domain.provider import Provider


class CustomerStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


class CustomerType(enum.Enum):
    COMPANY = "COMPANY"
    INDIVIDUAL = "INDIVIDUAL"
    # A type the provider added after this mapping was written; its own type shows the value.
    OTHER = "OTHER"


class AddressType(enum.Enum):
    BILLING = "BILLING"
    DELIVERY = "DELIVERY"
    UNKNOWN = "UNKNOWN"


class PhoneType(enum.Enum):
    PRIMARY = "PRIMARY"
    MOBILE = "MOBILE"
    LANDLINE = "LANDLINE"
    OFFICE = "OFFICE"
    FAX = "FAX"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Address:
    type: AddressType
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    # ISO 3166-1 alpha-2, resolved from `country` (or from a parsed US line); None when the
    # value names no country unambiguously.
    country_code: str | None = None
    # The address as one line, as the provider wrote it, when that is what the provider has.
    formatted: str | None = None
    # The provider's own type string, so a type it adds tomorrow (read as UNKNOWN) is not lost.
    provider_type: str | None = None


@dataclass(frozen=True, slots=True)
class Phone:
    number: str | None
    type: PhoneType
    # The provider's own type string, when it sends one (see Address.provider_type).
    provider_type: str | None = None
    # The number in E.164 and its extension, when the numbering plan says it exists.
    e164: str | None = None
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None
    email: str | None
    phones: tuple[Phone, ...]
    address: Address | None
    status: CustomerStatus
    modified_at: datetime | None
    # The provider's own status string (see Address.provider_type).
    provider_status: str | None = None


@dataclass(frozen=True, slots=True)
class Tax:
    code: str
    name: str
    rate: float
    description: str | None = None
    provider_internal_id: str | None = None
    applied_to_organization: bool | None = None
    created_at: datetime | None = None


class IntegrationKind(enum.Enum):
    ACCOUNTING = "ACCOUNTING"
    CRM = "CRM"
    TAX = "TAX"
    PAYMENT_PROVIDER = "PAYMENT_PROVIDER"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class IntegrationLink:
    """A link from the customer to the same customer in another system (ERP, CRM, payments)."""

    # The provider's own name for the other system; None when it sent none.
    system: str | None
    kind: IntegrationKind
    code: str | None
    external_id: str | None
    provider_internal_id: str | None = None
    sync_with_provider: bool | None = None
    subsidiary_id: str | None = None
    targeted_object: str | None = None
    email: str | None = None
    is_default: bool | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Tag:
    key: str
    value: str
    id: str | None = None
    dimension_display_name: str | None = None
    value_display_name: str | None = None
    dimension_id: str | None = None
    definition_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    archived_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetadataEntry:
    key: str
    # Layer metadata and Codat supplemental data carry arbitrary JSON; Lago values are strings.
    value: Any
    display_in_invoice: bool | None = None
    created_at: datetime | None = None
    provider_internal_id: str | None = None


@dataclass(frozen=True, slots=True)
class PersonName:
    full_name: str | None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """Where a customer lives: the provider, the provider account (Layer business, Codat
    company, Lago organisation) and the id the provider addresses it by."""

    provider: Provider
    account: str
    native_id: str


@dataclass(frozen=True, slots=True)
class Customer:
    key: CustomerKey
    external_id: str | None
    display_name: str | None
    company_name: str | None
    legal_name: str | None
    person_name: PersonName | None
    customer_type: CustomerType | None
    emails: tuple[str, ...]
    phones: tuple[Phone, ...]
    addresses: tuple[Address, ...]
    contacts: tuple[Contact, ...]
    taxes: tuple[Tax, ...]
    tax_id: str | None
    registration_number: str | None
    integration_links: tuple[IntegrationLink, ...]
    tags: tuple[Tag, ...]
    metadata: tuple[MetadataEntry, ...]
    notes: str | None
    reference_number: str | None
    status: CustomerStatus
    currency: str | None
    timezone: str | None
    created_at: datetime | None
    updated_at: datetime | None
    source_modified_at: datetime | None
    # The provider's own fields: a frozen dataclass of the provider's folder
    # (gateway/providers/<name>/details.py), exposed by its GraphQL type.
    details: object
    # The payload exactly as the provider sent it, for the opt-in `raw` field.
    raw: Any = field(default=None, compare=False, repr=False)
    # How fresh this read of the record is (set per read by the provider client; None from a
    # source that does not say). Not part of the record, so not compared.
    freshness: Freshness | None = field(default=None, compare=False, repr=False)

    @property
    def provider(self) -> Provider:
        return self.key.provider


__all__ = [
    "Address",
    "AddressType",
    "Contact",
    "Customer",
    "CustomerKey",
    "CustomerStatus",
    "CustomerType",
    "IntegrationKind",
    "IntegrationLink",
    "MetadataEntry",
    "PersonName",
    "Phone",
    "PhoneType",
    "Provider",
    "Tag",
    "Tax",
]
