"""Codat's query language: clauses `field<op>value`, joined with `&&`, grouped with `{ }`.

Only values free of the language's own characters are pushed down: Codat documents no quoting,
so anything else is filtered in the gateway instead.
"""

from __future__ import annotations

from gateway.domain.customer import CustomerStatus
from gateway.domain.filter import CustomerFilter, search_words

MAX_QUERY_LENGTH = 2048
_RESERVED = frozenset("&|{}=!~<>\"',()")
_CODAT_STATUS = {
    CustomerStatus.ACTIVE: "Active",
    CustomerStatus.ARCHIVED: "Archived",
    CustomerStatus.UNKNOWN: "Unknown",
}


def is_plain(value: str) -> bool:
    return bool(value) and not any(c in _RESERVED for c in value)


def any_of(field: str, op: str, values: list[str]) -> str:
    clauses = "||".join(f"{field}{op}{v}" for v in values)
    return f"{{{clauses}}}" if len(values) > 1 else clauses


def filter_query(filter: CustomerFilter) -> str | None:
    """A query selecting a superset of the customers `filter` matches, or None for "all"."""
    clauses: list[str] = []
    if filter.statuses is not None and CustomerStatus.DELETED not in filter.statuses:
        # A customer deleted at the source keeps its Codat status, so DELETED cannot be pushed.
        names = sorted(_CODAT_STATUS[s] for s in filter.statuses if s in _CODAT_STATUS)
        if names:
            clauses.append(any_of("status", "=", names))
    if filter.name:
        clauses.extend(_every_word(("customerName", "contactName"), filter.name))
    if filter.search:
        clauses.extend(_every_word(("customerName", "contactName", "emailAddress"), filter.search))
    if filter.email and is_plain(filter.email):
        clauses.append(f"emailAddress~{filter.email}")
    if filter.modified_since is not None:
        clauses.append(f"modifiedDate>={filter.modified_since.isoformat()}")
    query = "&&".join(clauses)
    if not query or len(query) > MAX_QUERY_LENGTH:
        return None
    return query


def _every_word(fields: tuple[str, ...], text: str) -> list[str]:
    """One clause per word, each in any of `fields`: every word of a match is in one of them,
    not all in the same one. A word Codat's language cannot carry is left to the gateway."""
    return [
        "{" + "||".join(f"{f}~{word}" for f in fields) + "}"
        for word in search_words(text)
        if is_plain(word)
    ]


__all__ = ["MAX_QUERY_LENGTH", "any_of", "filter_query", "is_plain"]
