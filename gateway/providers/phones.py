"""Phone numbers as providers write them → E.164, with the extension apart."""

from __future__ import annotations

import phonenumbers

from gateway.providers.text import text

# Longer than any number with an extension; a longer value is not handed to the parser.
_LONGEST = 64


def e164(number: str | None, region: str | None) -> str | None:
    """`+<country code><number>` for a number the numbering plan says exists, else None.

    A number without a `+` is read as a national number of `region` (ISO alpha-2, the
    record's country). With no region known, a leading `00` is read as `+`: the ITU's
    recommended international prefix, and a number starting so can be nothing else there.
    A number that parses but is not valid (555 numbers, wrong lengths) is None rather than a
    plausible-looking E.164 of a number that does not exist.
    """
    parsed = _parse(number, region)
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def extension(number: str | None, region: str | None) -> str | None:
    """The extension of a valid number ("x245", "ext. 12", ";ext=7"), which E.164 leaves out."""
    parsed = _parse(number, region)
    return (parsed.extension or None) if parsed is not None else None


def _parse(number: str | None, region: str | None) -> phonenumbers.PhoneNumber | None:
    given = text(number)
    if given is None or len(given) > _LONGEST:
        return None
    if region is None and given.startswith("00"):
        given = "+" + given[2:]
    try:
        parsed = phonenumbers.parse(given, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


__all__ = ["e164", "extension"]
