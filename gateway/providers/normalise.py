"""The normalised values beside the raw ones: country codes and E.164 numbers, set once
for every provider after its mapping has built the customer."""

from __future__ import annotations

from dataclasses import replace

from gateway.domain.customer import Address, Contact, Customer, Phone
from gateway.providers.countries import country_code
from gateway.providers.phones import e164, extension


def normalised(customer: Customer) -> Customer:
    """`customer` with each address's `country_code` and each phone's `e164` and `extension`.

    A number written without `+` is read in the record's country: the first country code of
    its addresses, then of its contacts' addresses (a contact's own address first, for the
    contact's phones).
    """
    addresses = tuple(_address(a) for a in customer.addresses)
    contact_addresses = tuple(_address(c.address) for c in customer.contacts if c.address)
    region = _region(addresses + contact_addresses)
    return replace(
        customer,
        addresses=addresses,
        phones=_phones(customer.phones, region),
        contacts=tuple(_contact(c, region) for c in customer.contacts),
    )


def _address(address: Address) -> Address:
    if address.country_code is not None:
        return address
    return replace(address, country_code=country_code(address.country))


def _region(addresses: tuple[Address, ...]) -> str | None:
    return next((a.country_code for a in addresses if a.country_code), None)


def _phones(phones: tuple[Phone, ...], region: str | None) -> tuple[Phone, ...]:
    return tuple(
        replace(p, e164=e164(p.number, region), extension=extension(p.number, region))
        for p in phones
    )


def _contact(contact: Contact, region: str | None) -> Contact:
    address = _address(contact.address) if contact.address else None
    own = address.country_code if address else None
    return replace(contact, address=address, phones=_phones(contact.phones, own or region))


__all__ = ["normalised"]
