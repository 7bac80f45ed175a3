"""From a request to the document it runs: its text, the operation and the variables it runs with.

In order, each refusal a `Rejection`: a document over `limits.max_document_chars` characters
(400 QUERY_TOO_LARGE); a hash or id that names no document, or a free-form document where only
trusted ones run (gateway/http/persisted.py); no operation to run (422
OPERATION_RESOLUTION_FAILURE, gateway/http/operations.py).

Usage: `document = await documents.find(tenant.id, graphql_request)`, and once it has run
cleanly, `await documents.register(tenant.id, document)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.http.operations import DeclaredVariables, choose_operation, run_values
from gateway.http.persisted import PERSISTED_QUERY_NOT_FOUND, PersistedQueries, Resolved
from gateway.http.rejection import Rejection
from gateway.http.request import GraphQLRequest
from gateway.observability.metrics import Metrics
from gateway.settings.model import LimitSettings


@dataclass(frozen=True, slots=True)
class Document:
    query: str
    # The operation that runs; None for a document's only, anonymous operation, or when the
    # document does not parse (the schema then reports why).
    operation: str | None
    # The variables it runs with (declared ones, defaults applied): the response cache's key.
    # None: the document does not parse or lacks the operation, so it is not cached.
    values: dict[str, Any] | None
    # How a persisted document was found: "manifest", "apq_hit" or "apq_register".
    via: str | None = None
    # An APQ hash to store once the document has run cleanly.
    register: str | None = None

    @property
    def trusted(self) -> bool:
        return self.via == "manifest"


class Documents:
    """Finds each request's document; its persisted queries are replaced once the cache
    store exists (the app's lifespan)."""

    def __init__(self, persisted: PersistedQueries, limits: LimitSettings, metrics: Metrics):
        self.persisted = persisted
        self.max_chars = limits.max_document_chars
        self.metrics = metrics
        # Each document parsed once at the edge, for the operation to run and the variables
        # it runs with.
        self.operations = DeclaredVariables(limits.max_tokens)

    async def find(
        self, tenant: str, request: GraphQLRequest, *, trusted_only: bool = False
    ) -> Document:
        if request.query is not None and len(request.query) > self.max_chars:
            raise Rejection(
                400, "QUERY_TOO_LARGE", f"The query is longer than {self.max_chars} characters"
            )
        resolved = await self._resolve(tenant, request, trusted_only)
        operations = self.operations.operations(resolved.query)
        operation = choose_operation(operations, request.operation_name)
        values = run_values(operations, operation, request.variables)
        return Document(resolved.query, operation, values, resolved.via, resolved.register)

    async def register(self, tenant: str, document: Document) -> None:
        """Keep the document's APQ registration, if it makes one."""
        if document.register is not None:
            await self.persisted.register(tenant, document.register, document.query)

    async def _resolve(self, tenant: str, request: GraphQLRequest, trusted_only: bool) -> Resolved:
        try:
            resolved = await self.persisted.resolve(
                tenant,
                request.query,
                request.extensions,
                request.document_id,
                trusted_only=trusted_only,
            )
        except Rejection as rejection:
            if rejection.code == PERSISTED_QUERY_NOT_FOUND:
                self.metrics.persisted.labels("apq_miss").inc()
            raise
        if resolved.via:
            self.metrics.persisted.labels(resolved.via).inc()
        return resolved


__all__ = ["Document", "Documents"]
