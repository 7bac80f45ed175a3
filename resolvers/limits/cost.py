"""What a query would cost before it runs: field resolutions and upstream calls.

Only the lists a client sizes are multiplied: a `customers` page by its `first` (or `last`),
`nodes` by its number of ids. Each record read costs `RECORD_WEIGHT` fields, whatever is
selected (the whole record is parsed and mapped), plus the fields selected on it. Below the
root, fragments on type conditions count the most expensive type, and a list inside a record
(addresses, phones, tags...) counts its selection once: its items come with the record, in the
same upstream answer. Each page of `customers` may cost two upstream calls per provider, each
id one; an ordered page (`orderBy`) reads every page of every provider, up to the scan bound.
A query over the limits is refused before any resolver, and so any provider, is touched.
docs/cost.md works examples through.

Arguments are costed as they will run: coerced exactly as graphql-core coerces them for
execution, so a variable that is not sent takes its default, a single value given where a list
is expected counts as a list of one, and variables the operation does not declare are ignored.
Below the root fields the cost comes from the document's analysis (`.analysis`), where each
fragment was summarised once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    VariableValues,
    get_argument_values,
    get_variable_values,
)

from gateway.settings.model import LimitSettings
from resolvers.limits.analysis import Coverage, DocumentAnalysis
from resolvers.limits.graph import SelectionGraph, saturate

# What reading one record costs in fields, before any is selected: the provider sends it
# whole and the gateway parses and maps it whole. It also keeps many records with few fields
# each (fifteen aliased pages of 100) as costly as the reads they are.
RECORD_WEIGHT = 20
PROVIDERS = 3
DEFAULT_MAX_SCAN_PAGES = LimitSettings().max_filter_scan_pages
# Root fields that read one object: one upstream call each.
LOOKUPS = frozenset({"node", "customer", "customerByExternalId"})


@dataclass(frozen=True, slots=True)
class Cost:
    fields: int
    upstream_calls: int


NOTHING = Cost(fields=0, upstream_calls=0)


@lru_cache(maxsize=8)
def type_coverage(schema: GraphQLSchema) -> Coverage:
    """What each type condition stands for in `schema`: an interface or union its possible
    object types, any other name itself. Built once per schema (lru: schemas are few)."""
    possible = {
        name: frozenset(t.name for t in schema.get_possible_types(kind))
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLAbstractType)
    }

    def covers(condition: str) -> frozenset[str]:
        return possible.get(condition) or frozenset({condition})

    return covers


def estimate(
    analysis: DocumentAnalysis,
    schema: GraphQLSchema,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    default_page_size: int,
    max_scan_pages: int = DEFAULT_MAX_SCAN_PAGES,
    streams: Mapping[str, int] | None = None,
    refused: Collection[str] = (),
) -> Cost | None:
    """The cost of the operation that will run, or None when its variables do not coerce
    (execution then refuses the request before any resolver runs). `streams`: the caller's
    accounts per provider name, each read on its own (unknown: one per provider); `refused`:
    root fields the caller lacks a scope for, null before their resolver runs (one field each,
    no call)."""
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
    root_cost = _RootCost(
        analysis, root, coerced, default_page_size, max_scan_pages, streams, refused
    )
    cost = root_cost.of(operation.selection_set)
    if not analysis.shape(operation.selection_set).links:
        return cost
    # `sameAs` anywhere, at any depth and for any number of customers, loads each account's
    # index once per request: the first time, a full read of up to the scan bound's pages
    # (docs/links.md). Kept indexes mostly cost nothing; the estimate is the worst case.
    accounts = sum(streams.values()) if streams is not None else PROVIDERS
    return Cost(cost.fields, saturate(cost.upstream_calls + accounts * max_scan_pages))


class _RootCost:
    """Root fields priced from their coerced arguments; inline fragments and spreads at the
    root priced once each, like the analysis below them."""

    def __init__(
        self,
        analysis: DocumentAnalysis,
        root: GraphQLObjectType,
        variables: VariableValues,
        default_page_size: int,
        max_scan_pages: int,
        streams: Mapping[str, int] | None = None,
        refused: Collection[str] = (),
    ) -> None:
        self.analysis = analysis
        self.refused = refused
        self.max_scan_pages = max_scan_pages
        self.streams = streams
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
        if name in self.refused:
            return Cost(1, 0)
        below = self.analysis.shape(field.selection_set).fields
        arguments = self._arguments(field)
        if name == "customers":
            items = self._page_size(arguments)
            providers = arguments.get("providers")
            asked = self._streams(providers)
            # An ordered page reads every stream whole, up to the scan bound's pages each.
            pages = self.max_scan_pages if arguments.get("orderBy") else 2 * math.ceil(items / 100)
            return Cost(1 + items * (below + RECORD_WEIGHT), asked * pages)
        if name == "nodes":
            ids = arguments.get("ids")
            count = len(ids) if isinstance(ids, list) else 0
            return Cost(1 + count * (below + RECORD_WEIGHT), count)
        if name in LOOKUPS:
            return Cost(1 + below + RECORD_WEIGHT, 1)
        return Cost(1 + below, 0)

    def _streams(self, providers: object) -> int:
        """The accounts a `customers` page reads: each is paged on its own."""
        named = providers if isinstance(providers, list) else None
        if self.streams is None:
            return len(named) if named else PROVIDERS
        if named is None:
            return sum(self.streams.values())
        return sum(self.streams.get(str(getattr(p, "value", p)), 0) for p in named)

    def _page_size(self, arguments: dict[str, Any]) -> int:
        """The items a page asks for: `first` or `last` (the larger when both are given),
        else the default page size."""
        sizes = [arguments.get(name) for name in ("first", "last")]
        asked = [size for size in sizes if isinstance(size, int) and size > 0]
        return max(asked) if asked else self.default_page_size

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
    "LOOKUPS",
    "NOTHING",
    "RECORD_WEIGHT",
    "Cost",
    "estimate",
    "type_coverage",
]
