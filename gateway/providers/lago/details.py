"""Lago's own customer fields, beside the unified ones (GraphQL: LagoCustomer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    # Any JSON, as Lago sent it (nested objects and arrays included).
    details: Any


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


__all__ = [
    "BillingConfiguration",
    "InvoiceCustomSection",
    "LagoAddress",
    "LagoDetails",
    "LagoErrorDetail",
]
