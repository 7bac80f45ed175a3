"""A persisted operation compiled once: what it reads, and a writer for exactly its fields.

`compile_operation` turns a parsed, validated document into a `Plan`, or None when any part of
it is beyond the compiler: a root field other than `customers`, `customer`, `node` and
`__typename`, or two reads; a field with its own resolver (but one `totalCount`, which the
runner awaits) or arguments, a field a `[auth.field_scopes]` rule guards, a directive
(`@skip`, `@include`, `@defer`), a fragment with variables, a possible type of an abstract field
the compiler has no fields for (resolvers/compiled/fields.py). The writers are closures over
the schema the endpoint serves: the same field types, nullability and scalar coercion as
graphql-core's, applied to the domain objects without building any Strawberry object.

A value the writers cannot write exactly as graphql-core would (a null where the schema says
non-null, a value a scalar refuses) raises `Unrepresentable`: the operation then runs on
graphql-core, which reports it as it always does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues

from resolvers.compiled.fields import COUNT, Getter, getter

Writer = Callable[[Any], Any]
# Collecting fields with no directive in the document reads no variable.
_NO_VARIABLES = VariableValues({}, {})
_INT_RANGE = range(-(2**31), 2**31)
# The root fields a plan reads (resolvers/compiled/operations.py calls their bodies).
ROOT_FIELDS = frozenset({"customers", "customer", "node"})


class Unrepresentable(Exception):
    """A value the compiled writer cannot write as graphql-core would."""


@dataclass(frozen=True, slots=True)
class RootField:
    """A read at the root: its response key, its field and nodes, and its value's writer."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    field: GraphQLField
    write: Writer
    # `customers { totalCount }`: its response key and nodes, when selected (once).
    count: tuple[str, tuple[FieldNode, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """One operation of one document, compiled against one schema."""

    operation: OperationDefinitionNode
    # The root in response order: a `RootField` to read, or `__typename`'s constant.
    root: tuple[tuple[str, RootField | str], ...]


def compile_operation(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> Plan | None:
    """The plan of `operation` (of a document that validated against `schema`), or None."""
    if operation.operation != OperationType.QUERY or not _plain(document):
        return None
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    root_type = schema.query_type
    if root_type is None:
        return None
    writers = _Writers(schema, fragments, operation)
    grouped = collect_fields(schema, fragments, _NO_VARIABLES, root_type, operation)
    root: list[tuple[str, RootField | str]] = []
    for key, group in grouped.grouped_field_set.items():
        name = group[0].node.name.value
        if name == "__typename":
            root.append((key, root_type.name))
            continue
        # Introspection (`__schema`, `__type`) is not among the root type's own fields.
        field = root_type.fields.get(name)
        if field is None or name not in ROOT_FIELDS or not _compilable(field, group, root=True):
            return None
        writers.counted.clear()
        write = writers.value(field.type, group)
        # Two counts would run concurrently on graphql-core, erring in the order they end.
        if write is None or len(writers.counted) > 1:
            return None
        count = writers.counted[0] if writers.counted else None
        nodes = tuple(d.node for d in group)
        root.append((key, RootField(key, name, nodes, field, write, count)))
    # One read per operation: graphql-core would run several root reads concurrently, and
    # their partial errors would come in the order they finish.
    if sum(isinstance(v, RootField) for _, v in root) != 1:
        return None
    return Plan(operation, tuple(root))


class _Writers:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.operation = operation
        self.customer = schema.get_type("Customer")
        # Each `totalCount` selected on the connection: its key and nodes.
        self.counted: list[tuple[str, tuple[FieldNode, ...]]] = []

    def value(self, kind: GraphQLOutputType, group: FieldDetailsList) -> Writer | None:
        """A writer of one value of `kind` selected by `group`, nulls included."""
        if isinstance(kind, GraphQLNonNull):
            inner = self._nullable(kind.of_type, group)
            return _non_null(inner) if inner is not None else None
        inner = self._nullable(kind, group)
        return _or_null(inner) if inner is not None else None

    def _nullable(self, kind: GraphQLOutputType, group: FieldDetailsList) -> Writer | None:
        if isinstance(kind, GraphQLList):
            item = self.value(kind.of_type, group)
            return _list(item) if item is not None else None
        if isinstance(kind, GraphQLObjectType):
            return self._object(kind, group)
        if isinstance(kind, GraphQLAbstractType):
            return self._abstract(kind, group)
        if isinstance(kind, GraphQLLeafType):
            return leaf_writer(kind)
        return None

    def _object(self, kind: GraphQLObjectType, group: FieldDetailsList) -> Writer | None:
        collected = collect_subfields(
            self.schema, self.fragments, _NO_VARIABLES, self.operation, kind, group
        )
        is_customer = self.customer is not None and self.customer in kind.interfaces
        parts: list[tuple[str, Writer]] = []
        for key, fields in collected.grouped_field_set.items():
            name = fields[0].node.name.value
            if name == "__typename":
                parts.append((key, _constant(kind.name)))
                continue
            field = kind.fields[name]
            get = getter(kind, name, is_customer)
            if (kind.name, name) == COUNT:
                # Its resolver's value, awaited by the runner before the writer runs.
                if _guarded(field) or any(d.node.arguments for d in fields):
                    return None
                self.counted.append((key, tuple(d.node for d in fields)))
            elif not _compilable(field, fields):
                return None
            if get is None:
                return None
            fused = _leaf_field(get, field.type)
            write = fused or self.value(field.type, fields)
            if write is None:
                return None
            parts.append((key, fused or _field(get, write)))
        return _record(tuple(parts))

    def _abstract(self, kind: GraphQLAbstractType, group: FieldDetailsList) -> Writer | None:
        """A customer as its provider's type: the type whose `details` class it carries."""
        by_details: dict[type, Writer] = {}
        for possible in self.schema.get_possible_types(kind):
            details = _details_class(possible)
            if details is None:
                return None
            write = self._object(possible, group)
            if write is None:
                return None
            by_details[details] = write

        def write_customer(customer: Any) -> Any:
            write = by_details.get(type(customer.details))
            if write is None:
                raise Unrepresentable(f"no compiled type for {type(customer.details).__name__}")
            return write(customer)

        return write_customer


def leaf_writer(kind: GraphQLLeafType) -> Writer:
    """graphql-core's output coercion of `kind`, short-cut for the values it passes as they
    are (a str for String and ID, a bool, an int in range, a finite float)."""
    coerce = kind.coerce_output_value
    if kind is GraphQLString or kind is GraphQLID:
        return lambda v: v if type(v) is str else _coerced(coerce, v)
    if kind is GraphQLBoolean:
        return lambda v: v if type(v) is bool else _coerced(coerce, v)
    if kind is GraphQLInt:
        return lambda v: v if type(v) is int and v in _INT_RANGE else _coerced(coerce, v)
    if kind is GraphQLFloat:
        return lambda v: v if type(v) is float and math.isfinite(v) else _coerced(coerce, v)
    if isinstance(kind, GraphQLEnumType):
        names: dict[Any, Any] = {}

        def write_enum(v: Any) -> Any:
            # Each value's name once: Strawberry's enum coercion walks every value per call.
            try:
                return names[v]
            except KeyError:
                name = names[v] = _coerced(coerce, v)
                return name

        return write_enum
    return lambda v: _coerced(coerce, v)


def _leaf_field(get: Getter, kind: GraphQLOutputType) -> Writer | None:
    """A leaf field as one closure (its getter, null check and coercion together: the
    writer's most common step, so the one made cheapest); None for any other field."""
    non_null = isinstance(kind, GraphQLNonNull)
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if kind is GraphQLString or kind is GraphQLID or kind is GraphQLBoolean:
        plain = bool if kind is GraphQLBoolean else str
        coerce = kind.coerce_output_value

        def write_plain(source: Any) -> Any:
            value = get(source)
            if type(value) is plain:
                return value
            if value is None:
                if non_null:
                    raise Unrepresentable("null in a non-null position")
                return None
            return _coerced(coerce, value)

        return write_plain
    if isinstance(kind, GraphQLLeafType):
        leaf = leaf_writer(kind)

        def write_leaf(source: Any) -> Any:
            value = get(source)
            if value is None:
                if non_null:
                    raise Unrepresentable("null in a non-null position")
                return None
            return leaf(value)

        return write_leaf
    return None


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    try:
        coerced = coerce(value)
    except Exception as exc:
        raise Unrepresentable(f"{value!r} does not coerce") from exc
    if coerced is None:
        raise Unrepresentable(f"{value!r} coerces to null")
    return coerced


def _non_null(inner: Writer) -> Writer:
    def write(value: Any) -> Any:
        if value is None:
            raise Unrepresentable("null in a non-null position")
        return inner(value)

    return write


def _or_null(inner: Writer) -> Writer:
    return lambda value: None if value is None else inner(value)


def _list(item: Writer) -> Writer:
    return lambda values: [item(v) for v in values]


def _field(get: Getter, write: Writer) -> Writer:
    return lambda source: write(get(source))


def _constant(value: str) -> Writer:
    return lambda _: value


def _record(parts: tuple[tuple[str, Writer], ...]) -> Writer:
    """One object's writer: a function whose body is the dict display of its fields, so
    writing an object costs no loop (keys are GraphQL names: letters, digits, `_`)."""
    if not all(key.isidentifier() for key, _ in parts):
        return lambda source: {key: write(source) for key, write in parts}
    writers = {f"_w{i}": write for i, (_, write) in enumerate(parts)}
    entries = ", ".join(f"{key!r}: _w{i}(source)" for i, (key, _) in enumerate(parts))
    namespace: dict[str, Any] = {}
    exec(f"def write(source):\n    return {{{entries}}}\n", writers, namespace)  # noqa: S102
    write: Writer = namespace["write"]
    return write


def _compilable(field: GraphQLField, group: FieldDetailsList, *, root: bool = False) -> bool:
    """A field the plan can write: not guarded by a field rule (resolvers/scopes.py wraps its
    resolver); at the root, the read the runner makes itself; below it, a plain attribute
    (no resolver of its own) selected without arguments."""
    if _guarded(field):
        return False
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None:
        return False
    if root:
        return True
    return definition.base_resolver is None and not any(d.node.arguments for d in group)


def _guarded(field: GraphQLField) -> bool:
    """Whether a field rule guards `field` (resolvers/scopes.py wraps its resolver)."""
    return getattr(field.resolve, "__module__", None) == "resolvers.scopes"


def _details_class(kind: GraphQLObjectType) -> type | None:
    definition = (kind.extensions or {}).get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    details = getattr(origin, "details", None)
    return details if isinstance(details, type) else None


def _plain(document: DocumentNode) -> bool:
    """No directive anywhere, and no fragment with variables of its own."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            return False
        variables = definition.variable_definitions or ()
        if isinstance(definition, FragmentDefinitionNode) and variables:
            return False
        if definition.directives or any(v.directives for v in variables):
            return False
        if not _plain_selections(definition.selection_set):
            return False
    return True


def _plain_selections(selection_set: SelectionSetNode) -> bool:
    for selection in selection_set.selections:
        if selection.directives:
            return False
        if isinstance(selection, FragmentSpreadNode) and getattr(selection, "arguments", None):
            return False
        inner = getattr(selection, "selection_set", None)
        if inner is not None and not _plain_selections(inner):
            return False
    return True


__all__ = [
    "ROOT_FIELDS",
    "Plan",
    "RootField",
    "Unrepresentable",
    "Writer",
    "compile_operation",
    "leaf_writer",
]
