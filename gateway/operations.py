"""Which operation of a document a request runs, decided before anything executes.

GraphQL's GetOperation(): with no `operationName` the document must hold exactly one
operation; with one, an operation of that name must exist. Strawberry runs the first operation
when none is named, so the edge decides here and answers 422 otherwise. The document's
operations come from the edge's `DeclaredVariables`, which parses each document once; the same
lookup gives the variables the chosen operation runs with, for the response cache's key.
"""

from __future__ import annotations

from gateway.declared_variables import Operations


class OperationNotFound(Exception):
    """The operation to run cannot be determined (GraphQL-over-HTTP: 422)."""

    code = "OPERATION_RESOLUTION_FAILURE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def choose_operation(operations: Operations | None, operation_name: str | None) -> str | None:
    """The name of the operation the request runs (None: the document's only operation is
    anonymous). `operations` None (a document that does not parse, or names two operations
    alike) leaves the choice to the schema, which reports the error with its location."""
    if operations is None:
        return operation_name
    if operation_name is not None:
        if operation_name not in operations:
            raise OperationNotFound(f"The document has no operation named {operation_name[:64]!r}")
        return operation_name
    if len(operations) == 1:
        return next(iter(operations))
    if not operations:
        raise OperationNotFound("The document has no operation to run")
    raise OperationNotFound(
        "The document has several operations: name the one to run in operationName"
    )


__all__ = ["OperationNotFound", "choose_operation"]
