"""A document's shape in one pass: each selection set, and so each fragment, is summarised once.

Depth, alias count, expanded selection count and per-item field cost are each a sum or a
maximum over a selection set's selections, so a fragment spread reuses the summary of its
fragment instead of walking it again. Fragments with a type condition are alternatives: an
object is of one type, so a set costs what its most expensive type would get, not the sum of
every fragment (`covers` says which object types a condition stands for). The work is linear
in the document's text however its fragments nest: ~20 fragments, each spreading the previous
one twice, expand to a million selections but are summarised in a few dozen visits.

Nothing here assumes the document is valid (the analysis runs before graphql-core validates
it): an unknown fragment counts as empty, and a spread that closes a cycle counts as empty at
the point where the cycle closes. graphql-core then reports both. The walk (`.graph`) is
iterative, so a long chain of fragments cannot exhaust Python's recursion limit. Usage::

    analysis = analyse(document, covers=type_coverage(schema))
    analysis.selections, analysis.depth, analysis.aliases, analysis.shape(field.selection_set)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    print_ast,
)

from resolvers.limits.graph import SelectionGraph, saturate

# Repeated fields are compared by text up to this many selections below them.
_COMPARED_SELECTIONS = 200
# The field that links a customer to its records elsewhere: charged once per operation.
LINKS = "sameAs"
# The object types a fragment's type condition stands for (the schema's possible types).
Coverage = Callable[[str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Shape:
    """One selection set with every fragment spread replaced by its fragment, in numbers."""

    # Levels of fields below, counted as Strawberry's depth limiter counts them: a leaf is 0,
    # a field with a selection set 1 + the depth of that set; introspection fields count 0.
    depth: int
    # Aliased fields, every spread counted where it is spread.
    aliases: int
    # Fields and inline fragments once every spread is expanded in place.
    selections: int
    # Fields resolved for one parent object, fragments on type conditions counted for the
    # type they cost most on. A list below the root counts its selection once: its items come
    # with the record, so their number is the data's, never a client's to multiply.
    fields: int
    # `sameAs` is selected somewhere below (it reads each account's index: docs/cost.md).
    links: bool = False


EMPTY = Shape(depth=0, aliases=0, selections=0, fields=0)


class DocumentAnalysis:
    """Every selection set of a document summarised as a `Shape`, each exactly once.

    `depth` is the deepest operation's, `aliases` the operations' total; `selections` adds
    the operations' expansions and those of fragments no selection spreads (validation walks
    those too). `cyclic` says some fragment spreads itself, directly or not (its expansion is
    then infinite, and the figures count each cycle once). `visits` counts the selections
    examined: linear in the document's size.
    """

    def __init__(self, document: DocumentNode, covers: Coverage) -> None:
        self.document = document
        self.covers = covers
        self.graph = SelectionGraph(document)
        self.visits = 0
        self._shapes: dict[int, Shape] = {}
        self._printed: dict[int, str] = {}
        self.operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        operation_shapes = [self._summarise(o.selection_set) for o in self.operations]
        spread = _spread_names(document)
        unspread = [
            self._summarise(f.selection_set)
            for name, f in self.graph.fragments.items()
            if name not in spread
        ]
        depths = [s.depth for s in operation_shapes]
        self.cyclic = self.graph.cyclic
        self.depth = max(depths, default=0)
        # The operation that reaches `depth` (None for a document without operations).
        self.deepest = self.operations[depths.index(self.depth)] if self.operations else None
        self.aliases = saturate(sum(s.aliases for s in operation_shapes))
        self.selections = saturate(sum(s.selections for s in (*operation_shapes, *unspread)))

    def shape(self, selection_set: SelectionSetNode | None) -> Shape:
        """The summary of a set of this document (EMPTY for none, or one cut by a cycle)."""
        if selection_set is None:
            return EMPTY
        return self._shapes.get(id(selection_set), EMPTY)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation `name` selects: the named one, or the first when no name is given."""
        for operation in self.operations:
            if name is None or (operation.name is not None and operation.name.value == name):
                return operation
        return None

    def _summarise(self, start: SelectionSetNode) -> Shape:
        for selection_set in self.graph.post_order(start):
            self._shapes[id(selection_set)] = self._combine(selection_set)
        return self.shape(start)

    def _combine(self, selection_set: SelectionSetNode) -> Shape:
        depth = aliases = selections = fields = 0
        links = False
        conditional: list[tuple[frozenset[str], int]] = []
        # The set's own fields by response key: GraphQL resolves a key named again (here or in
        # an inline fragment, with the same selection) once, so it is counted once.
        direct: dict[str, FieldNode] = {}
        for selection in selection_set.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                below = self.shape(selection.selection_set)
                name = selection.name.value
                if selection.selection_set is not None and not name.startswith("__"):
                    depth = max(depth, 1 + below.depth)
                aliases += below.aliases + (selection.alias is not None)
                selections += 1 + below.selections
                links = links or below.links or name == LINKS
                key = _key(selection)
                if key in direct and self._same(direct[key], selection):
                    continue
                direct.setdefault(key, selection)
                fields += 1 + below.fields
                continue
            if isinstance(selection, InlineFragmentNode):
                below = self.shape(selection.selection_set)
                selections += 1
                condition = selection.type_condition
                repeated = self._repeated(selection.selection_set, direct)
            elif isinstance(selection, FragmentSpreadNode):
                below = self.shape(self.graph.fragment_set(selection))
                fragment = self.graph.fragments.get(selection.name.value)
                condition = fragment.type_condition if fragment is not None else None
                repeated = 0
            else:  # pragma: no cover - the three kinds above are all GraphQL has
                continue
            depth = max(depth, below.depth)
            aliases += below.aliases
            selections += below.selections
            links = links or below.links
            if condition is None:
                fields += below.fields - repeated
            else:
                conditional.append((self.covers(condition.name.value), below.fields - repeated))
        fields += _costliest(conditional)
        return Shape(depth, saturate(aliases), saturate(selections), saturate(fields), links)

    def _repeated(self, fragment: SelectionSetNode, direct: dict[str, FieldNode]) -> int:
        """What an inline fragment's own fields that repeat the enclosing set's cost: counted
        there already. (Inline fragments only: each is its own text, so this stays linear.)"""
        repeated = 0
        for selection in fragment.selections:
            if isinstance(selection, FieldNode):
                key = _key(selection)
                if key in direct and self._same(direct[key], selection):
                    repeated += 1 + self.shape(selection.selection_set).fields
        return repeated

    def _same(self, one: FieldNode, other: FieldNode) -> bool:
        """Whether two fields of one key resolve alike: both leaves, or small selections of
        equal text. A large one is taken as different (counted twice, never under-counted),
        so comparing stays linear in the document however deep it nests."""
        if one.selection_set is None or other.selection_set is None:
            return one.selection_set is other.selection_set
        sizes = (
            self.shape(one.selection_set).selections,
            self.shape(other.selection_set).selections,
        )
        if max(sizes) > _COMPARED_SELECTIONS:
            return False
        return self._signature(one.selection_set) == self._signature(other.selection_set)

    def _signature(self, selection_set: SelectionSetNode) -> str:
        found = self._printed.get(id(selection_set))
        if found is None:
            found = self._printed[id(selection_set)] = print_ast(selection_set)
        return found


