"""Countries, phone numbers, one-line addresses and names: normalised beside the raw value,
and null wherever the library cannot resolve a value without guessing."""

from __future__ import annotations

import pytest

from gateway.domain.customer import Address, AddressType, CustomerType, PersonName
from gateway.providers.addresses import from_line
from gateway.providers.countries import country_code
from gateway.providers.names import display_name, person_name
from gateway.providers.phones import e164, extension

# "020 7946 0958" (a London number) in Arabic-Indic digits.
ARABIC_INDIC_LONDON = "\u0660\u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0669\u0665\u0668"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("US", "US"),
        ("us", "US"),
        ("  gb ", "GB"),
        ("USA", "US"),
        ("DEU", "DE"),
        ("276", "DE"),
        ("United States", "US"),
        ("united kingdom", "GB"),
        ("Germany", "DE"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Côte d'Ivoire", "CI"),
        ("Türkiye", "TR"),
        ("Korea, Republic of", "KR"),
        # pycountry knows each country's flag emoji.
        ("🇩🇪", "DE"),
        # Neither ISO codes nor ISO's English names: pycountry does not resolve them, and we
        # keep no table of our own to guess with.
        ("UK", None),
        ("England", None),
        ("Deutschland", None),
        ("ألمانيا", None),
        ("X" * 5000, None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_country_codes(given: str | None, code: str | None) -> None:
    assert country_code(given) == code


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        # National formats need the record's country.
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", None, None),
        ("(415) 555-2671", "US", "+14155552671"),
        ("030 901820", "DE", "+4930901820"),
        # 00 is the international prefix from Germany or Britain; with no country known it is
        # read as the ITU's recommended international prefix.
        ("0044 20 7946 0958", "DE", "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        # From the US, 00 is not the international prefix: that is a national number.
        ("0044 20 7946 0958", "US", None),
        # Extensions stay out of E.164, which has none.
        ("+44 20 7946 0958 ext. 12", None, "+442079460958"),
        ("+1 650 253 0000;ext=7", None, "+16502530000"),
        # Arabic-Indic digits and an emoji around the number.
        (ARABIC_INDIC_LONDON, "GB", "+442079460958"),
        ("📞 +44 20 7946 0958", None, "+442079460958"),
        # Parses, but no such number exists in the numbering plan: null, not a made-up E.164.
        ("555-555-5555", "US", None),
        ("1-171-883-3711 x245", "US", None),
        ("call me", "US", None),
        ("+" + "9" * 5000, None, None),
        ("", "US", None),
        (None, "US", None),
    ],
)
def test_e164(number: str | None, region: str | None, expected: str | None) -> None:
    assert e164(number, region) == expected


def test_extensions_are_kept_apart() -> None:
    assert extension("+44 20 7946 0958 ext. 12", None) == "12"
    assert extension("+1 650 253 0000;ext=7", None) == "7"
    assert extension("+44 20 7946 0958", None) is None
    assert extension("not a number", None) is None


def test_an_unambiguous_us_line_is_parsed_and_kept() -> None:
    line = "123 Main St, Suite 4, Phoenix, AZ 85001-1234, USA"
    assert from_line(AddressType.UNKNOWN, line) == Address(
        type=AddressType.UNKNOWN,
        line1="123 Main St",
        line2="Suite 4",
        city="Phoenix",
        region="AZ",
        postal_code="85001-1234",
        country="USA",
        country_code="US",
        formatted=line,
    )


def test_the_seed_example_line_is_parsed_without_a_country_given() -> None:
    line = "123 Main St, Phoenix, AZ 85001"
    parsed = from_line(AddressType.UNKNOWN, line)
    assert (parsed.line1, parsed.city, parsed.region, parsed.postal_code) == (
        "123 Main St",
        "Phoenix",
        "AZ",
        "85001",
    )
    # No country was written: `country` stays as given (none); the state and ZIP say US.
    assert (parsed.country, parsed.country_code, parsed.formatted) == (None, "US", line)


def test_po_boxes_and_state_names_parse() -> None:
    box = from_line(AddressType.UNKNOWN, "PO Box 12, Phoenix, Arizona 85001")
    assert (box.line1, box.city, box.region, box.postal_code) == (
        "PO Box 12",
        "Phoenix",
        "Arizona",
        "85001",
    )
    dc = from_line(AddressType.UNKNOWN, "1600 Pennsylvania Ave NW, Washington, DC 20500")
    assert (dc.line1, dc.city, dc.region, dc.country_code) == (
        "1600 Pennsylvania Ave NW",
        "Washington",
        "DC",
        "US",
    )


@pytest.mark.parametrize(
    "line",
    [
        # usaddress tags this as a US street address with "London" as a suite type.
        "10 Downing Street, London SW1A 2AA",
        "Hauptstraße 5, 10115 Berlin",
        "Hauptstraße 5, 10115 Berlin, Deutschland",
        "123 Main St, Phoenix, ZZ 85001",
        "123 Main St Phoenix AZ",
        "123 Main St, Phoenix, AZ 85001, Canada",
        "Acme Inc, 123 Main St, Phoenix, AZ 85001",
        "Broadway & 42nd St, New York, NY 10036",
        "One World Trade Center, New York, NY 10007",
        "شارع الملك فهد، الرياض 12271",
        "🏠 somewhere nice",
        "1 Main St, Springfield, IL 62701 " + "x" * 5000,
    ],
)
def test_anything_else_is_kept_whole_and_unparsed(line: str) -> None:
    assert from_line(AddressType.UNKNOWN, line) == Address(type=AddressType.UNKNOWN, formatted=line)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("John Doe", "John", "Doe"),
        ("Zoë O'Brien-Smith", "Zoë", "O'Brien-Smith"),
        ("  Ada   Lovelace ", "Ada", "Lovelace"),
        # More or fewer than two names, initials, titles, a comma: which part is the family
        # name is not written down, so nothing is split.
        ("Mary Ann Smith", None, None),
        ("Cher", None, None),
        ("Mr W.E. Coyote", None, None),
        ("Doe, John", None, None),
        ("J. Doe", None, None),
        ("Dr Who", None, None),
        ("John Doe Jr", None, None),
        # Scripts whose names are commonly written family name first.
        ("山田 太郎", None, None),
        ("김 민준", None, None),
        ("محمد علي", None, None),
        ("John 😀", None, None),
    ],
)
def test_person_names_split_only_when_unambiguous(
    full: str, first: str | None, last: str | None
) -> None:
    name = person_name(full)
    assert name == PersonName(full_name=" ".join(full.split()), first_name=first, last_name=last)


def test_person_name_from_parts_and_blanks() -> None:
    assert person_name(None, "Gavin", "Belson") == PersonName("Gavin Belson", "Gavin", "Belson")
    assert person_name("G. Belson", "Gavin", None) == PersonName("Gavin", "Gavin", None)
    assert person_name("  ", None, " ") is None
    assert person_name(None) is None


def test_one_display_name_rule() -> None:
    person = PersonName("Gavin Belson", "Gavin", "Belson")
    company = CustomerType.COMPANY
    # A company: its company name, then its legal name, then its contact person.
    assert display_name(company, "Hooli", "Hooli Inc.", person) == "Hooli"
    assert display_name(company, None, "Hooli Inc.", person) == "Hooli Inc."
    assert display_name(company, None, None, person) == "Gavin Belson"
    # A person: their own name first.
    individual = CustomerType.INDIVIDUAL
    assert display_name(individual, "Hooli", None, person) == "Gavin Belson"
    assert display_name(individual, "Hooli", None, None) == "Hooli"
    # Unknown type: read as a company when it has a company name.
    assert display_name(None, "Hooli", None, person) == "Hooli"
    assert display_name(None, None, None, person) == "Gavin Belson"
    assert display_name(None, None, None, None) is None
