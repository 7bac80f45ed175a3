"""What each document limit refuses, as request errors carrying their own `extensions.code`.

    SELECTION_TOO_LARGE   the expansion, every fragment spread in place, passes max_selections
    QUERY_TOO_DEEP        an operation's depth passes max_depth
    TOO_MANY_ALIASES      the operations' aliases pass max_aliases
    QUERY_TOO_COSTLY      the operation that will run passes max_fields or max_upstream_calls

The first three are read off a document's analysis before graphql-core validates it, the last
off the cost of the operation once its variables are known. Usage::

    errors = document_refusals(analysis, settings.limits)
"""

from __future__ import annotations

from graphql import GraphQLError

from gateway.settings.model import LimitSettings
from resolvers.limits.analysis import DocumentAnalysis
from resolvers.limits.cost import Cost


def document_refusals(analysis: DocumentAnalysis, limits: LimitSettings) -> list[GraphQLError]:
    """The limits `analysis` breaks, each as a request error with its code."""
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


def cost_refusal(cost: Cost, limits: LimitSettings) -> GraphQLError | None:
    """The request error for a cost over either limit, or None for one within both."""
    if cost.fields <= limits.max_fields and cost.upstream_calls <= limits.max_upstream_calls:
        return None
    return GraphQLError(
        f"The query is too costly: about {cost.fields} fields and "
        f"{cost.upstream_calls} provider calls (limits {limits.max_fields} and "
        f"{limits.max_upstream_calls}). Ask for fewer items or fields.",
        extensions={"code": "QUERY_TOO_COSTLY"},
    )


__all__ = ["cost_refusal", "document_refusals"]
