"""Which operation of a document a request runs, and the variables it runs with.

GraphQL's GetOperation(): with no `operationName` the document must hold exactly one
operation; with one, an operation of that name must exist. Strawberry runs the first operation
when none is named, so the edge decides here and answers 422 otherwise.

GraphQL execution ignores variables the operation does not declare, so a key built from the
request's whole `variables` map lets any client mint endless distinct keys for one answer
(`{"a": 1, "junk1": ...}`, `{"a": 1, "junk2": ...}`). Here only the chosen operation's
declared variables count, with their declared defaults applied, so omitting `$n` and sending
its default share a key.

Usage: `operations = DeclaredVariables(max_tokens).operations(query)` (None: the document does
not parse), `operation = choose_operation(operations, operation_name)` (422 as a `Rejection`),
then `run_values(operations, operation, variables)`: None means "do not cache".
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse, value_from_ast_untyped

from gateway.http.rejection import Rejection

# Documents whose declarations are remembered; each costs a few hundred bytes at most.
DOCUMENT_MEMO_SIZE = 1024
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Declaration:
    """One `$name: Type = default` of an operation; `default` is `_ABSENT` without one."""

    name: str
    default: Any


# Operation name (None for an anonymous one) -> its declarations, in document order.
Operations = dict[str | None, tuple[Declaration, ...]]


def _not_found(message: str) -> Rejection:
    """The operation to run cannot be determined (GraphQL-over-HTTP: 422)."""
    return Rejection(422, "OPERATION_RESOLUTION_FAILURE", message)


def choose_operation(operations: Operations | None, operation_name: str | None) -> str | None:
    """The name of the operation the request runs (None: the document's only operation is
    anonymous). `operations` None (a document that does not parse, or names two operations
    alike) leaves the choice to the schema, which reports the error with its location."""
    if operations is None:
        return operation_name
    if operation_name is not None:
        if operation_name not in operations:
            raise _not_found(f"The document has no operation named {operation_name[:64]!r}")
        return operation_name
    if len(operations) == 1:
        return next(iter(operations))
    if not operations:
        raise _not_found("The document has no operation to run")
    raise _not_found("The document has several operations: name the one to run in operationName")


def run_values(
    operations: Operations | None, operation: str | None, variables: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The variables `operation` runs with: those it declares, from `variables` or else their
    defaults; None when the document has no such operation (execution refuses it anyway)."""
    if operations is None or operation not in operations:
        return None
    given = variables or {}
    values: dict[str, Any] = {}
    for declaration in operations[operation]:
        # An explicit null is a value (it overrides the default); only absence defaults.
        if declaration.name in given:
            values[declaration.name] = given[declaration.name]
        elif declaration.default is not _ABSENT:
            values[declaration.name] = declaration.default
    return values


class DeclaredVariables:
    """Parses each document once (memoised per document hash in a bounded LRU) into the
    operations it defines and the variables each declares."""

    def __init__(self, max_tokens: int | None = None, memo_size: int = DOCUMENT_MEMO_SIZE) -> None:
        self.max_tokens = max_tokens
        self.memo_size = memo_size
        # A document that does not parse is remembered as None, so garbage is parsed once too.
        self._memo: OrderedDict[bytes, Operations | None] = OrderedDict()

    def operations(self, query: str) -> Operations | None:
        digest = hashlib.sha256(query.encode()).digest()
        if digest in self._memo:
            self._memo.move_to_end(digest)
            return self._memo[digest]
        found = self._parse(query)
        self._memo[digest] = found
        if len(self._memo) > self.memo_size:
            self._memo.popitem(last=False)
        return found

    def _parse(self, query: str) -> Operations | None:
        try:
            document = parse(query, no_location=True, max_tokens=self.max_tokens)
        except (GraphQLError, RecursionError):
            return None
        operations: Operations = {}
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else None
            if name in operations:
                return None  # two operations of one name: execution refuses the document
            operations[name] = tuple(
                Declaration(
                    d.variable.name.value,
                    value_from_ast_untyped(d.default_value)
                    if d.default_value is not None
                    else _ABSENT,
                )
                for d in definition.variable_definitions or ()
            )
        return operations


__all__ = [
    "DOCUMENT_MEMO_SIZE",
    "Declaration",
    "DeclaredVariables",
    "Operations",
    "choose_operation",
    "run_values",
]
