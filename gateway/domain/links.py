"""One customer across providers: which records are the same customer, and on what evidence.

Pure functions over domain customers (docs/links.md): each record's normalised keys
(`link_keys`), the evidence that holds between two records (`evidence`), and an index of many
records that finds a record's partners without comparing it with every other (`LinkIndex`).

Usage: `index = LinkIndex(link_keys(c) for c in customers)`, then
`index.links(link_keys(customer), ALL_EVIDENCE)`.

The rules: explicit references first (equal external ids; an integration link naming the other
record's id), then exact equality of normalised tax ids, registration numbers and emails,
never a fuzzy name. Records of one provider are linked only by an explicit reference. Every
link's evidence holds between its own two records, so links are symmetric and never
transitive, and a record is never linked to itself.
"""

from __future__ import annotations

import enum
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.domain.customer import Customer, CustomerKey
from gateway.domain.freshness import Freshness


class LinkEvidence(enum.Enum):
    """Why two records are taken for one customer; in the order they are listed."""

    EXPLICIT_ID = "EXPLICIT_ID"
    TAX_ID = "TAX_ID"
    REGISTRATION_NUMBER = "REGISTRATION_NUMBER"
    EMAIL = "EMAIL"


ALL_EVIDENCE = frozenset(LinkEvidence)
# A tax id or registration number shorter than this, or without a digit, is a placeholder
# ("N/A", "none", "-") rather than an identifier, and would join unrelated customers.
MIN_IDENTIFIER_LENGTH = 4


def normalised_email(value: str | None) -> str | None:
    """`value` as a key: case-insensitive, surrounding spaces ignored; None unless it reads as
    one address (`local@domain`, one `@`, no spaces inside)."""
    if value is None:
        return None
    email = unicodedata.normalize("NFKC", value).strip().casefold()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        return None
    return email


def normalised_identifier(value: str | None) -> str | None:
    """A tax id or registration number as a key: letters and digits only, upper case
    (`gb 123-456.789` → `GB123456789`); None for a placeholder (shorter than
    MIN_IDENTIFIER_LENGTH, no digit, or only zeros)."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value)
    key = "".join(c for c in text if c.isalnum()).upper()
    digits = [c for c in key if c.isdigit()]
    if len(key) < MIN_IDENTIFIER_LENGTH or not digits or all(d == "0" for d in digits):
        return None
    return key


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """What a record can be linked by, normalised; the record rides along for the answer."""

    key: CustomerKey
    # Your own id for the customer, as given: equal ones across records are an explicit link.
    external_id: str | None
    # The ids the record is addressed by (its provider's id and its external id).
    ids: frozenset[str]
    # Ids of the same customer in other systems, from its integration links.
    references: frozenset[str]
    tax_id: str | None
    registration_number: str | None
    emails: frozenset[str]
    customer: Customer
    # How fresh the read that found the record was (a page's, carried beside its records).
    freshness: Freshness | None = None

    def refers_to(self, other: LinkKeys) -> bool:
        return bool(self.references & other.ids)


def link_keys(customer: Customer, freshness: Freshness | None = None) -> LinkKeys:
    """The keys `customer` is linked by; `freshness`: the read's that found it."""
    external = customer.external_id or None
    ids = {customer.key.native_id, *([external] if external else [])}
    references = {i.external_id for i in customer.integration_links if i.external_id}
    emails = {e for e in map(normalised_email, customer.emails) if e is not None}
    return LinkKeys(
        key=customer.key,
        external_id=external,
        ids=frozenset(ids),
        references=frozenset(references),
        tax_id=normalised_identifier(customer.tax_id),
        registration_number=normalised_identifier(customer.registration_number),
        emails=frozenset(emails),
        customer=customer,
        freshness=freshness,
    )


