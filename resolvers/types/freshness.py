"""`Customer.freshness`: how old a customer's data is, and where this answer got it."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from gateway.domain.freshness import Freshness as DomainFreshness
from gateway.domain.freshness import ServedFrom

strawberry.enum(
    ServedFrom,
    description="Where an answer came from. UPSTREAM: read from the provider while serving "
    "this request. CACHE: a cache entry within its TTL. STALE: an entry past its TTL, or past "
    "the maxAge asked for, served because the provider was being refreshed or failed "
    "(stale-while-revalidate, stale-if-error). WEBHOOK: an entry within its TTL that a "
    "verified provider webhook wrote.",
)


@strawberry.type(
    description="How fresh a customer is, as of when this answer was read (docs/freshness.md)."
)
class Freshness:
    fetched_at: datetime = strawberry.field(
        description="When the data left the provider (or when the webhook carrying it was applied)."
    )
    age_seconds: float = strawberry.field(
        description="Seconds between `fetchedAt` and this answer's read of it."
    )
    served_from: ServedFrom

    @staticmethod
    def from_domain(f: DomainFreshness | None) -> Freshness:
        if f is None:
            # A source that reports no freshness reads no cache: its answer is this request's.
            return Freshness(
                fetched_at=datetime.now(UTC), age_seconds=0.0, served_from=ServedFrom.UPSTREAM
            )
        return Freshness(
            fetched_at=f.fetched_at, age_seconds=f.age_seconds, served_from=f.served_from
        )


__all__ = ["Freshness", "ServedFrom"]
