"""Which operation of a document a request runs, decided before anything executes.

GraphQL's GetOperation(): with no `operationName` the document must hold exactly one
operation; with one, an operation of that name must exist. Strawberry runs the first operation
when none is named, so the edge decides here and answers 422 otherwise. Outlines are memoised
per document text in a bounded LRU, so a repeated document is parsed once here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from graphql import GraphQLError, OperationDefinitionNode, parse


@dataclass(frozen=True, slots=True)
class DocumentOutline:
    """The operations a document defines, by name (None for an anonymous one), in order."""

    operations: tuple[str | None, ...]


class OperationNotFound(Exception):
    """The operation to run cannot be determined (GraphQL-over-HTTP: 422)."""

    code = "OPERATION_RESOLUTION_FAILURE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DocumentOutlines:
    """Usage: `name = outlines.choose(query, operation_name)`; raises OperationNotFound."""

    def __init__(self, max_tokens: int, maxsize: int = 512) -> None:
        self.max_tokens = max_tokens
        self.maxsize = maxsize
        self._outlines: OrderedDict[str, DocumentOutline | None] = OrderedDict()

    def outline(self, query: str) -> DocumentOutline | None:
        """The document's outline, or None when it does not parse (the schema then reports
        the parse error, with its location, as for any other document)."""
        if query in self._outlines:
            self._outlines.move_to_end(query)
            return self._outlines[query]
        try:
            document = parse(query, no_location=True, max_tokens=self.max_tokens)
        except GraphQLError:
            outline = None
        else:
            outline = DocumentOutline(
                tuple(
                    d.name.value if d.name else None
                    for d in document.definitions
                    if isinstance(d, OperationDefinitionNode)
                )
            )
        self._outlines[query] = outline
        if len(self._outlines) > self.maxsize:
            self._outlines.popitem(last=False)
        return outline

    def choose(self, query: str, operation_name: str | None) -> str | None:
        """The name of the operation the request runs (None: the document's only, anonymous
        operation, or a document that does not parse)."""
        outline = self.outline(query)
        if outline is None:
            return operation_name
        operations = outline.operations
        if operation_name is not None:
            if operation_name not in operations:
                raise OperationNotFound(
                    f"The document has no operation named {operation_name[:64]!r}"
                )
            return operation_name
        if len(operations) == 1:
            return operations[0]
        if not operations:
            raise OperationNotFound("The document has no operation to run")
        raise OperationNotFound(
            "The document has several operations: name the one to run in operationName"
        )


__all__ = ["DocumentOutline", "DocumentOutlines", "OperationNotFound"]
