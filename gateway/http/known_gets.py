"""What each persisted GET's query string resolved to, the last time the pipeline served it.

A GET that names its document by hash or id (no `query` parameter) is, byte for byte, the same
request every time a client sends it: its query string fixes the document id, the variables and
the operation. Once the full pipeline has resolved it and its answer is in the response cache,
the response cache's fast path (gateway/http/cached_gets.py) reads what it resolved to here
instead of parsing the query string, reading the persisted document and parsing the document.

Keyed by tenant first (APQ registrations are per tenant), at most `max_per_tenant` query
strings each, least recently used out first; query strings longer than `MAX_QUERY_STRING`
are never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.http.documents import Document
from gateway.http.persisted import apq_hash
from gateway.http.request import GraphQLRequest

MAX_QUERY_STRING = 2048
DEFAULT_MAX_PER_TENANT = 512


@dataclass(frozen=True, slots=True)
class KnownGet:
    query: str
    operation: str | None
    # The variables it runs with (the response cache's key material).
    values: Mapping[str, Any]
    # The id it was asked by: the manifest is asked again on every use, as the pipeline
    # would (a reload may have dropped or added it).
    document_id: str
    # Found in the manifest (trusted), not among APQ registrations.
    trusted: bool


class KnownGets:
    """Usage: the endpoint calls `remember(...)` when it serves a persisted GET from, or into,
    the response cache; the fast path calls `get(tenant, query_string)`."""

    def __init__(self, max_per_tenant: int = DEFAULT_MAX_PER_TENANT) -> None:
        self.max_per_tenant = max_per_tenant
        self._tenants: dict[str, OrderedDict[bytes, KnownGet]] = {}

    def remember(
        self, tenant: str, query_string: bytes, request: GraphQLRequest, document: Document
    ) -> None:
        """Keep what a GET resolved to, if it named a persisted document the fast path can
        find again the same way."""
        if request.query is not None or document.values is None:
            return
        if document.via not in ("apq_hit", "manifest") or len(query_string) > MAX_QUERY_STRING:
            return
        persisted = (request.extensions or {}).get("persistedQuery")
        if request.document_id is None and persisted is None:
            return
        # Resolved already, so a persistedQuery here is well formed.
        document_id = request.document_id or apq_hash(persisted)
        known = KnownGet(
            document.query, document.operation, document.values, document_id, document.trusted
        )
        entries = self._tenants.setdefault(tenant, OrderedDict())
        entries[query_string] = known
        entries.move_to_end(query_string)
        while len(entries) > self.max_per_tenant:
            entries.popitem(last=False)

    def get(self, tenant: str, query_string: bytes) -> KnownGet | None:
        entries = self._tenants.get(tenant)
        if entries is None:
            return None
        known = entries.get(query_string)
        if known is not None:
            entries.move_to_end(query_string)
        return known


__all__ = ["DEFAULT_MAX_PER_TENANT", "MAX_QUERY_STRING", "KnownGet", "KnownGets"]
