"""The GraphQL type of Lago's customers, and the types only they carry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain.customer import Customer
from gateway.providers.lago import details as details_
from resolvers.reads import READS
from resolvers.types.customer import CustomerInterface, common_fields


@strawberry.type
class LagoAddress:
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    country: str | None

    @staticmethod
    def from_domain(a: details_.LagoAddress) -> LagoAddress:
        return LagoAddress(
            address_line1=a.address_line1,
            address_line2=a.address_line2,
            city=a.city,
            state=a.state,
            zipcode=a.zipcode,
            country=a.country,
        )


@strawberry.type
class BillingConfiguration:
    invoice_grace_period: int | None
    payment_provider: str | None
    payment_provider_code: str | None
    provider_customer_id: str | None
    sync: bool | None
    sync_with_provider: bool | None
    document_locale: str | None
    provider_payment_methods: list[str] | None
    subscription_invoice_issuing_date_anchor: str | None
    subscription_invoice_issuing_date_adjustment: str | None
    extra: JSON | None = strawberry.field(
        description="Provider settings Lago sent that have no field of their own yet."
    )

    @staticmethod
    def from_domain(b: details_.BillingConfiguration) -> BillingConfiguration:
        methods = b.provider_payment_methods
        return BillingConfiguration(
            invoice_grace_period=b.invoice_grace_period,
            payment_provider=b.payment_provider,
            payment_provider_code=b.payment_provider_code,
            provider_customer_id=b.provider_customer_id,
            sync=b.sync,
            sync_with_provider=b.sync_with_provider,
            document_locale=b.document_locale,
            provider_payment_methods=list(methods) if methods is not None else None,
            subscription_invoice_issuing_date_anchor=b.subscription_invoice_issuing_date_anchor,
            subscription_invoice_issuing_date_adjustment=b.subscription_invoice_issuing_date_adjustment,
            extra=b.extra,
        )


@strawberry.type
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

    @staticmethod
    def from_domain(s: details_.InvoiceCustomSection) -> InvoiceCustomSection:
        return InvoiceCustomSection(
            lago_id=s.lago_id,
            name=s.name,
            code=s.code,
            description=s.description,
            details=s.details,
            display_name=s.display_name,
            applied_to_organization=s.applied_to_organization,
            organization_id=s.organization_id,
            created_at=s.created_at,
        )


@strawberry.type
class LagoErrorDetail:
    lago_id: str | None
    error_code: str
    details: JSON | None = strawberry.field(
        description="As Lago sent it: usually a string map keyed by `errorCode`, but nested "
        "objects and arrays (backtraces, a tax service's response) come through whole."
    )

    @staticmethod
    def from_domain(e: details_.LagoErrorDetail) -> LagoErrorDetail:
        return LagoErrorDetail(lago_id=e.lago_id, error_code=e.error_code, details=e.details)


def _details(**sources: str) -> dict[str, Callable[[Customer], Any]]:
    return {name: attrgetter(f"details.{source}") for name, source in sources.items()}


# Each own field's value from the domain customer, by Python name: `from_domain` and compiled
# operations (resolvers/compiled/) both read them.
_VALUES = _details(
    lago_id="lago_id",
    sequential_id="sequential_id",
    slug="slug",
    billing_entity_code="billing_entity_code",
    account_type="account_type",
    lago_customer_type="customer_type",
    name="name",
    firstname="firstname",
    lastname="lastname",
    legal_number="legal_number",
    lago_email="email",
    phone="phone",
    url="url",
    logo_url="logo_url",
    tax_identification_number="tax_identification_number",
    timezone_override="timezone",
    applicable_timezone="applicable_timezone",
    net_payment_term="net_payment_term",
    finalize_zero_amount_invoice="finalize_zero_amount_invoice",
    skip_invoice_custom_sections="skip_invoice_custom_sections",
    external_salesforce_id="external_salesforce_id",
)
# The nested ones, as domain values: `from_domain` converts each to its GraphQL type.
_OBJECTS = _details(
    billing_address="billing_address",
    shipping_address="shipping_address",
    billing_configuration="billing_configuration",
    applicable_invoice_custom_sections="applicable_invoice_custom_sections",
    error_details="error_details",
)


@strawberry.type(description="A customer of a Lago organisation.")
class LagoCustomer(CustomerInterface):
    lago_id: str
    sequential_id: int
    slug: str
    billing_entity_code: str | None
    account_type: str | None
    lago_customer_type: str | None = strawberry.field(
        description="Lago's `customer_type` as sent; `customerType` is OTHER for a type Lago "
        "added after this schema."
    )
    name: str | None
    firstname: str | None
    lastname: str | None
    legal_number: str | None
    lago_email: str | None = strawberry.field(
        metadata={READS: ("email", "emails")},
        description="Lago's `email` as sent: it may hold several comma-separated addresses.",
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

    details: ClassVar[type] = details_.LagoDetails
    # Own fields as domain values (nested ones unconverted), for compiled operations.
    domain_fields: ClassVar[Mapping[str, Callable[[Customer], Any]]] = {**_VALUES, **_OBJECTS}

    @classmethod
    def from_domain(cls, c: Customer) -> LagoCustomer:
        details = c.details
        assert isinstance(details, details_.LagoDetails)
        billing = details.billing_configuration
        return cls(
            **common_fields(c),
            **{name: value(c) for name, value in _VALUES.items()},
            billing_address=LagoAddress.from_domain(details.billing_address),
            shipping_address=(
                LagoAddress.from_domain(details.shipping_address)
                if details.shipping_address
                else None
            ),
            billing_configuration=BillingConfiguration.from_domain(billing) if billing else None,
            applicable_invoice_custom_sections=[
                InvoiceCustomSection.from_domain(s)
                for s in details.applicable_invoice_custom_sections
            ],
            error_details=[LagoErrorDetail.from_domain(e) for e in details.error_details],
        )


__all__ = [
    "BillingConfiguration",
    "InvoiceCustomSection",
    "LagoAddress",
    "LagoCustomer",
    "LagoErrorDetail",
]
