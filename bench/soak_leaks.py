"""The soak's cross-tenant check: every customer a tenant is shown must be one of its own.

A customer object in an answer (anything with `id` and `scope`) is a leak when its global id
does not decode, when id, `provider`, `scope` and `providerId` disagree, when its provider
account is not one of the tenant's, when the sandbox seeded no such customer in that account,
or when its `email` is not the seeded customer's (the other account's copy of a shared
identity has other contents under the same native id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bench.soak_tenants import SoakTenant
from gateway.errors import BadUserInput
from gateway.ids import decode_id

# Objects inspected per answer at most: answers are bounded by the page limits anyway.
_MAX_VISITS = 50_000


def leaks_in(body: Any, tenant: SoakTenant) -> list[str]:
    """What is wrong with each customer `tenant` was shown in `body` (empty: nothing)."""
    if not isinstance(body, dict):
        return []
    return [p for c in _customers(body.get("data")) if (p := _problem(c, tenant)) is not None]


def _customers(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    visits = 0
    while stack and visits < _MAX_VISITS:
        visits += 1
        item = stack.pop()
        if isinstance(item, dict):
            if "id" in item and "scope" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _problem(customer: dict[str, Any], tenant: SoakTenant) -> str | None:
    shown = f"{customer.get('provider')}/{customer.get('scope')}/{customer.get('providerId')}"
    try:
        key = decode_id(str(customer.get("id")))
    except BadUserInput:
        return f"{tenant.id} was shown an id that does not decode ({shown})"
    if (key.provider.value, key.account, key.native_id) != (
        customer.get("provider"),
        customer.get("scope"),
        customer.get("providerId"),
    ):
        return f"{tenant.id} was shown an id naming {key} with fields {shown}"
    if tenant.scopes.get(key.provider) != key.account:
        return f"{tenant.id} was shown a customer of another account: {shown}"
    triple = (key.provider, key.account, key.native_id)
    if triple not in tenant.records:
        return f"{tenant.id} was shown a customer its account does not hold: {shown}"
    email = customer.get("email")
    if isinstance(email, str) and email.lower() not in tenant.blobs[triple]:
        return f"{tenant.id} was shown {shown} with an email that is not that customer's"
    return None


__all__ = ["leaks_in"]
