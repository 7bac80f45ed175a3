"""Lago wire customer → domain customer."""

from __future__ import annotations

from gateway.domain.customer import (
    Address,
    AddressType,
    Customer,
    CustomerKey,
    CustomerStatus,
    CustomerType,
    IntegrationKind,
    IntegrationLink,
    MetadataEntry,
    PhoneType,
    Tax,
)
from gateway.providers.lago import LAGO
from gateway.providers.lago import wire as w
from gateway.providers.lago.details import (
    BillingConfiguration,
    InvoiceCustomSection,
    LagoAddress,
    LagoDetails,
    LagoErrorDetail,
)
from gateway.providers.names import display_name, person_name
from gateway.providers.normalise import normalised
from gateway.providers.text import first_text, text, texts
from gateway.providers.values import phones

_INTEGRATION_KINDS = {
    "netsuite": IntegrationKind.ACCOUNTING,
    "xero": IntegrationKind.ACCOUNTING,
    "hubspot": IntegrationKind.CRM,
    "salesforce": IntegrationKind.CRM,
    "anrok": IntegrationKind.TAX,
    "avalara": IntegrationKind.TAX,
}
_CUSTOMER_TYPES = {"company": CustomerType.COMPANY, "individual": CustomerType.INDIVIDUAL}


def _customer_type(value: str | None) -> CustomerType | None:
    # A type Lago adds later is OTHER; `lagoCustomerType` keeps the value as sent.
    return None if value is None else _CUSTOMER_TYPES.get(value, CustomerType.OTHER)


def to_domain(wire: w.LagoCustomer, organization_id: str, raw: object = None) -> Customer:
    """The mapped customer, its countries and phones normalised like every provider's."""
    return normalised(_mapped(wire, organization_id, raw))


def _mapped(wire: w.LagoCustomer, organization_id: str, raw: object = None) -> Customer:
    # Lago sends the billing address as the customer's own top-level fields.
    billing = _lago_address(wire)
    shipping = _lago_address(wire.shipping_address) if wire.shipping_address else None
    addresses = tuple(
        _address(kind, a)
        for kind, a in ((AddressType.BILLING, billing), (AddressType.DELIVERY, shipping))
        if a is not None and _has_any(a)
    )
    customer_type = _CUSTOMER_TYPES.get(wire.customer_type or "")
    # Lago's `name` is "the full name of the customer": the person's for an individual, the
    # name a company (or a customer of no type) is known by, before its legal name.
    is_individual = customer_type is CustomerType.INDIVIDUAL
    person = person_name(wire.name if is_individual else None, wire.firstname, wire.lastname)
    company = (
        first_text(wire.legal_name) if is_individual else first_text(wire.name, wire.legal_name)
    )
    return Customer(
        key=CustomerKey(LAGO, organization_id, wire.external_id),
        external_id=wire.external_id,
        display_name=display_name(customer_type, company, wire.legal_name, person),
        company_name=company,
        legal_name=text(wire.legal_name),
        person_name=person,
        customer_type=_customer_type(wire.customer_type),
        # Several addresses, comma-separated, in one field.
        emails=texts(*(wire.email or "").split(",")),
        phones=phones((wire.phone, PhoneType.PRIMARY)),
        addresses=addresses,
        contacts=(),
        taxes=tuple(_tax(t) for t in wire.taxes or ()),
        tax_id=text(wire.tax_identification_number),
        registration_number=text(wire.legal_number),
        integration_links=_integration_links(wire),
        tags=(),
        metadata=tuple(
            MetadataEntry(
                key=m.key,
                value=m.value,
                display_in_invoice=m.display_in_invoice,
                created_at=m.created_at,
                provider_internal_id=m.lago_id,
            )
            for m in wire.metadata or ()
        ),
        notes=None,
        reference_number=wire.slug,
        # Lago serves only live customers: a deleted one answers 404 and leaves the lists.
        status=CustomerStatus.ACTIVE,
        currency=wire.currency,
        timezone=wire.applicable_timezone,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        source_modified_at=wire.updated_at,
        details=LagoDetails(
            lago_id=wire.lago_id,
            sequential_id=wire.sequential_id,
            slug=wire.slug,
            billing_entity_code=wire.billing_entity_code,
            account_type=wire.account_type,
            customer_type=wire.customer_type,
            name=wire.name,
            firstname=wire.firstname,
            lastname=wire.lastname,
            legal_name=wire.legal_name,
            legal_number=wire.legal_number,
            email=wire.email,
            phone=wire.phone,
            url=wire.url,
            logo_url=wire.logo_url,
            billing_address=billing,
            shipping_address=shipping,
            tax_identification_number=wire.tax_identification_number,
            timezone=wire.timezone,
            applicable_timezone=wire.applicable_timezone,
            net_payment_term=wire.net_payment_term,
            finalize_zero_amount_invoice=wire.finalize_zero_amount_invoice,
            skip_invoice_custom_sections=wire.skip_invoice_custom_sections,
            external_salesforce_id=wire.external_salesforce_id,
            billing_configuration=_billing(wire.billing_configuration),
            applicable_invoice_custom_sections=tuple(
                _section(s) for s in wire.applicable_invoice_custom_sections or ()
            ),
            error_details=tuple(
                LagoErrorDetail(lago_id=e.lago_id, error_code=e.error_code, details=e.details)
                for e in wire.error_details or ()
            ),
        ),
        raw=raw,
    )


