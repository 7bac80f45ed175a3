"""The cost limit as a Strawberry extension: checked once the document has parsed and
validated, before any resolver runs."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.cost import Cost, estimate


class CostLimiter(SchemaExtension):
    """Refuses operations estimated to resolve more than `max_fields` fields or to make more
    than `max_upstream_calls` provider calls.

    Usage: `extensions=[partial(CostLimiter, max_fields=25_000, max_upstream_calls=120, ...)]`.
    It acts at the start of execution: a result set there makes Strawberry skip execution.
    """

    def __init__(self, *, max_fields: int, max_upstream_calls: int, default_page_size: int) -> None:
        super().__init__()
        self.max_fields = max_fields
        self.max_upstream_calls = max_upstream_calls
        self.default_page_size = default_page_size

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            cost = estimate(
                document, context.variables, context.operation_name, self.default_page_size
            )
            if cost.fields > self.max_fields or cost.upstream_calls > self.max_upstream_calls:
                context.result = ExecutionResult(data=None, errors=[self._refusal(cost)])
        yield

    def _refusal(self, cost: Cost) -> GraphQLError:
        return GraphQLError(
            f"The query is too costly: about {cost.fields} fields and "
            f"{cost.upstream_calls} provider calls (limits {self.max_fields} and "
            f"{self.max_upstream_calls}). Ask for fewer items or fields.",
            extensions={"code": "QUERY_TOO_COSTLY"},
        )


__all__ = ["CostLimiter"]
