"""Codat wire customer → domain customer."""

from __future__ import annotations

from gateway.domain.customer import (
    Address,
    AddressType,
    Contact,
    Customer,
    CustomerKey,
    CustomerStatus,
    Phone,
    PhoneType,
)
from gateway.providers.codat import CODAT
from gateway.providers.codat.details import CodatDetails
from gateway.providers.codat.wire import CodatAddress, CodatContact, CodatCustomer
from gateway.providers.names import display_name, person_name
from gateway.providers.normalise import normalised
from gateway.providers.text import text, texts
from gateway.providers.values import metadata_entries, phones

_STATUSES = {
    "Active": CustomerStatus.ACTIVE,
    "Archived": CustomerStatus.ARCHIVED,
    "Unknown": CustomerStatus.UNKNOWN,
}
_ADDRESS_TYPES = {"Billing": AddressType.BILLING, "Delivery": AddressType.DELIVERY}
_PHONE_TYPES = {
    "Primary": PhoneType.PRIMARY,
    "Landline": PhoneType.LANDLINE,
    "Mobile": PhoneType.MOBILE,
    "Fax": PhoneType.FAX,
}
# ISO 4217's "no currency", which Codat sends when the source has none.
NO_CURRENCY = "XXX"


def to_domain(wire: CodatCustomer, company_id: str, raw: object = None) -> Customer:
    """The mapped customer, its countries and phones normalised like every provider's."""
    return normalised(_mapped(wire, company_id, raw))


def _mapped(wire: CodatCustomer, company_id: str, raw: object = None) -> Customer:
    is_deleted = wire.metadata.isDeleted if wire.metadata else None
    status = CustomerStatus.DELETED if is_deleted else _status(wire.status)
    name = text(wire.customerName)
    contact = person_name(wire.contactName)
    currency = text(wire.defaultCurrency)
    supplemental = wire.supplementalData.content if wire.supplementalData else None
    return Customer(
        key=CustomerKey(CODAT, company_id, wire.id),
        external_id=None,
        display_name=display_name(None, name, None, contact),
        company_name=name,
        legal_name=None,
        person_name=contact,
        customer_type=None,
        emails=texts(wire.emailAddress),
        phones=phones((wire.phone, PhoneType.PRIMARY)),
        addresses=tuple(_address(a) for a in wire.addresses or ()),
        contacts=tuple(_contact(c) for c in wire.contacts or ()),
        taxes=(),
        tax_id=text(wire.taxNumber),
        registration_number=text(wire.registrationNumber),
        integration_links=(),
        tags=(),
        metadata=metadata_entries(supplemental),
        notes=None,
        reference_number=None,
        status=status,
        currency=None if currency in (None, NO_CURRENCY) else currency,
        timezone=None,
        created_at=None,
        # The source's change time; without one (see `_deleted_in_source`), the time Codat
        # saw the change, so a `modifiedSince` filter still finds deletions.
        updated_at=wire.sourceModifiedDate or wire.modifiedDate,
        source_modified_at=wire.sourceModifiedDate,
        details=CodatDetails(
            customer_name=wire.customerName,
            contact_name=wire.contactName,
            email_address=wire.emailAddress,
            default_currency=wire.defaultCurrency,
            phone=wire.phone,
            status=wire.status,
            is_deleted=is_deleted,
            deleted_in_source=_deleted_in_source(wire),
            supplemental_data=supplemental,
            modified_date=wire.modifiedDate,
            source_modified_date=wire.sourceModifiedDate,
        ),
        raw=raw,
    )


def _deleted_in_source(wire: CodatCustomer) -> bool | None:
    """True when Codat marks the record deleted; None when `sourceModifiedDate` is null, which
    Codat sends for a record deleted in the source without a deletion date, but also for a
    voided one and on platforms that keep no modification dates (Codat's Customer schema,
    "Source Modified Date"), so it cannot say which; else False."""
    if wire.metadata and wire.metadata.isDeleted:
        return True
    return None if wire.sourceModifiedDate is None else False


def _status(value: str | None) -> CustomerStatus:
    # A status Codat adds later reads as UNKNOWN; the value as sent stays beside it.
    return _STATUSES.get(value or "", CustomerStatus.UNKNOWN)


def _address(wire: CodatAddress) -> Address:
    return Address(
        type=_ADDRESS_TYPES.get(wire.type or "", AddressType.UNKNOWN),
        provider_type=wire.type,
        line1=wire.line1,
        line2=wire.line2,
        city=wire.city,
        region=wire.region,
        postal_code=wire.postalCode if wire.postalCode is not None else wire.postalcode,
        country=wire.country,
    )


def _contact(wire: CodatContact) -> Contact:
    return Contact(
        name=wire.name,
        email=wire.email,
        phones=tuple(
            Phone(
                number=p.number,
                type=_PHONE_TYPES.get(p.type or "", PhoneType.UNKNOWN),
                provider_type=p.type,
            )
            for p in wire.phone or ()
        ),
        address=_address(wire.address) if wire.address else None,
        status=_status(wire.status),
        modified_at=wire.modifiedDate,
        provider_status=wire.status,
    )


__all__ = ["NO_CURRENCY", "to_domain"]
