"""Every provider's mapping normalises the same way: country codes, E.164 phones, Layer's
one-line address, person names and the one display-name rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.domain.customer import Address, AddressType, CustomerType, PersonName, Phone
from gateway.domain.customer import PhoneType as P
from gateway.providers.codat.mapping import to_domain as codat_to_domain
from gateway.providers.codat.wire import CodatCustomer
from gateway.providers.lago.mapping import to_domain as lago_to_domain
from gateway.providers.lago.wire import LagoCustomer
from gateway.providers.layer.mapping import to_domain as layer_to_domain
from gateway.providers.layer.wire import LayerCustomer

EXAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "examples"


# "04 360 0000" (a Dubai landline) in Arabic-Indic digits.
ARABIC_INDIC_DUBAI = "\u0660\u0664 \u0663\u0666\u0660 \u0660\u0660\u0660\u0660"


def example(provider: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / f"{provider}_customer.json").read_text())
    return {**record, **changes}


def layer(**changes: Any) -> Any:
    return layer_to_domain(LayerCustomer.model_validate(example("layer", **changes)), "biz")


def codat(**changes: Any) -> Any:
    return codat_to_domain(CodatCustomer.model_validate(example("codat", **changes)), "co")


def lago(**changes: Any) -> Any:
    return lago_to_domain(LagoCustomer.model_validate(example("lago", **changes)), "org")


def test_layer_address_string_is_formatted_and_parsed() -> None:
    c = layer()
    assert c.addresses == (
        Address(
            type=AddressType.UNKNOWN,
            line1="123 Main St",
            city="Phoenix",
            region="AZ",
            postal_code="85001",
            country_code="US",
            formatted="123 Main St, Phoenix, AZ 85001",
        ),
    )


def test_layer_foreign_address_is_kept_whole() -> None:
    line = "10 Downing Street, London SW1A 2AA"
    c = layer(address_string=line)
    assert c.addresses == (Address(type=AddressType.UNKNOWN, formatted=line),)


def test_layer_phones_use_the_parsed_country() -> None:
    c = layer(mobile_phone="(415) 555-2671", office_phone="+44 20 7946 0958 ext. 12")
    assert c.phones == (
        Phone("(415) 555-2671", P.MOBILE, e164="+14155552671"),
        Phone("+44 20 7946 0958 ext. 12", P.OFFICE, e164="+442079460958", extension="12"),
    )
    # The example's 555 numbers do not exist: raw kept, no E.164.
    assert [p.e164 for p in layer().phones] == [None, None]


def test_layer_national_number_without_a_known_country_has_no_e164() -> None:
    c = layer(address_string=None, mobile_phone="(415) 555-2671", office_phone=None)
    assert c.phones == (Phone("(415) 555-2671", P.MOBILE),)


def test_layer_individual_name_is_a_person_name() -> None:
    c = layer()
    assert c.person_name == PersonName("John Doe", "John", "Doe")
    assert c.display_name == "Acme, Inc."
    person = layer(company_name=None, individual_name="Mary Ann Smith")
    assert person.customer_type is CustomerType.INDIVIDUAL
    assert person.person_name == PersonName("Mary Ann Smith")
    assert person.display_name == "Mary Ann Smith"


def test_codat_countries_and_contact_names() -> None:
    c = codat(
        phone="01 42 92 81 00",
        addresses=[
            {"type": "Billing", "line1": "1 Rue", "city": "Paris", "country": "France"},
            {"type": "Delivery", "line1": "Hauptstraße 5", "country": "Deutschland"},
        ],
    )
    assert [(a.country, a.country_code) for a in c.addresses] == [
        ("France", "FR"),
        ("Deutschland", None),
    ]
    # The record's country is its first address's: France.
    assert c.phones == (Phone("01 42 92 81 00", P.PRIMARY, e164="+33142928100"),)
    assert c.contacts[0].address.country_code == "US"
    # "Mr W.E. Coyote" has a title and initials: not split.
    assert c.person_name == PersonName("Mr W.E. Coyote")
    assert c.display_name == "Wile E. Coyote"


def test_codat_contact_phones_use_the_contacts_country() -> None:
    contact = example("codat")["contacts"][0]
    contact = {**contact, "phone": [{"number": "(520) 555-0142", "type": "Mobile"}]}
    c = codat(contacts=[contact], phone="(520) 555-0142")
    assert c.contacts[0].phones[0].e164 == "+15205550142"
    # No address of the record's own: the contact's country is the record's.
    assert c.phones[0].e164 == "+15205550142"


def test_codat_display_name_falls_back_to_the_contact() -> None:
    c = codat(customerName=None)
    assert c.display_name == "Mr W.E. Coyote"


def test_lago_company_is_shown_by_the_name_it_is_known_by() -> None:
    c = lago()
    # Lago's `name` is the customer's name; its example fills it with a person's name.
    assert c.company_name == c.display_name == "Gavin Belson"
    assert c.legal_name == "Coleman-Blair"
    assert c.person_name == PersonName("Gavin Belson", "Gavin", "Belson")
    assert [(a.country, a.country_code) for a in c.addresses] == [("US", "US"), ("US", "US")]
    # "1-171-883-3711 x245" is not a number of the US plan: raw only.
    assert c.phones == (Phone("1-171-883-3711 x245", P.PRIMARY),)


def test_lago_company_without_a_name_is_shown_by_its_legal_name() -> None:
    c = lago(name=" ")
    assert c.company_name == c.display_name == "Coleman-Blair"


def test_lago_individual_is_shown_by_their_own_name() -> None:
    c = lago(customer_type="individual", name="Gav")
    # The legal company name is still the company name, but a person is shown by their name.
    assert c.company_name == "Coleman-Blair"
    assert c.display_name == "Gavin Belson"
    alone = lago(customer_type="individual", firstname=None, lastname=None, name="Ada Lovelace")
    assert alone.person_name == PersonName("Ada Lovelace", "Ada", "Lovelace")
    assert alone.display_name == "Ada Lovelace"


def test_lago_customer_of_no_type_reads_as_a_company() -> None:
    c = lago(customer_type=None, firstname=None, lastname=None)
    assert c.company_name == c.display_name == "Gavin Belson"
    assert c.person_name is None
    nameless = lago(customer_type=None, name=None, legal_name=None)
    assert nameless.display_name == "Gavin Belson"
    assert nameless.company_name is None


def test_lago_phone_in_the_billing_country() -> None:
    c = lago(country="GB", phone="020 7946 0958", shipping_address=None)
    assert c.phones[0].e164 == "+442079460958"
    rtl = lago(country="AE", phone=ARABIC_INDIC_DUBAI, name="شركة الاختبار 🚀", legal_name=None)
    assert rtl.display_name == "شركة الاختبار 🚀"
    assert rtl.phones[0].e164 == "+97143600000"
