"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

A request may name its operation instead of sending it:

- `extensions.persistedQuery = {"version": 1, "sha256Hash": h}` (APQ, and how Apollo clients
  send trusted documents too);
- `documentId` (GraphQL-over-HTTP persisted documents), `h` or `sha256:h`.

Modes: `off` (APQ only), `allow` (manifest operations by id, APQ, and free-form queries),
`require` (manifest operations only; a free-form document is refused before it is parsed).

APQ registrations are kept per tenant, at most `persisted.apq_max_entries_per_tenant` of them
and `persisted.apq_max_bytes_per_tenant` bytes, least recently used out first; a hash that
was evicted answers `PERSISTED_QUERY_NOT_FOUND` and the client registers it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from gateway.cache.bounded import Bounds, bounded_store, namespace_of
from gateway.cache.keys import persisted_query_key
from gateway.cache.store import CacheStore
from gateway.errors import ConfigError
from gateway.http.rejection import Rejection
from gateway.settings import PersistedSettings

log = logging.getLogger("gateway.persisted")
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
class Manifest:
    operations: Mapping[str, str]
    mtime: float = 0.0

    def get(self, document_id: str) -> str | None:
        return self.operations.get(document_id.removeprefix("sha256:"))


EMPTY_MANIFEST = Manifest({})


def parse_manifest(raw: bytes) -> Manifest:
    """Apollo's `apollo-persisted-query-manifest` format, or a plain `{id: document}` map."""
    data = orjson.loads(raw)
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError("the manifest has no operations list")
        found = {}
        for op in operations:
            if not isinstance(op, dict) or not isinstance(op.get("id"), str):
                raise ValueError("every operation needs an id")
            if not isinstance(op.get("body"), str):
                raise ValueError(f"operation {op['id']} has no body")
            found[op["id"]] = op["body"]
        return Manifest(found)
    if isinstance(data, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        return Manifest({k.removeprefix("sha256:"): v for k, v in data.items()})
    raise ValueError("not a persisted-query manifest")


class ManifestFile:
    """The manifest, reloaded when the file changes. A request keeps the manifest it started
    with; a reload swaps the reference, so nothing in flight is dropped. A broken file keeps
    the last good manifest and logs why."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.current = EMPTY_MANIFEST
        if path is not None:
            try:
                self.current = self._load(path)
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot load the persisted-query manifest {path}: {exc}"
                ) from exc

    def reload_if_changed(self) -> bool:
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            log.warning("persisted-query manifest %s is missing; keeping the last one", self.path)
            return False
        if mtime == self.current.mtime:
            return False
        try:
            self.current = self._load(self.path)
        except (OSError, ValueError) as exc:
            log.warning("persisted-query manifest not reloaded: %s", exc)
            return False
        log.info("persisted-query manifest reloaded: %d operations", len(self.current.operations))
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()

    @staticmethod
    def _load(path: Path) -> Manifest:
        mtime = path.stat().st_mtime
        manifest = parse_manifest(path.read_bytes())
        return Manifest(manifest.operations, mtime)


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
    ) -> Resolved:
        persisted = (extensions or {}).get("persistedQuery")
        sha = _apq_hash(persisted) if persisted is not None else None
        wanted = document_id or sha
        if self.mode == "require":
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

    async def register(self, tenant: str, sha: str, query: str) -> None:
        key = persisted_query_key(tenant, sha)
        await self.registrations.set(namespace_of(key), key, query.encode(), self.ttl)


def _apq_hash(persisted: Any) -> str:
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
    "EMPTY_MANIFEST",
    "PERSISTED_QUERY_NOT_FOUND",
    "Manifest",
    "ManifestFile",
    "PersistedQueries",
    "Resolved",
    "not_found",
    "parse_manifest",
]
