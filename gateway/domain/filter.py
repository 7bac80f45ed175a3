"""The customer filter and its gateway-side meaning.

Providers receive a *superset* query where their API allows one (push-down); the gateway then
applies `CustomerFilter.matches` to every item. Because the gateway always has the last word, a
listing gives the same customers whether or not a filter was pushed down.

`name` and `search` match word by word: every word of the text must occur in one of the names
(or emails), not necessarily the same one, so "Ada Lovelace" finds a customer whose first name
is Ada and last name Lovelace. A provider that can search only one value is sent the longest
word (`pushed_word`): every match contains it, so the push-down stays a superset.
docs/filters.md lists each provider's push-down.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain.customer import Customer, CustomerStatus


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    # Each word a case-insensitive substring of some name (display, company, legal, person)
    # or email.
    search: str | None = None
    # Each word a case-insensitive substring of some name only.
    name: str | None = None
    # Case-insensitive exact match of any of the customer's emails.
    email: str | None = None
    external_id: str | None = None
    statuses: frozenset[CustomerStatus] | None = None
    # Customers whose `updatedAt` is at or after this instant; customers without one never match.
    modified_since: datetime | None = None

    def fingerprint(self) -> str:
        """A short stable digest, so a cursor can refuse to continue a different filter."""
        statuses = ",".join(sorted(s.value for s in self.statuses)) if self.statuses else ""
        since = self.modified_since.isoformat() if self.modified_since else ""
        parts = [self.search, self.name, self.email, self.external_id, statuses, since]
        text = "\x1f".join(p or "" for p in parts)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def matches(self, customer: Customer) -> bool:
        if self.statuses is not None and customer.status not in self.statuses:
            return False
        if self.external_id is not None and customer.external_id != self.external_id:
            return False
        if self.email is not None:
            wanted = self.email.casefold()
            if not any(e.casefold() == wanted for e in customer.emails):
                return False
        if self.name is not None and not _contains(_names(customer), self.name):
            return False
        if self.search is not None and not _contains(
            (*_names(customer), *customer.emails), self.search
        ):
            return False
        if self.modified_since is not None:
            updated = customer.updated_at
            if updated is None or _as_utc(updated) < _as_utc(self.modified_since):
                return False
        return True


EMPTY_FILTER = CustomerFilter()


def _names(customer: Customer) -> tuple[str, ...]:
    person = customer.person_name
    names = (
        customer.display_name,
        customer.company_name,
        customer.legal_name,
        person.full_name if person else None,
        person.first_name if person else None,
        person.last_name if person else None,
    )
    return tuple(n for n in names if n)


def search_words(text: str) -> tuple[str, ...]:
    """The words of a name or search text; a text of blanks only is its own one word (it
    then matches a name holding those blanks, as it always did)."""
    return tuple(text.split()) or (text,)


def pushed_word(text: str) -> str:
    """The word of `text` to send a provider that searches for one value: the longest, the
    most selective, and contained in every customer the whole text matches."""
    return max(search_words(text), key=len)


def _contains(haystacks: tuple[str, ...], needle: str) -> bool:
    folded = [h.casefold() for h in haystacks]
    return all(any(w.casefold() in h for h in folded) for w in search_words(needle))


def _as_utc(moment: datetime) -> datetime:
    # Codat sends zone-less local times; they compare as UTC, the only reading we can defend.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["EMPTY_FILTER", "CustomerFilter", "pushed_word", "search_words"]
