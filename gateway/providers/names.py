"""Names, one rule for every provider: the person's name parts, and the display name.

docs/records.md states the rule; every mapping builds `personName` and `displayName` here.
"""

from __future__ import annotations

import re
import unicodedata

from gateway.domain.customer import CustomerType, PersonName
from gateway.providers.text import first_text, text, texts

# One name: letters, with inner apostrophes (straight or typographic) or hyphens (O'Brien,
# Smith-Jones).
_NAME = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
# Titles and suffixes that make a two-word name not "given family" (Dr Who, Jones Jr).
_NOT_NAMES = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "jr", "sr"})


def person_name(
    full: str | None, first: str | None = None, last: str | None = None
) -> PersonName | None:
    """A person's name from a provider's full name and/or its first and last names.

    Given parts win, and make the full name. A full name alone is split only when that is
    unambiguous: exactly two words, both in the Latin script, neither an initial, title or
    suffix. Otherwise (one word or three, "Doe, John", "山田 太郎", whose family name comes
    first) only `full_name` is set: which word is the family name is not written down.
    """
    given, family = text(first), text(last)
    if given or family:
        return PersonName(" ".join(texts(given, family)), given, family)
    whole = " ".join((full or "").split())
    if not whole:
        return None
    words = whole.split(" ")
    if len(words) == 2 and all(_is_plain_latin_name(w) for w in words):
        return PersonName(whole, words[0], words[1])
    return PersonName(whole)


def display_name(
    customer_type: CustomerType | None,
    company_name: str | None,
    legal_name: str | None,
    person: PersonName | None,
) -> str | None:
    """The one display-name rule: a person is shown by their own name, then company and legal
    name; a company (or a customer of unknown type) by its company name, then its legal name,
    then its contact person's name."""
    person_full = person.full_name if person else None
    if customer_type is CustomerType.INDIVIDUAL:
        return first_text(person_full, company_name, legal_name)
    return first_text(company_name, legal_name, person_full)


def _is_plain_latin_name(word: str) -> bool:
    if not _NAME.fullmatch(word) or word.casefold() in _NOT_NAMES:
        return False
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(unicodedata.name(c, "").startswith("LATIN") for c in letters)


__all__ = ["display_name", "person_name"]
