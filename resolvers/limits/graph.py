"""A document's selection sets as a graph, walked once each, dependencies first.

A selection set depends on the sets of its fields, inline fragments and fragment spreads, so a
fragment spread many times is one node, not many copies. `post_order` visits each set once,
after the sets it depends on, without recursion (a long chain of fragments cannot exhaust
Python's recursion limit). An unknown fragment has no set; a spread that closes a cycle is
skipped where the cycle closes, and `cyclic` records that it happened. Usage::

    graph = SelectionGraph(document)
    for selection_set in graph.post_order(operation.selection_set): ...
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

# Counts stop growing here: big enough for any comparison with a limit, small enough that the
# arithmetic on them stays O(1) (a chain of n doubling fragments would otherwise give 2**n).
SATURATION = 1 << 62


def saturate(value: int) -> int:
    """`value`, capped at `SATURATION`."""
    return min(value, SATURATION)


class SelectionGraph:
    """The selection sets of a document, linked through fields, inline fragments and spreads.

    `post_order(start)` yields each set reachable from `start` after every set it depends on,
    each once across calls; a spread back into a set still being walked (a cycle) is skipped.
    """

    def __init__(self, document: DocumentNode, *, through_fields: bool = True) -> None:
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.through_fields = through_fields
        # Whether a spread led back into a set still being walked: the fragments form a cycle.
        self.cyclic = False
        self._seen: set[int] = set()
        self._done: set[int] = set()

    def fragment_set(self, spread: FragmentSpreadNode) -> SelectionSetNode | None:
        fragment = self.fragments.get(spread.name.value)
        return fragment.selection_set if fragment is not None else None

    def dependencies(self, selection_set: SelectionSetNode) -> Iterator[SelectionSetNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if self.through_fields and selection.selection_set is not None:
                    yield selection.selection_set
            elif isinstance(selection, InlineFragmentNode):
                yield selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                below = self.fragment_set(selection)
                if below is not None:
                    yield below

    def post_order(self, start: SelectionSetNode) -> Iterator[SelectionSetNode]:
        if id(start) in self._seen:
            return
        self._seen.add(id(start))
        stack: list[tuple[SelectionSetNode, Iterator[SelectionSetNode]]] = [
            (start, self.dependencies(start))
        ]
        while stack:
            node, pending = stack[-1]
            for below in pending:
                if id(below) not in self._seen:
                    self._seen.add(id(below))
                    stack.append((below, self.dependencies(below)))
                    break
                if id(below) not in self._done:
                    self.cyclic = True
            else:
                stack.pop()
                self._done.add(id(node))
                yield node


__all__ = ["SATURATION", "SelectionGraph", "saturate"]
