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
from gateway.providers.paths import path_segment
from gateway.settings.model import MAX_ACCOUNT_LENGTH, MAX_CONNECTIONS_PER_TENANT
from gateway.tenants import Claimable, Tenant

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
    configured: list[CustomerSource] = []
    claimed: list[tuple[Claimable, str]] = []
    for provider in tenant.providers:
        allowed = claim.get(provider.key, ())
        mine = [s for s in tenant.sources_of(provider) if s.account in allowed]
        configured.extend(mine)
        claimable = tenant.claimable.get(provider)
        if claimable is None:
            continue
        known = {s.account for s in mine}
        claimed.extend((claimable, a) for a in dict.fromkeys(allowed) if a not in known)
    # Counted before anything is built: a token naming thousands costs no work.
    count = len(configured) + len(claimed)
    if count > MAX_CONNECTIONS_PER_TENANT:
        raise AccountsRejected(
            f"the token names {count} accounts; a caller may read at most "
            f"{MAX_CONNECTIONS_PER_TENANT}"
        )
    for claimable, account in claimed:
        # It goes into the provider's URL path: "." and ".." would walk out of it.
        if not _CLAIMED_ACCOUNT.fullmatch(account) or path_segment(account) is None:
            raise AccountsRejected(
                f"the token names a {claimable.connector.provider.key} account that is not valid"
            )
    # Each provider's configured accounts, then its claimed ones, in registry order.
    by_provider = {p: [s for s in configured if s.provider == p] for p in tenant.providers}
    for claimable, account in claimed:
        by_provider[claimable.connector.provider].append(claimable.source(account))
    return tenant.with_sources(tuple(s for p in tenant.providers for s in by_provider[p]))


__all__ = ["AccountViews", "Claim"]
