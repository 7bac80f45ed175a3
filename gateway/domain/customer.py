"""The provider-neutral customer and the values nested in it.

Every provider adapter maps its wire JSON into these frozen dataclasses; the GraphQL layer maps
them out again. Nothing here knows about httpx or Strawberry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Provider(enum.Enum):
    LAYER = "LAYER"
    CODAT = "CODAT"
    LAGO = "LAGO"


# The order providers are listed in and interleaved by in `customers`.
PROVIDER_ORDER: tuple[Provider, ...] = (Provider.LAYER, Provider.CODAT, Provider.LAGO)


class CustomerStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    DELETED = "DELETED"
    UNKNOWN = "UNKNOWN"


class CustomerType(enum.Enum):
    COMPANY = "COMPANY"
    INDIVIDUAL = "INDIVIDUAL"


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
    # The address as one unstructured line, when that is all the provider has.
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class Phone:
    number: str | None
    type: PhoneType


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None
    email: str | None
    phones: tuple[Phone, ...]
    address: Address | None
    status: CustomerStatus
    modified_at: datetime | None


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

    system: str
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
class LayerDetails:
    individual_name: str | None
    company_name: str | None
    email: str | None
    mobile_phone: str | None
    office_phone: str | None
    address_string: str | None
    status: str
    memo: str | None
    reference_number: str | None
    metadata: Any
    type: str | None


@dataclass(frozen=True, slots=True)
class CodatDetails:
    customer_name: str | None
    contact_name: str | None
    email_address: str | None
    default_currency: str | None
    phone: str | None
    status: str
    is_deleted: bool | None
    supplemental_data: Any
    modified_date: datetime | None
    source_modified_date: datetime | None


@dataclass(frozen=True, slots=True)
class LagoAddress:
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class BillingConfiguration:
    invoice_grace_period: int | None
    payment_provider: str | None
    payment_provider_code: str | None
    provider_customer_id: str | None
    sync: bool | None
    sync_with_provider: bool | None
    document_locale: str | None
    provider_payment_methods: tuple[str, ...] | None
    subscription_invoice_issuing_date_anchor: str | None
    subscription_invoice_issuing_date_adjustment: str | None
    # Provider settings Lago adds over time; kept whole so nothing is dropped.
    extra: Any


@dataclass(frozen=True, slots=True)
class InvoiceCustomSection:
    lago_id: str
    name: str
    code: str
    description: str | None
    details: str | None
    display_name: str | None
    applied_to_organization: bool | None
    organization_id: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class LagoErrorDetail:
    lago_id: str | None
    error_code: str
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class LagoDetails:
    lago_id: str
    sequential_id: int
    slug: str
    billing_entity_code: str | None
    account_type: str | None
    customer_type: str | None
    name: str | None
    firstname: str | None
    lastname: str | None
    legal_name: str | None
    legal_number: str | None
    email: str | None
    phone: str | None
    url: str | None
    logo_url: str | None
    billing_address: LagoAddress
    shipping_address: LagoAddress | None
    tax_identification_number: str | None
    timezone: str | None
    applicable_timezone: str
    net_payment_term: int | None
    finalize_zero_amount_invoice: str | None
    skip_invoice_custom_sections: bool | None
    external_salesforce_id: str | None
    billing_configuration: BillingConfiguration | None
    applicable_invoice_custom_sections: tuple[InvoiceCustomSection, ...]
    error_details: tuple[LagoErrorDetail, ...]


ProviderDetails = LayerDetails | CodatDetails | LagoDetails


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """Where a customer lives: provider, the tenant-level scope (business, company,
    organization) and the id the provider addresses it by."""

    provider: Provider
    scope: str
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
    details: ProviderDetails
    # The payload exactly as the provider sent it, for the opt-in `raw` field.
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def provider(self) -> Provider:
        return self.key.provider


__all__ = [
    "PROVIDER_ORDER",
    "Address",
    "AddressType",
    "BillingConfiguration",
    "CodatDetails",
    "Contact",
    "Customer",
    "CustomerKey",
    "CustomerStatus",
    "CustomerType",
    "IntegrationKind",
    "IntegrationLink",
    "InvoiceCustomSection",
    "LagoAddress",
    "LagoDetails",
    "LagoErrorDetail",
    "LayerDetails",
    "MetadataEntry",
    "PersonName",
    "Phone",
    "PhoneType",
    "Provider",
    "ProviderDetails",
    "Tag",
    "Tax",
]
