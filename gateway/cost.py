"""What a query would cost before it runs: field resolutions and upstream calls.

The estimate is deliberately simple and pessimistic: a `customers` page multiplies what is
below it by its `first`, `nodes` by its number of ids, and every other list by
`NESTED_LIST_ESTIMATE`; each page of `customers` may cost two upstream calls per provider,
each id one. A query over the limits is refused before any resolver, and so any provider,
is touched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

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


@dataclass(frozen=True, slots=True)
class Cost:
    fields: int
    upstream_calls: int


def estimate(
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    default_page_size: int,
) -> Cost:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    walker = _Walker(fragments, variables or {}, default_page_size)
    for operation in chosen[:1]:
        walker.selection_set(operation.selection_set, 1, root=True)
    return Cost(walker.fields, walker.calls)


class _Walker:
    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page_size: int,
    ) -> None:
        self.fragments = fragments
        self.variables = variables
        self.default_page_size = default_page_size
        self.fields = 0
        self.calls = 0

    def selection_set(
        self, selection_set: SelectionSetNode | None, multiplier: int, *, root: bool = False
    ) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, multiplier, root)
            elif isinstance(selection, InlineFragmentNode):
                self.selection_set(selection.selection_set, multiplier, root=root)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    self.selection_set(fragment.selection_set, multiplier, root=root)

    def field(self, field: FieldNode, multiplier: int, root: bool) -> None:
        name = field.name.value
        self.fields += multiplier
        below = multiplier
        if root and name == "customers":
            first = self._int_argument(field, "first") or self.default_page_size
            providers = self._list_length(field, "providers") or PROVIDERS
            self.calls += providers * 2 * math.ceil(first / 100)
            below = multiplier * first
        elif root and name == "nodes":
            count = self._list_length(field, "ids") or 0
            self.calls += count
            below = multiplier * count
        elif root and name in ("node", "customer", "customerByExternalId"):
            self.calls += 1
        elif name in LISTS:
            below = multiplier * NESTED_LIST_ESTIMATE
        self.selection_set(field.selection_set, below)

    def _argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
        return None

    def _int_argument(self, field: FieldNode, name: str) -> int | None:
        value = self._argument(field, name)
        return value if isinstance(value, int) and value > 0 else None

    def _list_length(self, field: FieldNode, name: str) -> int | None:
        value = self._argument(field, name)
        return len(value) if isinstance(value, list) else None


__all__ = ["NESTED_LIST_ESTIMATE", "Cost", "estimate"]
