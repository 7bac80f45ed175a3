"""How fresh a customer is: when its data left the provider, and how this answer got it.

A read stamps every customer it returns (gateway/providers/client.py) with the cache entry it
was read from, so the figures are the read's own, never those of the parse shared by every
read of the same bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime


class ServedFrom(enum.Enum):
    """Where an answer came from.

    UPSTREAM: read from the provider while serving this request. CACHE: a cache entry within
    its TTL. STALE: an entry past its TTL (stale-while-revalidate), or past the age a client
    demanded, served because the provider failed (stale-if-error). WEBHOOK: an entry within
    its TTL that a verified provider webhook wrote.
    """

    UPSTREAM = "UPSTREAM"
    CACHE = "CACHE"
    STALE = "STALE"
    WEBHOOK = "WEBHOOK"


@dataclass(frozen=True, slots=True)
class Freshness:
    """Usage: `Freshness.at(stored_at=1750000000.0, now=1750000012.5, served_from=CACHE)`."""

    fetched_at: datetime
    age_seconds: float
    served_from: ServedFrom

    @classmethod
    def at(cls, stored_at: float, now: float, served_from: ServedFrom) -> Freshness:
        """From epoch seconds on the cache's clock: stored at `stored_at`, read at `now`."""
        fetched_at = datetime.fromtimestamp(stored_at, UTC)
        return cls(fetched_at, max(0.0, now - stored_at), served_from)


__all__ = ["Freshness", "ServedFrom"]
