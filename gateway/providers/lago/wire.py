"""Lago's JSON exactly as it arrives (see shared/docs/providers.md §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LagoAddress(_Wire):
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None


class LagoBillingConfiguration(BaseModel):
    # Lago adds provider settings here over time: keep what we do not model in `extra`.
    model_config = ConfigDict(extra="allow", frozen=True)

    invoice_grace_period: int | None = None
    payment_provider: str | None = None
    payment_provider_code: str | None = None
    provider_customer_id: str | None = None
    sync: bool | None = None
    sync_with_provider: bool | None = None
    document_locale: str | None = None
    provider_payment_methods: list[str] | None = None
    subscription_invoice_issuing_date_anchor: str | None = None
    subscription_invoice_issuing_date_adjustment: str | None = None


class LagoMetadata(_Wire):
    lago_id: str | None = None
    key: str
    value: str | None = None
    display_in_invoice: bool | None = None
    created_at: datetime | None = None


class LagoTax(_Wire):
    lago_id: str | None = None
    name: str
    code: str
    description: str | None = None
    rate: float
    applied_to_organization: bool | None = None
    created_at: datetime | None = None


class LagoIntegrationCustomer(_Wire):
    lago_id: str | None = None
    # An enum in Lago's spec that grows with each integration Lago adds; sent null too.
    type: str | None = None
    integration_code: str | None = None
    external_customer_id: str | None = None
    sync_with_provider: bool | None = None
    subsidiary_id: str | None = None
    targeted_object: str | None = None
    email: str | None = None
    code: str | None = None
    is_default: bool | None = None
    category: str | None = None


class LagoInvoiceCustomSection(_Wire):
    lago_id: str
    name: str
    code: str
    description: str | None = None
    details: str | None = None
    display_name: str | None = None
    applied_to_organization: bool | None = None
    organization_id: str | None = None
    created_at: datetime | None = None


class LagoErrorDetail(_Wire):
    lago_id: str | None = None
    error_code: str
    # A string map in Lago's spec, but Lago stores nested objects and arrays here too
    # (backtraces, whole responses of the tax service): any JSON, kept as sent.
    details: Any = None


class LagoCustomer(_Wire):
    lago_id: str
    sequential_id: int
    slug: str
    external_id: str
    billing_entity_code: str | None = None
    account_type: str | None = None
    customer_type: str | None = None
    name: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    legal_name: str | None = None
    legal_number: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    logo_url: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None
    shipping_address: LagoAddress | None = None
    currency: str | None = None
    timezone: str | None = None
    applicable_timezone: str
    tax_identification_number: str | None = None
    net_payment_term: int | None = None
    finalize_zero_amount_invoice: str | None = None
    skip_invoice_custom_sections: bool | None = None
    external_salesforce_id: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    billing_configuration: LagoBillingConfiguration | None = None
    metadata: list[LagoMetadata] | None = None
    taxes: list[LagoTax] | None = None
    integration_customers: list[LagoIntegrationCustomer] | None = None
    applicable_invoice_custom_sections: list[LagoInvoiceCustomSection] | None = None
    error_details: list[LagoErrorDetail] | None = None


class LagoCustomerEnvelope(_Wire):
    # Read as a `LagoCustomer` on its own (gateway/providers/records.py), so a record that
    # does not fit is RECORD_UNREADABLE rather than a bad answer.
    customer: dict[str, Any]


class LagoPaginationMeta(_Wire):
    current_page: int
    next_page: int | None = None
    prev_page: int | None = None
    total_pages: int
    total_count: int


class LagoCustomerList(_Wire):
    # Each item read as a `LagoCustomer` on its own: one that does not fit costs only itself.
    customers: list[Any]
    meta: LagoPaginationMeta


def extra_fields(model: BaseModel) -> dict[str, Any]:
    return dict(model.model_extra or {})


__all__ = [
    "LagoAddress",
    "LagoBillingConfiguration",
    "LagoCustomer",
    "LagoCustomerEnvelope",
    "LagoCustomerList",
    "LagoErrorDetail",
    "LagoIntegrationCustomer",
    "LagoInvoiceCustomSection",
    "LagoMetadata",
    "LagoPaginationMeta",
    "LagoTax",
    "extra_fields",
]
