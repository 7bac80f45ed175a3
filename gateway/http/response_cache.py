"""Whole responses, served as stored bytes without executing the query.

Only clean answers are stored (no error, nothing stale, no trace), for as long as the least
fresh upstream answer they were built from stays fresh. The key holds the tenant, the
document's hash, the operation, the variables it declares (with their defaults; undeclared
ones run nowhere, so they must not mint keys) and the cache generation of every provider
account the tenant has, so a webhook that retires upstream entries retires these too.
A client sending `Cache-Control: no-cache` bypasses it; so does one sending `max-age`, or a
document selecting `freshness` or passing `maxAge`, whose ages must be true when sent
(gateway/http/freshness.py, docs/freshness.md). Each tenant holds at most
`cache.response_max_entries_per_tenant` answers and `cache.response_max_bytes_per_tenant`
bytes, least recently used out first (gateway/cache/bounded.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.cache.bounded import Bounds, bounded_store, namespace_of
from gateway.cache.entry import CachePolicy
from gateway.cache.keys import VERSION, Account, generation_key
from gateway.cache.store import CacheStore
from gateway.domain.provider import Provider
from gateway.settings.model import CacheSettings
from gateway.tenants import Tenant

# Tenants and account views whose key figures are kept (views are bounded per tenant too).
_MAX_TENANT_OBJECTS = 4096
# An answer fresh for less than this is not worth storing.
MIN_TTL_SECONDS = 1.0
# What a tenant may hold when the caller gives no bounds (the settings' defaults).
DEFAULT_BOUNDS = Bounds(
    CacheSettings().response_max_entries_per_tenant, CacheSettings().response_max_bytes_per_tenant
)


# (tenant, provider, account) -> cache generation, as the request ledger memoises them.
Generations = dict[tuple[str, Provider, str], int]


def default_max_age(policies: Iterable[CachePolicy]) -> int:
    """How long an answer that read no provider at all stays fresh: as long as the shortest
    provider TTL (no provider: not at all)."""
    return int(min((p.ttl for p in policies), default=0))


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    expires_at: float
    # The seconds it stays fresh, from when it was read.
    max_age: int
    # The body's ETag, computed once when it was stored.
    etag: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """One request's look in the cache: the key (None: the answer is not cached), the
    generations it was built from, and the answer found."""

    key: str | None = None
    generations: Generations = field(default_factory=dict)
    hit: CachedResponse | None = None


NO_LOOKUP = Lookup()


class ResponseCache:
    """Usage: `ResponseCache(store, clock, Bounds(1000, 8 * 2**20))`."""

    def __init__(
        self, store: CacheStore, clock: Callable[[], float], bounds: Bounds = DEFAULT_BOUNDS
    ) -> None:
        self.store = store
        self.clock = clock
        self.entries = bounded_store(store, bounds)
        self._accounts: dict[
            int, tuple[Tenant, tuple[list[Account], list[str], list[list[str]]]]
        ] = {}

    async def lookup(
        self,
        tenant: Tenant,
        query: str,
        operation: str | None,
        values: Mapping[str, Any] | None,
        scopes: frozenset[str] | None = None,
        schema: str = "",
    ) -> Lookup:
        key, generations = await self.key(tenant, query, operation, values, scopes, schema)
        hit = await self.get(key) if key is not None else None
        return Lookup(key, generations, hit)

    async def key(
        self,
        tenant: Tenant,
        query: str,
        operation: str | None,
        values: Mapping[str, Any] | None,
        scopes: frozenset[str] | None = None,
        schema: str = "",
    ) -> tuple[str | None, Generations]:
        """The key, and the generations it was built from, in the shape the request ledger
        memoises them: the upstream cache then reuses them instead of reading them again.
        `values` are the variables the operation runs with (the edge's `run_values`); None,
        for a document that does not parse or lacks the operation, means no key. The answer
        is the caller's view's: its accounts and its scopes are part of the key, so a user
        allowed fewer accounts or fields never gets another's answer; so is `schema`, the
        served schema's field rules, so a reload that scopes a field retires older answers."""
        if values is None:
            return None, {}
        accounts, generation_keys, view_accounts = self._accounts_of(tenant)
        generations = await self.store.multi_get_numbers(generation_keys)
        try:
            view = [view_accounts, _sorted(scopes), schema]
            material = orjson.dumps(
                [query, operation, values, generations, view], option=orjson.OPT_SORT_KEYS
            )
        except orjson.JSONEncodeError:
            # A default orjson cannot write (an integer past 64 bits): validation refuses
            # the document anyway, so it is simply not cached.
            return None, {}
        digest = hashlib.sha256(material).hexdigest()
        read = {(a.tenant, a.provider, a.id): g for a, g in zip(accounts, generations, strict=True)}
        return f"{VERSION}:{tenant.id}:response:{digest}", read

    def _accounts_of(self, tenant: Tenant) -> tuple[list[Account], list[str], list[list[str]]]:
        """The tenant's (or view's) accounts in key order, their generation keys and how the
        key names them: worked out once per tenant object, not on every lookup."""
        known = self._accounts.get(id(tenant))
        if known is not None and known[0] is tenant:
            return known[1]
        accounts = sorted(
            (Account(tenant.id, s.provider, s.account) for s in tenant.sources),
            key=lambda a: (a.provider.value, a.id),
        )
        worked_out = (
            accounts,
            [generation_key(a) for a in accounts],
            [[a.provider.value, a.id] for a in accounts],
        )
        if len(self._accounts) >= _MAX_TENANT_OBJECTS:
            self._accounts.clear()  # tenants and views are few and long-lived: rarely reached
        # The tenant is held with its figures, so its id cannot be reused while they are kept.
        self._accounts[id(tenant)] = (tenant, worked_out)
        return worked_out

    async def get(self, key: str) -> CachedResponse | None:
        raw = await self.entries.get(namespace_of(key), key)
        if raw is None:
            return None
        header, _, body = raw.partition(b"\n")
        expiry, _, tag = header.partition(b" ")
        try:
            expires_at = float(expiry)
        except ValueError:
            return None
        now = self.clock()
        if expires_at <= now:
            return None
        # An entry another version stored without its tag gets one now.
        etag = tag.decode() if tag else etag_of(body)
        return CachedResponse(body, expires_at, int(expires_at - now), etag)

    async def put(self, key: str, body: bytes, ttl: float) -> bool:
        """Store an answer; False when it is too short-lived to be worth it."""
        if ttl < MIN_TTL_SECONDS:
            return False
        expires_at = self.clock() + ttl
        # The ETag goes in with the body: every hit then writes it without hashing the body.
        header = f"{expires_at!r} {etag_of(body)}\n".encode()
        await self.entries.set(namespace_of(key), key, header + body, ttl)
        return True


def etag_of(body: bytes) -> str:
    """A strong ETag for a GET answer's bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _sorted(scopes: frozenset[str] | None) -> list[str] | None:
    return None if scopes is None else sorted(scopes)


__all__ = [
    "DEFAULT_BOUNDS",
    "MIN_TTL_SECONDS",
    "NO_LOOKUP",
    "CachedResponse",
    "Generations",
    "Lookup",
    "ResponseCache",
    "default_max_age",
    "etag_of",
]
