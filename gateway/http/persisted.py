"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

A request may name its operation instead of sending it:

- `extensions.persistedQuery = {"version": 1, "sha256Hash": h}` (APQ, and how Apollo clients
  send trusted documents too);
- `documentId` (GraphQL-over-HTTP persisted documents), `h` or `sha256:h`.

Modes: `off` (APQ only), `allow` (manifest operations by id, APQ, and free-form queries),
`require` (manifest operations only; a free-form document is refused before it is parsed).
The manifest of trusted documents is gateway/http/manifest.py's.

APQ registrations are kept per tenant, at most `persisted.apq_max_entries_per_tenant` of them
and `persisted.apq_max_bytes_per_tenant` bytes, least recently used out first; a hash that
was evicted answers `PERSISTED_QUERY_NOT_FOUND` and the client registers it again.

Refusals are `Rejection`s: 400 with a `PERSISTED_QUERY_*` or `BAD_REQUEST` code, except the
APQ miss, which is Apollo's 200.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gateway.cache.bounded import Bounds, bounded_store, namespace_of
from gateway.cache.keys import persisted_query_key
from gateway.cache.store import CacheStore
from gateway.http.manifest import ManifestFile
from gateway.http.rejection import Rejection
from gateway.settings.model import PersistedSettings

_SHA256 = re.compile(r"[0-9a-f]{64}")
Mode = Literal["off", "allow", "require"]
# What a tenant may register when the caller gives no bounds (the settings' defaults).
DEFAULT_APQ_BOUNDS = Bounds(
    PersistedSettings().apq_max_entries_per_tenant, PersistedSettings().apq_max_bytes_per_tenant
)
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


def not_found() -> Rejection:
    # Apollo's exact contract: HTTP 200, this message and code, and a miss no CDN may keep.
    return Rejection(
        200,
        PERSISTED_QUERY_NOT_FOUND,
        "PersistedQueryNotFound",
        {"Cache-Control": "private, no-cache, must-revalidate"},
    )


@dataclass(frozen=True, slots=True)
class Resolved:
    query: str
    # Set when the request registers an APQ hash, to store once the query has run cleanly.
    register: str | None = None
    # How a persisted query was found: "manifest", "apq_hit" or "apq_register".
    via: str | None = None


class PersistedQueries:
    """Turns a request's query, hash or document id into the query text to run."""

    def __init__(
        self,
        mode: Mode,
        manifest: ManifestFile,
        store: CacheStore,
        *,
        apq: bool,
        ttl: float,
        bounds: Bounds = DEFAULT_APQ_BOUNDS,
    ) -> None:
        self.mode = mode
        self.manifest = manifest
        self.store = store
        self.registrations = bounded_store(store, bounds)
        self.apq = apq and mode != "require"
        self.ttl = ttl

    async def resolve(
        self,
        tenant: str,
        query: str | None,
        extensions: Mapping[str, Any] | None,
        document_id: str | None,
        *,
        trusted_only: bool = False,
    ) -> Resolved:
        """The document to run. `trusted_only`: this caller may run manifest documents only,
        whatever the mode (JWT callers under `auth.jwt_persisted_only`)."""
        persisted = (extensions or {}).get("persistedQuery")
        sha = apq_hash(persisted) if persisted is not None else None
        wanted = document_id or sha
        if self.mode == "require" or trusted_only:
            if query is not None or wanted is None:
                raise Rejection(
                    400,
                    "PERSISTED_QUERY_REQUIRED",
                    "Only trusted documents run here: send their id, not the document",
                )
            found = self.manifest.current.get(wanted)
            if found is None:
                raise Rejection(
                    400, "PERSISTED_QUERY_NOT_IN_LIST", "No trusted document has that id"
                )
            return Resolved(found, via="manifest")
        if wanted is not None and self.mode == "allow":
            found = self.manifest.current.get(wanted)
            if found is not None:
                return Resolved(found, via="manifest")
        if document_id is not None and sha is None:
            raise Rejection(400, "PERSISTED_QUERY_NOT_IN_LIST", "No trusted document has that id")
        if sha is None:
            if query is None:
                raise Rejection(400, "BAD_REQUEST", "The request has no GraphQL query")
            return Resolved(query)
        if not self.apq:
            raise Rejection(400, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        if query is None:
            key = persisted_query_key(tenant, sha)
            stored = await self.registrations.get(namespace_of(key), key)
            if stored is None:
                raise not_found()
            return Resolved(stored.decode(), via="apq_hit")
        if hashlib.sha256(query.encode()).hexdigest() != sha:
            raise Rejection(
                400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
            )
        return Resolved(query, register=sha, via="apq_register")

    async def registered(self, tenant: str, sha: str) -> bool:
        """Whether `tenant` still has `sha` registered, read as `resolve` reads it (so the
        registration counts as used, least recently used order and all)."""
        key = persisted_query_key(tenant, sha)
        return await self.registrations.get(namespace_of(key), key) is not None

    async def register(self, tenant: str, sha: str, query: str) -> None:
        key = persisted_query_key(tenant, sha)
        await self.registrations.set(namespace_of(key), key, query.encode(), self.ttl)


def apq_hash(persisted: Any) -> str:
    """The hash of `extensions.persistedQuery`, or the 400 for one that is malformed."""
    if not isinstance(persisted, dict):
        raise Rejection(400, "BAD_REQUEST", "extensions.persistedQuery must be an object")
    version = persisted.get("version")
    # The integer 1 exactly: JSON true and 1.0 compare equal to it in Python.
    if type(version) is not int or version != 1:
        raise Rejection(
            400, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED", "Unsupported persisted query version"
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise Rejection(
            400, "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be 64 hex digits"
        )
    return sha


__all__ = [
    "DEFAULT_APQ_BOUNDS",
    "PERSISTED_QUERY_NOT_FOUND",
    "PersistedQueries",
    "Resolved",
    "apq_hash",
    "not_found",
]
