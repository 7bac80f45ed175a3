"""The GraphQL-only limits as Strawberry extensions, in the order a request meets them.

The token limit bounds the parse: graphql-core stops at `max_tokens` with a syntax error
("Document contains more than ..."), which gateway.errors_format reports as QUERY_TOO_LARGE.
A parsed document is analysed once (`.analysis`: each fragment summarised once, so linear in
its size) and refused for its expanded size, depth or aliases *before* graphql-core validates
it, because some validation rules grow faster than the document. Admitted documents are then
validated by `.validation`: cached, and with a bounded budget for the one rule whose work
grows with the square of repeated fields. Once the variables are known, the cost estimate
(`.cost`) refuses an operation that would resolve too many fields or call providers too often;
the estimate is handed on in the result's `extensions["cost"]`.
Every refusal comes before any resolver runs; those of `.refusals` are request errors (no
`data`) carrying their own `extensions.code`. Usage::

    strawberry.Schema(..., extensions=[ParserCache, *limit_extensions(settings.limits)])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from graphql import ExecutionResult, NoFragmentCyclesRule
from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from gateway.settings.model import LimitSettings
from resolvers.limits.analyses import ANALYSES
from resolvers.limits.analysis import DocumentAnalysis
from resolvers.limits.cost import Cost, estimate, type_coverage
from resolvers.limits.refusals import cost_refusal, document_refusals
from resolvers.limits.validation import Rules, validate

CYCLE_RULES: Rules = (NoFragmentCyclesRule,)


class DocumentLimits(SchemaExtension):
    """Refuses documents over `max_selections`, `max_depth` or `max_aliases` unvalidated,
    validates the rest (cached), and refuses operations over `max_fields` or
    `max_upstream_calls` before they execute.

    Usage: `extensions=[partial(DocumentLimits, limits=settings.limits)]` (as
    `limit_extensions` does), in place of Strawberry's ValidationCache, QueryDepthLimiter and
    MaxAliasesLimiter.
    """

    def __init__(
        self, *, limits: LimitSettings, root_scopes: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        super().__init__()
        self.limits = limits
        self.root_scopes = root_scopes or {}
        self.analysis: DocumentAnalysis | None = None
        self.cost: Cost | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema = context.schema._schema
            self.analysis = ANALYSES.of(document, type_coverage(schema))
            # Set, the errors also stop Strawberry from validating the document again.
            if self.analysis.cyclic:
                # Its expansion is infinite: graphql-core's cycle rule (linear) says where.
                context.pre_execution_errors = validate(schema, document, CYCLE_RULES)
            else:
                refusals = document_refusals(self.analysis, self.limits)
                rules = context.validation_rules
                context.pre_execution_errors = refusals or validate(schema, document, rules)
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
                self.limits.max_filter_scan_pages,
                # The caller's accounts per provider, when the request's context says.
                getattr(context.context, "streams", None),
                self._refused(getattr(context.context, "scopes", None)),
            )
            self.cost = cost
            refusal = cost_refusal(cost, self.limits) if cost is not None else None
            if refusal is not None:
                context.result = ExecutionResult(data=None, errors=[refusal])
        yield

    def _refused(self, scopes: frozenset[str] | None) -> list[str]:
        """Root fields `[auth.field_scopes]` refuses this caller: they will make no call."""
        if scopes is None:
            return []
        return [name for name, needed in self.root_scopes.items() if not needed <= scopes]

    def get_results(self) -> dict[str, Any]:
        """The estimate and the limits, as `ExecutionResult.extensions["cost"]`: the HTTP
        layer reports them (with the calls actually made) to a client that asks."""
        if self.cost is None:
            return {}
        limits = self.limits
        return {
            "cost": {
                "estimated": {
                    "fields": self.cost.fields,
                    "upstreamCalls": self.cost.upstream_calls,
                },
                "limits": {
                    "fields": limits.max_fields,
                    "upstreamCalls": limits.max_upstream_calls,
                },
            }
        }


def limit_extensions(
    limits: LimitSettings, root_scopes: Mapping[str, frozenset[str]] | None = None
) -> list[Callable[[], SchemaExtension]]:
    """Every GraphQL-only limit, as factories: each request gets its own extensions, while the
    caches behind them (analyses, validation) are shared. Validation rules added to the schema
    would key the validation cache on new rule classes per request unless they are built once,
    outside these factories. `root_scopes`: the scopes each root field requires
    (`[auth.field_scopes]`), so a caller refused one is not charged for its calls."""
    return [
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(DocumentLimits, limits=limits, root_scopes=root_scopes),
    ]


__all__ = ["CYCLE_RULES", "DocumentLimits", "limit_extensions"]
