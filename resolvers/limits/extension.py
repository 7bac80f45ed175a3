"""The document limits as one Strawberry extension, in front of graphql-core's validation.

A document is analysed once (`.analysis`: each fragment summarised once, so linear in its
size) and refused for its expanded size, depth or aliases *before* graphql-core validates it,
because some validation rules grow faster than the document. Admitted documents are then
validated by `.validation`: cached, and with a bounded budget for the one rule whose work
grows with the square of repeated fields. Once the variables are known, the cost
estimate refuses an operation that would resolve too many fields or call providers too often;
both refusals come before any resolver runs, as request errors (no `data`) carrying their own
`extensions.code`.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, NoFragmentCyclesRule
from strawberry.extensions import SchemaExtension

from gateway.settings import LimitSettings
from resolvers.limits.analyses import ANALYSES
from resolvers.limits.analysis import DocumentAnalysis
from resolvers.limits.cost import Cost, estimate
from resolvers.limits.validation import Rules, validate

CYCLE_RULES: Rules = (NoFragmentCyclesRule,)


class DocumentLimits(SchemaExtension):
    """Refuses documents over `max_selections`, `max_depth` or `max_aliases` unvalidated,
    validates the rest (cached), and refuses operations over `max_fields` or
    `max_upstream_calls` before they execute.

    Usage: `extensions=[partial(DocumentLimits, limits=settings.limits)]`, in place of
    Strawberry's ValidationCache, QueryDepthLimiter and MaxAliasesLimiter.
    """

    def __init__(self, *, limits: LimitSettings) -> None:
        super().__init__()
        self.limits = limits
        self.analysis: DocumentAnalysis | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            self.analysis = ANALYSES.of(document)
            schema = context.schema._schema
            # Set, the errors also stop Strawberry from validating the document again.
            if self.analysis.cyclic:
                # Its expansion is infinite: graphql-core's cycle rule (linear) says where.
                context.pre_execution_errors = validate(schema, document, CYCLE_RULES)
            else:
                context.pre_execution_errors = self.refusals(self.analysis) or validate(
                    schema, document, context.validation_rules
                )
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if self.analysis is not None:
            cost = estimate(
                self.analysis,
                context.schema._schema,
                context.variables,
                context.operation_name,
                self.limits.default_page_size,
            )
            if cost is not None and (
                cost.fields > self.limits.max_fields
                or cost.upstream_calls > self.limits.max_upstream_calls
            ):
                context.result = ExecutionResult(data=None, errors=[self._too_costly(cost)])
        yield

    def refusals(self, analysis: DocumentAnalysis) -> list[GraphQLError]:
        """The limits `analysis` breaks, each as a request error with its code."""
        limits = self.limits
        refusals = []
        if analysis.selections > limits.max_selections:
            refusals.append(
                GraphQLError(
                    f"The query expands to {analysis.selections} selections once its "
                    f"fragments are spread; the limit is {limits.max_selections}.",
                    extensions={"code": "SELECTION_TOO_LARGE"},
                )
            )
        if analysis.depth > limits.max_depth:
            deepest = analysis.deepest
            name = deepest.name.value if deepest and deepest.name else "anonymous"
            refusals.append(
                GraphQLError(
                    f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                    extensions={"code": "QUERY_TOO_DEEP"},
                )
            )
        if analysis.aliases > limits.max_aliases:
            refusals.append(
                GraphQLError(
                    f"{analysis.aliases} aliases found. Allowed: {limits.max_aliases}",
                    extensions={"code": "TOO_MANY_ALIASES"},
                )
            )
        return refusals

    def _too_costly(self, cost: Cost) -> GraphQLError:
        return GraphQLError(
            f"The query is too costly: about {cost.fields} fields and "
            f"{cost.upstream_calls} provider calls (limits {self.limits.max_fields} and "
            f"{self.limits.max_upstream_calls}). Ask for fewer items or fields.",
            extensions={"code": "QUERY_TOO_COSTLY"},
        )


__all__ = ["CYCLE_RULES", "DocumentLimits"]
