"""Country names and codes as providers write them → ISO 3166-1 alpha-2."""

from __future__ import annotations

from functools import lru_cache

import pycountry

from gateway.providers.text import text

# No ISO code or English country name is longer; a longer value is never looked up.
_LONGEST = 80


def country_code(value: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code for an alpha-2, alpha-3 or numeric code or an English
    name (common, short or official) in any case: "us", "USA", "840", "United States" → "US".

    Anything else is None, not a guess: pycountry resolves neither "UK" (not an ISO code)
    nor names in other languages ("Deutschland"), and we keep no table of our own.
    """
    given = text(value)
    if given is None or len(given) > _LONGEST:
        return None
    return _lookup(given)


@lru_cache(maxsize=1024)
def _lookup(given: str) -> str | None:
    try:
        found = pycountry.countries.lookup(given)
    except LookupError:
        return None
    code: str = found.alpha_2
    return code


__all__ = ["country_code"]