def _key(field: FieldNode) -> str:
    """The response key; arguments are part of what is resolved, so they join it."""
    arguments = ",".join(print_ast(a) for a in field.arguments) if field.arguments else ""
    return f"{(field.alias or field.name).value}({arguments})"


def _costliest(conditional: list[tuple[frozenset[str], int]]) -> int:
    """The most any one object type gets from fragments on type conditions: the sum of the
    fragments whose condition covers it (an interface's covers each of its types)."""
    by_type: dict[str, int] = {}
    for types, fields in conditional:
        for name in types:
            by_type[name] = saturate(by_type.get(name, 0) + fields)
    return max(by_type.values(), default=0)


def each_type_alone(condition: str) -> frozenset[str]:
    """Coverage without a schema: every condition names one type of its own."""
    return frozenset({condition})


def _spread_names(document: DocumentNode) -> frozenset[str]:
    """The fragments some selection spreads, found without expanding any spread."""
    names: set[str] = set()
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.add(selection.name.value)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                stack.append(selection.selection_set)
    return frozenset(names)


def analyse(document: DocumentNode, *, covers: Coverage = each_type_alone) -> DocumentAnalysis:
    """Summarise `document`; `covers(condition)` names the object types a fragment's type
    condition stands for."""
    return DocumentAnalysis(document, covers)


__all__ = ["EMPTY", "Coverage", "DocumentAnalysis", "Shape", "analyse", "each_type_alone"]
