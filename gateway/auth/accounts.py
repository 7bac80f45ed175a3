"""The accounts one caller may read: a tenant seen through a token's `accounts` claim.

A view is the tenant with only the allowed sources, so every read path (listing, `node`,
`nodes`, filters, cursors, the cost estimate) sees exactly those and nothing else: an id or a
cursor naming another account finds no source and reads as nothing, as another tenant's
does. Views keep the tenant's id, so cache keys (tenant, provider, account) are unchanged
and two users of one account share its cached reads.

Usage: `view = views.view(tenant, {"layer": ("business-1",), "codat": ()})`; `None` for
the claim means every account the tenant configures.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping

from gateway.errors import AccountsRejected
from gateway.providers.base import CustomerSource
from gateway.settings.model import MAX_ACCOUNT_LENGTH, MAX_CONNECTIONS_PER_TENANT
from gateway.tenants import Tenant

# An account a token names for a `from_claims` connection: it goes into URLs, cache keys
# and cursors, so it is a plain token of bounded length.
_CLAIMED_ACCOUNT = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_ACCOUNT_LENGTH}}}")
Claim = Mapping[str, tuple[str, ...]]


class AccountViews:
    """Views of tenants by allowed accounts, built once and reused (least recently used
    out past `max_views`, so tokens naming ever new accounts cannot grow it)."""

    def __init__(self, max_views: int = 4096) -> None:
        self._views: OrderedDict[tuple[str, frozenset[tuple[str, str]]], Tenant] = OrderedDict()
        self._max_views = max_views

    def view(self, tenant: Tenant, claim: Claim | None) -> Tenant:
        """The tenant as a caller allowed `claim` sees it. A provider the claim does not
        name is not allowed (a list per provider is what grants it); a `from_claims`
        connection reads any account the claim names."""
        if claim is None:
            return tenant
        wanted = frozenset((p, a) for p, accounts in claim.items() for a in accounts)
        key = (tenant.id, wanted)
        found = self._views.get(key)
        if found is not None:
            self._views.move_to_end(key)
            return found
        built = _restricted(tenant, claim)
        self._views[key] = built
        if len(self._views) > self._max_views:
            self._views.popitem(last=False)
        return built


def _restricted(tenant: Tenant, claim: Claim) -> Tenant:
    sources: list[CustomerSource] = []
    for provider in tenant.providers:
        allowed = claim.get(provider.key, ())
        configured = [s for s in tenant.sources_of(provider) if s.account in allowed]
        sources.extend(configured)
        claimable = tenant.claimable.get(provider)
        if claimable is None:
            continue
        known = {s.account for s in configured}
        for account in dict.fromkeys(allowed):
            if account in known:
                continue
            if not _CLAIMED_ACCOUNT.fullmatch(account):
                raise AccountsRejected(
                    f"the token names a {provider.key} account that is not valid"
                )
            sources.append(claimable.source(account))
    if len(sources) > MAX_CONNECTIONS_PER_TENANT:
        raise AccountsRejected(
            f"the token names {len(sources)} accounts; a caller may read at most "
            f"{MAX_CONNECTIONS_PER_TENANT}"
        )
    return tenant.with_sources(tuple(sources))


__all__ = ["AccountViews", "Claim"]
