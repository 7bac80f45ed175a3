"""Phone numbers as providers write them → E.164, with the extension apart."""

from __future__ import annotations

from functools import lru_cache

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
    given = text(number)
    return _read(given, region)[0] if given else None


def extension(number: str | None, region: str | None) -> str | None:
    """The extension of a valid number ("x245", "ext. 12", ";ext=7"), which E.164 leaves out."""
    given = text(number)
    return _read(given, region)[1] if given else None


# Pages repeat the same numbers (every read of a cached page maps it again), and parsing
# costs about a tenth of a millisecond.
@lru_cache(maxsize=4096)
def _read(given: str, region: str | None) -> tuple[str | None, str | None]:
    if len(given) > _LONGEST:
        return None, None
    if region is None and given.startswith("00"):
        given = "+" + given[2:]
    try:
        parsed = phonenumbers.parse(given, region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(parsed):
        return None, None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return formatted, parsed.extension or None


__all__ = ["e164", "extension"]
