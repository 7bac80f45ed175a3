"""What a request asks about freshness, read at the edge before anything runs.

`Cache-Control: max-age=N` (RFC 9111 §5.2.1.1) is the oldest cached answer the client takes,
for every read of the request: an entry N seconds old or older is read again first. A value
that is no whole number of seconds is refused (400 BAD_USER_INPUT); one past 2^31 is taken as
2^31, as the RFC tells caches to.

A document that selects `freshness` (`Customer.freshness`) or passes `maxAge` wants figures
true when its answer is sent, so it is never stored in, nor answered from, the whole-response
cache; so is a request with `Cache-Control: max-age`. The document's names are read with
GraphQL's lexer (so a comment or a string does not count), before it is parsed or validated:
any field, argument or alias so named counts, which errs on the side of executing.

Usage: `demand = FreshnessDemand.of(request.headers, document.query)`; `demand.live`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from graphql import GraphQLError, Source, TokenKind
from graphql.language.lexer import Lexer

from gateway.http.rejection import Rejection

# The schema's names that make an answer live (resolvers/types/customer.py, resolvers/query.py).
FRESHNESS_FIELD = "freshness"
MAX_AGE_ARGUMENT = "maxAge"
# RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as 2^31.
MAX_DELTA_SECONDS = 2**31
_MAX_AGE = re.compile(r"^\s*max-age\s*=\s*\"?([^\",]*)\"?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FreshnessDemand:
    """One request's freshness asks: its header max-age, and what its document names."""

    # Cache-Control: max-age, in seconds; None when not sent.
    max_age: int | None = None
    # The document selects `freshness`: the answer carries `extensions.freshness`.
    shown: bool = False
    # The document passes `maxAge` to some field.
    argued: bool = False

    @property
    def live(self) -> bool:
        """The answer must be computed now: not stored whole, not served whole."""
        return self.shown or self.argued or self.max_age is not None

    @classmethod
    def of(cls, headers: Mapping[str, str], query: str) -> FreshnessDemand:
        names = named(query, frozenset({FRESHNESS_FIELD, MAX_AGE_ARGUMENT}))
        return cls(
            requested_max_age(headers.get("cache-control")),
            FRESHNESS_FIELD in names,
            MAX_AGE_ARGUMENT in names,
        )


NO_DEMAND = FreshnessDemand()


def requested_max_age(cache_control: str | None) -> int | None:
    """The `max-age` directive of a request's Cache-Control; None without one."""
    if not cache_control:
        return None
    for directive in cache_control.split(","):
        match = _MAX_AGE.match(directive)
        if match is None:
            continue
        value = match.group(1).strip()
        if not value.isascii() or not value.isdigit():
            raise Rejection(
                400,
                "BAD_USER_INPUT",
                "Cache-Control max-age must be a whole number of seconds, 0 or more",
            )
        # Leading zeros aside, more digits than 2^31 has can only be larger.
        digits = value.lstrip("0") or "0"
        return MAX_DELTA_SECONDS if len(digits) > 10 else min(int(digits), MAX_DELTA_SECONDS)
    return None


def named(query: str, wanted: frozenset[str]) -> frozenset[str]:
    """Which of `wanted` occur as names in `query` (up to where it stops lexing)."""
    if not any(w in query for w in wanted):
        return frozenset()
    found: set[str] = set()
    lexer = Lexer(Source(query))
    try:
        while (token := lexer.advance()).kind is not TokenKind.EOF:
            if token.kind is TokenKind.NAME and token.value in wanted:
                found.add(token.value)
    except GraphQLError:
        # Garbage past this point: execution will refuse the document anyway.
        pass
    return frozenset(found)


__all__ = [
    "FRESHNESS_FIELD",
    "MAX_AGE_ARGUMENT",
    "MAX_DELTA_SECONDS",
    "NO_DEMAND",
    "FreshnessDemand",
    "named",
    "requested_max_age",
]
