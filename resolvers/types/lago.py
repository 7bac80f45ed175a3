"""Types only Lago customers carry."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from gateway.domain import customer as domain


@strawberry.type
class LagoAddress:
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zipcode: str | None
    country: str | None

    @staticmethod
    def from_domain(a: domain.LagoAddress) -> LagoAddress:
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
    def from_domain(b: domain.BillingConfiguration) -> BillingConfiguration:
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
    def from_domain(s: domain.InvoiceCustomSection) -> InvoiceCustomSection:
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
class LagoErrorDetailEntry:
    key: str
    value: str


@strawberry.type
class LagoErrorDetail:
    lago_id: str | None
    error_code: str
    details: list[LagoErrorDetailEntry]

    @staticmethod
    def from_domain(e: domain.LagoErrorDetail) -> LagoErrorDetail:
        return LagoErrorDetail(
            lago_id=e.lago_id,
            error_code=e.error_code,
            details=[LagoErrorDetailEntry(key=k, value=v) for k, v in e.details],
        )


__all__ = [
    "BillingConfiguration",
    "InvoiceCustomSection",
    "LagoAddress",
    "LagoErrorDetail",
    "LagoErrorDetailEntry",
]
