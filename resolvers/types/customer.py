"""The `Customer` interface and its three provider implementations.

Common, normalised fields sit on the interface; each implementation adds every field only its
provider has, typed, so nothing the provider sent is out of reach.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gateway.domain import customer as domain
from gateway.ids import encode_id
from resolvers.types.enums import CustomerStatus, CustomerType, Provider
from resolvers.types.lago import (
    BillingConfiguration,
    InvoiceCustomSection,
    LagoAddress,
    LagoErrorDetail,
)
from resolvers.types.nested import (
    Address,
    Contact,
    IntegrationLink,
    MetadataEntry,
    PersonName,
    Phone,
    Tag,
    Tax,
)


@strawberry.interface(description="An object with a stable global id.")
class Node:
    id: strawberry.ID


@strawberry.interface(name="Customer", description="A customer as one of the providers keeps it.")
class CustomerInterface(Node):
    provider: Provider
    provider_id: str = strawberry.field(
        description="The id the provider addresses the customer by (Layer id, Codat id, "
        "Lago external_id)."
    )
    scope: str = strawberry.field(
        description="The provider account the customer belongs to: Layer business id, Codat "
        "company id or the configured Lago organisation."
    )
    external_id: str | None = strawberry.field(
        description="Your own id for the customer (Layer, Lago); Codat has none."
    )
    display_name: str | None
    company_name: str | None
    legal_name: str | None
    person_name: PersonName | None
    customer_type: CustomerType | None
    email: str | None = strawberry.field(description="The first of `emails`.")
    emails: list[str]
    phones: list[Phone]
    addresses: list[Address]
    contacts: list[Contact]
    taxes: list[Tax]
    tax_id: str | None
    registration_number: str | None
    integration_links: list[IntegrationLink]
    tags: list[Tag]
    metadata: list[MetadataEntry]
    notes: str | None
    reference_number: str | None
    status: CustomerStatus
    currency: str | None = strawberry.field(description="ISO 4217; null when unknown.")
    timezone: str | None = strawberry.field(description="The IANA zone in effect.")
    created_at: datetime | None
    updated_at: datetime | None
    source_modified_at: datetime | None = strawberry.field(
        description="When the source system last changed the record. Codat passes on the "
        "source's clock, which may have no zone."
    )
    raw: JSON | None = strawberry.field(
        description="The provider's payload exactly as received. Prefer typed fields; this is "
        "for debugging and for fields a provider adds before the schema does."
    )


def _common(c: domain.Customer) -> dict[str, Any]:
    return {
        "id": strawberry.ID(encode_id(c.key)),
        "provider": c.key.provider,
        "provider_id": c.key.native_id,
        "scope": c.key.scope,
        "external_id": c.external_id,
        "display_name": c.display_name,
        "company_name": c.company_name,
        "legal_name": c.legal_name,
        "person_name": PersonName.from_domain(c.person_name) if c.person_name else None,
        "customer_type": c.customer_type,
        "email": c.emails[0] if c.emails else None,
        "emails": list(c.emails),
        "phones": [Phone.from_domain(p) for p in c.phones],
        "addresses": [Address.from_domain(a) for a in c.addresses],
        "contacts": [Contact.from_domain(x) for x in c.contacts],
        "taxes": [Tax.from_domain(t) for t in c.taxes],
        "tax_id": c.tax_id,
        "registration_number": c.registration_number,
        "integration_links": [IntegrationLink.from_domain(i) for i in c.integration_links],
        "tags": [Tag.from_domain(t) for t in c.tags],
        "metadata": [MetadataEntry.from_domain(m) for m in c.metadata],
        "notes": c.notes,
        "reference_number": c.reference_number,
        "status": c.status,
        "currency": c.currency,
        "timezone": c.timezone,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "source_modified_at": c.source_modified_at,
        "raw": c.raw,
    }


@strawberry.type(description="A customer of a Layer business.")
class LayerCustomer(CustomerInterface):
    individual_name: str | None
    layer_company_name: str | None = strawberry.field(description="Layer's `company_name`.")
    layer_email: str | None = strawberry.field(description="Layer's `email`.")
    mobile_phone: str | None
    office_phone: str | None
    address_string: str | None
    layer_status: str = strawberry.field(description="Layer's `status` as sent.")
    memo: str | None = strawberry.field(description="Layer's `memo` (older API pages: `notes`).")
    layer_metadata: JSON | None = strawberry.field(description="Layer's `metadata` object.")
    transaction_tags: list[Tag]
    object_type: str | None = strawberry.field(description="Layer's `type`, e.g. CustomerData.")


@strawberry.type(description="A customer of a company connected to Codat.")
class CodatCustomer(CustomerInterface):
    customer_name: str | None
    contact_name: str | None
    email_address: str | None
    default_currency: str | None = strawberry.field(
        description="As sent; XXX (no currency) shows here, `currency` is null then."
    )
    phone: str | None
    codat_status: str = strawberry.field(description="Codat's `status`: Unknown, Active, Archived.")
    is_deleted: bool | None = strawberry.field(description="Codat's `metadata.isDeleted`.")
    supplemental_data: JSON | None = strawberry.field(
        description="Codat's `supplementalData.content`."
    )
    modified_date: datetime | None
    source_modified_date: datetime | None


@strawberry.type(description="A customer of a Lago organisation.")
class LagoCustomer(CustomerInterface):
    lago_id: str
    sequential_id: int
    slug: str
    billing_entity_code: str | None
    account_type: str | None
    lago_customer_type: str | None = strawberry.field(description="Lago's `customer_type`.")
    name: str | None
    firstname: str | None
    lastname: str | None
    legal_number: str | None
    lago_email: str | None = strawberry.field(
        description="Lago's `email` as sent: it may hold several comma-separated addresses."
    )
    phone: str | None
    url: str | None
    logo_url: str | None
    billing_address: LagoAddress
    shipping_address: LagoAddress | None
    tax_identification_number: str | None
    timezone_override: str | None = strawberry.field(description="Lago's `timezone`.")
    applicable_timezone: str
    net_payment_term: int | None
    finalize_zero_amount_invoice: str | None
    skip_invoice_custom_sections: bool | None
    external_salesforce_id: str | None
    billing_configuration: BillingConfiguration | None
    applicable_invoice_custom_sections: list[InvoiceCustomSection]
    error_details: list[LagoErrorDetail]


def customer_from_domain(c: domain.Customer) -> CustomerInterface:
    details = c.details
    if isinstance(details, domain.LayerDetails):
        return LayerCustomer(
            **_common(c),
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
    if isinstance(details, domain.CodatDetails):
        return CodatCustomer(
            **_common(c),
            customer_name=details.customer_name,
            contact_name=details.contact_name,
            email_address=details.email_address,
            default_currency=details.default_currency,
            phone=details.phone,
            codat_status=details.status,
            is_deleted=details.is_deleted,
            supplemental_data=details.supplemental_data,
            modified_date=details.modified_date,
            source_modified_date=details.source_modified_date,
        )
    billing = details.billing_configuration
    return LagoCustomer(
        **_common(c),
        lago_id=details.lago_id,
        sequential_id=details.sequential_id,
        slug=details.slug,
        billing_entity_code=details.billing_entity_code,
        account_type=details.account_type,
        lago_customer_type=details.customer_type,
        name=details.name,
        firstname=details.firstname,
        lastname=details.lastname,
        legal_number=details.legal_number,
        lago_email=details.email,
        phone=details.phone,
        url=details.url,
        logo_url=details.logo_url,
        billing_address=LagoAddress.from_domain(details.billing_address),
        shipping_address=(
            LagoAddress.from_domain(details.shipping_address) if details.shipping_address else None
        ),
        tax_identification_number=details.tax_identification_number,
        timezone_override=details.timezone,
        applicable_timezone=details.applicable_timezone,
        net_payment_term=details.net_payment_term,
        finalize_zero_amount_invoice=details.finalize_zero_amount_invoice,
        skip_invoice_custom_sections=details.skip_invoice_custom_sections,
        external_salesforce_id=details.external_salesforce_id,
        billing_configuration=BillingConfiguration.from_domain(billing) if billing else None,
        applicable_invoice_custom_sections=[
            InvoiceCustomSection.from_domain(s) for s in details.applicable_invoice_custom_sections
        ],
        error_details=[LagoErrorDetail.from_domain(e) for e in details.error_details],
    )


__all__ = [
    "CodatCustomer",
    "CustomerInterface",
    "LagoCustomer",
    "LayerCustomer",
    "Node",
    "customer_from_domain",
]
