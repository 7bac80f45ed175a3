"""`totalCount`: how many customers of the requested providers match, when that is known.

Each provider's list answer may carry a total for the query it was sent (Codat's
`totalResults`, Lago's `meta.total_count`, Layer's optional `pagination.total_count`), read
from its first page, which a forward walk has usually just read (so a cache hit). The sum is
exact only when every provider counts exactly what the gateway lists: a provider that
publishes no total makes it unknown, and so does any filter, because the gateway re-checks
every filter itself (gateway/domain/filter.py) and a provider's count of the superset query it
was sent may be larger. A provider that cannot match the filter at all counts 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.domain.provider import Provider
from gateway.errors import TotalCountUnknown
from gateway.providers.base import CustomerSource

# Why a provider's count is unknown, as `extensions.providers[].reason` says it.
NO_TOTAL = "PROVIDER_PUBLISHES_NO_TOTAL"
FILTERED = "FILTER_CHECKED_BY_GATEWAY"


async def count_customers(sources: Sequence[CustomerSource], filter: CustomerFilter) -> int:
    """The number of customers `sources` list for `filter`; TotalCountUnknown when any
    provider cannot say."""
    live = [s for s in sources if s.can_match(filter)]
    if filter != EMPTY_FILTER and live:
        raise TotalCountUnknown({s.provider: FILTERED for s in live})
    pages = await asyncio.gather(*(s.list_page(filter, None) for s in live))
    unknown: dict[Provider, str] = {}
    count = 0
    for source, page in zip(live, pages, strict=True):
        if page.total is None:
            unknown[source.provider] = NO_TOTAL
        else:
            count += page.total
    if unknown:
        raise TotalCountUnknown(unknown)
    return count


__all__ = ["FILTERED", "NO_TOTAL", "count_customers"]
