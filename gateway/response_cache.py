"""Whole responses, served as stored bytes without executing the query.

Only clean answers are stored (no error, nothing stale, no trace), for as long as the least
fresh upstream answer they were built from stays fresh. The key holds the tenant, the
document's hash, the operation, the variables and the cache generation of every provider
account the tenant has, so a webhook that retires upstream entries retires these too.
A client sending `Cache-Control: no-cache` bypasses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.cache.keys import VERSION, Scope, generation_key
from gateway.cache.store import CacheStore
from gateway.domain.customer import Provider
from gateway.tenants import Tenant

# An answer fresh for less than this is not worth storing.
MIN_TTL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    expires_at: float


class ResponseCache:
    def __init__(self, store: CacheStore, clock: Any) -> None:
        self.store = store
        self.clock = clock

    async def key(
        self,
        tenant: Tenant,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> tuple[str, dict[tuple[str, Provider, str], int]]:
        """The key, and the generations it was built from, in the shape the request ledger
        memoises them: the upstream cache then reuses them instead of reading them again."""
        scopes = [
            Scope(tenant.id, p, s.scope)
            for p, s in sorted(tenant.sources.items(), key=lambda i: i[0].value)
        ]
        generations = await self.store.multi_get_numbers([generation_key(s) for s in scopes])
        material = orjson.dumps(
            [query, operation_name, variables or {}, generations], option=orjson.OPT_SORT_KEYS
        )
        digest = hashlib.sha256(material).hexdigest()
        read = {
            (s.tenant, s.provider, s.scope): g for s, g in zip(scopes, generations, strict=True)
        }
        return f"{VERSION}:{tenant.id}:response:{digest}", read

    async def get(self, key: str) -> CachedResponse | None:
        raw = await self.store.get(key)
        if raw is None:
            return None
        header, _, body = raw.partition(b"\n")
        try:
            expires_at = float(header)
        except ValueError:
            return None
        if expires_at <= self.clock():
            return None
        return CachedResponse(body, expires_at)

    async def put(self, key: str, body: bytes, ttl: float) -> None:
        if ttl < MIN_TTL_SECONDS:
            return
        expires_at = self.clock() + ttl
        await self.store.set(key, f"{expires_at!r}\n".encode() + body, ttl)


__all__ = ["MIN_TTL_SECONDS", "CachedResponse", "ResponseCache"]
