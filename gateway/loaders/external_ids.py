"""`customerByExternalId` over several accounts of one provider.

Every account is asked at once. The answer is the first account's, in the order the tenant
configures them, that has the id: an account that failed before it is raised rather than
skipped, since it might have held the id, so the answer never depends on which call failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.domain.customer import Customer
from gateway.providers.base import CustomerSource


async def first_by_external_id(
    sources: Sequence[CustomerSource], external_id: str
) -> Customer | None:
    """The customer with `external_id` in the first of `sources` that has one, or None."""
    outcomes = await asyncio.gather(
        *(s.get_by_external_id(external_id) for s in sources), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is not None:
            return outcome
    return None


__all__ = ["first_by_external_id"]
