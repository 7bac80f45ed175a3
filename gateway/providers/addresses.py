"""One-line addresses → structured fields, only where the line parses unambiguously.

usaddress (a maintained CRF parser of US addresses) labels the words; it labels any line,
though, a London or Berlin one too, so its answer is kept only when every word is part of a
US street address or PO box (no recipient, building, landmark or intersection), in the usual
order (street, unit, city, state, ZIP, country), the
state is a US state or territory, the ZIP is a ZIP, and a country, if written, is the US.
Everything else keeps the line whole in `formatted`. Alternatives checked: pyap2 (regex,
US/CA/GB) misreads British postcodes; libpostal needs a native library and a model
download; deepparse downloads model weights at run time.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry
import usaddress

from gateway.domain.customer import Address, AddressType
from gateway.providers.countries import country_code
from gateway.providers.text import text

# A longer line is no single postal address; it is kept whole and not handed to the parser.
_LONGEST = 200
_ZIP = re.compile(r"\d{5}(?:-\d{4})?", re.ASCII)
_ZIP_IN_LINE = re.compile(r"(?<!\d)\d{5}(?:-\d{4})?(?!\d)", re.ASCII)
_PARTS = ("line1", "line2", "city", "region", "postal_code", "country")
# Each usaddress label → the part it belongs to; parts must come in `_PARTS` order.
_LABELS = {
    **dict.fromkeys(
        (
            "AddressNumberPrefix",
            "AddressNumber",
            "AddressNumberSuffix",
            "StreetNamePreModifier",
            "StreetNamePreDirectional",
            "StreetNamePreType",
            "StreetName",
            "StreetNamePostType",
            "StreetNamePostDirectional",
            "StreetNamePostModifier",
            "USPSBoxType",
            "USPSBoxID",
            "USPSBoxGroupType",
            "USPSBoxGroupID",
        ),
        "line1",
    ),
    **dict.fromkeys(
        ("OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier"),
        "line2",
    ),
    "PlaceName": "city",
    "StateName": "region",
    "ZipCode": "postal_code",
    "CountryName": "country",
}
_US = "US"


def from_line(kind: AddressType, line: str) -> Address:
    """The address `line` stands for: `formatted` is always the line as given; the other
    fields are filled only when it parses unambiguously (see the module's docstring)."""
    parts = _parse(line) if len(line) <= _LONGEST else None
    if parts is None:
        return Address(type=kind, formatted=line)
    return Address(
        type=kind,
        line1=parts["line1"],
        line2=parts.get("line2"),
        city=parts["city"],
        region=parts["region"],
        postal_code=parts["postal_code"],
        country=parts.get("country"),
        country_code=_US,
        formatted=line,
    )


@lru_cache(maxsize=4096)
def _parse(line: str) -> dict[str, str] | None:
    # No ZIP, no parse: saves the parser's time on the lines it could never accept.
    if not _ZIP_IN_LINE.search(line):
        return None
    words: dict[str, list[str]] = {}
    order: list[str] = []
    for token, label in usaddress.parse(line):
        part = _LABELS.get(label)
        if part is None:
            return None
        if not order or order[-1] != part:
            if part in words:
                return None
            order.append(part)
            words[part] = []
        words[part].append(token.strip(","))
    if order != sorted(order, key=_PARTS.index):
        return None
    parts = {part: found for part, tokens in words.items() if (found := text(" ".join(tokens)))}
    if not {"line1", "city", "region", "postal_code"} <= parts.keys():
        return None
    written = parts.get("country")
    if written is not None and country_code(written) != _US:
        return None
    if not _ZIP.fullmatch(parts["postal_code"]) or not _is_us_state(parts["region"]):
        return None
    return parts


def _is_us_state(region: str) -> bool:
    return region.casefold() in _us_states()


@lru_cache(maxsize=1)
def _us_states() -> frozenset[str]:
    """Codes ("AZ") and names ("Arizona") of the US states, DC and the outlying areas."""
    names: set[str] = set()
    # pycountry's `get` is untyped; it returns the country's subdivisions.
    subdivisions = pycountry.subdivisions.get(country_code=_US)  # type: ignore[no-untyped-call]
    for sub in subdivisions or ():
        names.add(sub.code.removeprefix(f"{_US}-").casefold())
        names.add(sub.name.casefold())
    return frozenset(names)


# Read pycountry's subdivisions (~0.1 s) when the mappings are imported, at start-up, rather
# than inside the first request's deadline.
_us_states()

__all__ = ["from_line"]
