"""What a query would cost before it runs: field resolutions and upstream calls.

The estimate is deliberately simple and pessimistic: a `customers` page multiplies what is
below it by its `first` (or `last`), `nodes` by its number of ids, and every other list by
`NESTED_LIST_ESTIMATE`; each page of `customers` may cost two upstream calls per provider,
each id one. A query over the limits is refused before any resolver, and so any provider,
is touched.

Arguments are costed as they will run: coerced exactly as graphql-core coerces them for
execution, so a variable that is not sent takes its default, a single value given where a list
is expected counts as a list of one, and variables the operation does not declare are ignored.
Below the root fields the cost comes from the document's analysis (`.analysis`), where each
fragment was summarised once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    VariableValues,
    get_argument_values,
    get_variable_values,
)

from resolvers.limits.analysis import DocumentAnalysis
from resolvers.limits.graph import SelectionGraph, saturate

NESTED_LIST_ESTIMATE = 5
PROVIDERS = 3
LISTS = frozenset(
    {
        "emails",
        "phones",
        "addresses",
        "contacts",
        "taxes",
        "integrationLinks",
        "tags",
        "metadata",
        "transactionTags",
        "applicableInvoiceCustomSections",
        "errorDetails",
        "details",
        "providerPaymentMethods",
    }
)
# Root fields that read one object: one upstream call each.
LOOKUPS = frozenset({"node", "customer", "customerByExternalId"})


@dataclass(frozen=True, slots=True)
class Cost:
    fields: int
    upstream_calls: int


NOTHING = Cost(fields=0, upstream_calls=0)


def nested_fan_out(name: str) -> int:
    """How many items a field below the root stands for in the estimate."""
    return NESTED_LIST_ESTIMATE if name in LISTS else 1


def estimate(
    analysis: DocumentAnalysis,
    schema: GraphQLSchema,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    default_page_size: int,
) -> Cost | None:
    """The cost of the operation that will run, or None when its variables do not coerce
    (execution then refuses the request before any resolver runs)."""
    operation = analysis.operation(operation_name)
    if operation is None:
        return NOTHING
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    if isinstance(coerced, list):
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return NOTHING
    return _RootCost(analysis, root, coerced, default_page_size).of(operation.selection_set)


class _RootCost:
    """Root fields priced from their coerced arguments; inline fragments and spreads at the
    root priced once each, like the analysis below them."""

    def __init__(
        self,
        analysis: DocumentAnalysis,
        root: GraphQLObjectType,
        variables: VariableValues,
        default_page_size: int,
    ) -> None:
        self.analysis = analysis
        self.root = root
        self.variables = variables
        self.default_page_size = default_page_size
        self.graph = SelectionGraph(analysis.document, through_fields=False)
        self._costs: dict[int, Cost] = {}

    def of(self, selection_set: SelectionSetNode) -> Cost:
        for node in self.graph.post_order(selection_set):
            self._costs[id(node)] = self._combine(node)
        return self._costs.get(id(selection_set), NOTHING)

    def _combine(self, selection_set: SelectionSetNode) -> Cost:
        fields = calls = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost = self._field(selection)
            elif isinstance(selection, InlineFragmentNode):
                cost = self._costs.get(id(selection.selection_set), NOTHING)
            elif isinstance(selection, FragmentSpreadNode):
                below = self.graph.fragment_set(selection)
                cost = self._costs.get(id(below), NOTHING) if below is not None else NOTHING
            else:  # pragma: no cover - the three kinds above are all GraphQL has
                continue
            fields += cost.fields
            calls += cost.upstream_calls
        return Cost(saturate(fields), saturate(calls))

    def _field(self, field: FieldNode) -> Cost:
        name = field.name.value
        below = self.analysis.shape(field.selection_set).fields
        arguments = self._arguments(field)
        if name == "customers":
            # A page is `first` long forwards and `last` long backwards.
            first = arguments.get("first")
            if not isinstance(first, int) or first <= 0:
                first = arguments.get("last")
            if not isinstance(first, int) or first <= 0:
                first = self.default_page_size
            providers = arguments.get("providers")
            asked = len(providers) if isinstance(providers, list) and providers else PROVIDERS
            return Cost(1 + first * below, asked * 2 * math.ceil(first / 100))
        if name == "nodes":
            ids = arguments.get("ids")
            count = len(ids) if isinstance(ids, list) else 0
            return Cost(1 + count * below, count)
        if name in LOOKUPS:
            return Cost(1 + below, 1)
        return Cost(1 + nested_fan_out(name) * below, 0)

    def _arguments(self, field: FieldNode) -> dict[str, Any]:
        definition = self.root.fields.get(field.name.value)
        if definition is None:
            return {}
        try:
            return get_argument_values(definition, field, self.variables)
        except GraphQLError:
            # Validation has passed, so this is an argument execution will refuse.
            return {}


__all__ = [
    "LISTS",
    "LOOKUPS",
    "NESTED_LIST_ESTIMATE",
    "NOTHING",
    "Cost",
    "estimate",
    "nested_fan_out",
]