def evidence(
    a: LinkKeys, b: LinkKeys, kinds: frozenset[LinkEvidence] = ALL_EVIDENCE
) -> tuple[LinkEvidence, ...]:
    """The evidence of `kinds` that `a` and `b` are one customer, in LinkEvidence's order;
    empty when they are not linked (or are the same record). Symmetric in `a` and `b`."""
    if a.key == b.key:
        return ()
    found: list[LinkEvidence] = []
    explicit = (
        (a.external_id is not None and a.external_id == b.external_id)
        or a.refers_to(b)
        or b.refers_to(a)
    )
    if explicit and LinkEvidence.EXPLICIT_ID in kinds:
        found.append(LinkEvidence.EXPLICIT_ID)
    if a.key.provider == b.key.provider:
        # One provider's records may be two real customers that share an email or a parent
        # company's tax id; only an id the tenant set itself says they are one.
        return tuple(found)
    if LinkEvidence.TAX_ID in kinds and a.tax_id is not None and a.tax_id == b.tax_id:
        found.append(LinkEvidence.TAX_ID)
    registration = a.registration_number
    if (
        LinkEvidence.REGISTRATION_NUMBER in kinds
        and registration is not None
        and registration == b.registration_number
    ):
        found.append(LinkEvidence.REGISTRATION_NUMBER)
    if LinkEvidence.EMAIL in kinds and a.emails & b.emails:
        found.append(LinkEvidence.EMAIL)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Link:
    """`keys`' record is the same customer as the record `evidence` was checked against."""

    keys: LinkKeys
    evidence: tuple[LinkEvidence, ...]


class LinkIndex:
    """Records by every key they can be linked by, so a record's partners are found by a few
    lookups. Records are kept in the order given (their sources' order), and so are links."""

    def __init__(self, records: Iterable[LinkKeys]) -> None:
        self.records = tuple(records)
        self._by_key = {r.key: r for r in self.records}
        self._order = {r.key: n for n, r in enumerate(self.records)}
        self._by_id: dict[str, list[LinkKeys]] = defaultdict(list)
        self._by_reference: dict[str, list[LinkKeys]] = defaultdict(list)
        self._by_value: dict[tuple[LinkEvidence, str], list[LinkKeys]] = defaultdict(list)
        for r in self.records:
            for i in r.ids:
                self._by_id[i].append(r)
            for i in r.references:
                self._by_reference[i].append(r)
            for kind, value in _values(r):
                self._by_value[kind, value].append(r)

    def record(self, key: CustomerKey) -> LinkKeys | None:
        return self._by_key.get(key)

    def links(self, keys: LinkKeys, kinds: frozenset[LinkEvidence] = ALL_EVIDENCE) -> list[Link]:
        """Every indexed record linked to `keys`' record, with the evidence between the two."""
        candidates: dict[CustomerKey, LinkKeys] = {}
        for i in keys.ids:
            candidates.update((r.key, r) for r in self._by_reference.get(i, ()))
        for i in keys.references | ({keys.external_id} if keys.external_id else set()):
            candidates.update((r.key, r) for r in self._by_id.get(i, ()))
        for kind, value in _values(keys):
            candidates.update((r.key, r) for r in self._by_value.get((kind, value), ()))
        found = [Link(r, e) for r in candidates.values() if (e := evidence(keys, r, kinds))]
        found.sort(key=lambda link: self._order[link.keys.key])
        return found


def _values(keys: LinkKeys) -> list[tuple[LinkEvidence, str]]:
    values = [(LinkEvidence.EMAIL, e) for e in keys.emails]
    if keys.tax_id is not None:
        values.append((LinkEvidence.TAX_ID, keys.tax_id))
    if keys.registration_number is not None:
        values.append((LinkEvidence.REGISTRATION_NUMBER, keys.registration_number))
    return values


__all__ = [
    "ALL_EVIDENCE",
    "MIN_IDENTIFIER_LENGTH",
    "Link",
    "LinkEvidence",
    "LinkIndex",
    "LinkKeys",
    "evidence",
    "link_keys",
    "normalised_email",
    "normalised_identifier",
]
