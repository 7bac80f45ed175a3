"""Layer wire customer → domain customer."""

from __future__ import annotations

from gateway.domain.customer import (
    AddressType,
    Customer,
    CustomerKey,
    CustomerStatus,
    CustomerType,
    PhoneType,
    Tag,
)
from gateway.providers.addresses import from_line
from gateway.providers.layer import LAYER
from gateway.providers.layer.details import LayerDetails
from gateway.providers.layer.wire import LayerCustomer, LayerTag
from gateway.providers.names import display_name, person_name
from gateway.providers.normalise import normalised
from gateway.providers.text import text, texts
from gateway.providers.values import metadata_entries, phones

_STATUSES = {"ACTIVE": CustomerStatus.ACTIVE, "ARCHIVED": CustomerStatus.ARCHIVED}


def to_domain(wire: LayerCustomer, business_id: str, raw: object = None) -> Customer:
    """The mapped customer, its countries and phones normalised like every provider's."""
    return normalised(_mapped(wire, business_id, raw))


def _mapped(wire: LayerCustomer, business_id: str, raw: object = None) -> Customer:
    company = text(wire.company_name)
    individual = text(wire.individual_name)
    memo = wire.memo if wire.memo is not None else wire.notes
    address = text(wire.address_string)
    customer_type = (
        CustomerType.COMPANY if company else CustomerType.INDIVIDUAL if individual else None
    )
    person = person_name(individual)
    return Customer(
        key=CustomerKey(LAYER, business_id, wire.id),
        external_id=wire.external_id,
        display_name=display_name(customer_type, company, None, person),
        company_name=company,
        legal_name=None,
        person_name=person,
        customer_type=customer_type,
        emails=texts(wire.email),
        phones=phones((wire.mobile_phone, PhoneType.MOBILE), (wire.office_phone, PhoneType.OFFICE)),
        addresses=(from_line(AddressType.UNKNOWN, address),) if address else (),
        contacts=(),
        taxes=(),
        tax_id=None,
        registration_number=None,
        integration_links=(),
        tags=tuple(_tag(t) for t in wire.transaction_tags or ()),
        metadata=metadata_entries(wire.metadata),
        notes=memo,
        reference_number=wire.reference_number,
        status=_STATUSES.get(wire.status or "", CustomerStatus.UNKNOWN),
        currency=None,
        timezone=None,
        created_at=None,
        updated_at=None,
        source_modified_at=None,
        details=LayerDetails(
            individual_name=wire.individual_name,
            company_name=wire.company_name,
            email=wire.email,
            mobile_phone=wire.mobile_phone,
            office_phone=wire.office_phone,
            address_string=wire.address_string,
            status=wire.status,
            memo=memo,
            reference_number=wire.reference_number,
            metadata=wire.metadata,
            type=wire.type,
        ),
        raw=raw,
    )


def _tag(tag: LayerTag) -> Tag:
    return Tag(
        key=tag.key,
        value=tag.value,
        id=tag.id,
        dimension_display_name=tag.dimension_display_name,
        value_display_name=tag.value_display_name,
        dimension_id=tag.dimension_id,
        definition_id=tag.definition_id,
        created_at=tag.created_at,
        updated_at=tag.updated_at,
        deleted_at=tag.deleted_at,
        archived_at=tag.archived_at,
    )


__all__ = ["to_domain"]