def _lago_address(wire: w.LagoAddress | w.LagoCustomer) -> LagoAddress:
    return LagoAddress(
        address_line1=wire.address_line1,
        address_line2=wire.address_line2,
        city=wire.city,
        state=wire.state,
        zipcode=wire.zipcode,
        country=wire.country,
    )


def _has_any(address: LagoAddress) -> bool:
    fields = (address.address_line1, address.address_line2, address.city, address.state)
    return any(f is not None for f in (*fields, address.zipcode, address.country))


def _address(kind: AddressType, address: LagoAddress) -> Address:
    return Address(
        type=kind,
        line1=address.address_line1,
        line2=address.address_line2,
        city=address.city,
        region=address.state,
        postal_code=address.zipcode,
        country=address.country,
    )


def _tax(tax: w.LagoTax) -> Tax:
    return Tax(
        code=tax.code,
        name=tax.name,
        rate=tax.rate,
        description=tax.description,
        provider_internal_id=tax.lago_id,
        applied_to_organization=tax.applied_to_organization,
        created_at=tax.created_at,
    )


def _integration_links(wire: w.LagoCustomer) -> tuple[IntegrationLink, ...]:
    links = [
        IntegrationLink(
            system=i.type,
            # A type Lago adds later (or none) is OTHER; `system` keeps the value as sent.
            kind=_INTEGRATION_KINDS.get(i.type or "", IntegrationKind.OTHER),
            code=i.integration_code,
            external_id=i.external_customer_id,
            provider_internal_id=i.lago_id,
            sync_with_provider=i.sync_with_provider,
            subsidiary_id=i.subsidiary_id,
            targeted_object=i.targeted_object,
            email=i.email,
            is_default=i.is_default,
            category=i.category,
        )
        for i in wire.integration_customers or ()
    ]
    billing = wire.billing_configuration
    if billing and billing.payment_provider:
        links.append(
            IntegrationLink(
                system=billing.payment_provider,
                kind=IntegrationKind.PAYMENT_PROVIDER,
                code=billing.payment_provider_code,
                external_id=billing.provider_customer_id,
                sync_with_provider=billing.sync_with_provider,
            )
        )
    return tuple(links)


def _billing(wire: w.LagoBillingConfiguration | None) -> BillingConfiguration | None:
    if wire is None:
        return None
    methods = wire.provider_payment_methods
    return BillingConfiguration(
        invoice_grace_period=wire.invoice_grace_period,
        payment_provider=wire.payment_provider,
        payment_provider_code=wire.payment_provider_code,
        provider_customer_id=wire.provider_customer_id,
        sync=wire.sync,
        sync_with_provider=wire.sync_with_provider,
        document_locale=wire.document_locale,
        provider_payment_methods=tuple(methods) if methods is not None else None,
        subscription_invoice_issuing_date_anchor=wire.subscription_invoice_issuing_date_anchor,
        subscription_invoice_issuing_date_adjustment=wire.subscription_invoice_issuing_date_adjustment,
        extra=w.extra_fields(wire) or None,
    )


def _section(wire: w.LagoInvoiceCustomSection) -> InvoiceCustomSection:
    return InvoiceCustomSection(
        lago_id=wire.lago_id,
        name=wire.name,
        code=wire.code,
        description=wire.description,
        details=wire.details,
        display_name=wire.display_name,
        applied_to_organization=wire.applied_to_organization,
        organization_id=wire.organization_id,
        created_at=wire.created_at,
    )


__all__ = ["to_domain"]
