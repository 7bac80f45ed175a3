"""GraphQL errors as clients see them: a stable `extensions.code`, nothing internal.

Unexpected exceptions are logged here with their traceback and reach the client only as
"Internal server error".
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from gateway.context import PartialError
from gateway.errors import GatewayError

log = logging.getLogger("gateway.errors")

INTERNAL_MESSAGE = "Internal server error"


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    body: dict[str, Any] = {"message": error.message}
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        body["path"] = error.path
    if isinstance(original, GatewayError):
        body["message"] = original.message
        body["extensions"] = original.extensions()
    elif original is None or isinstance(original, GraphQLError):
        body["extensions"] = {"code": request_error_code(error)}
    else:
        log.error(
            "unexpected error in a resolver (request %s)",
            request_id,
            exc_info=(type(original), original, original.__traceback__),
        )
        body["message"] = INTERNAL_MESSAGE
        body["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return body


def format_partial(partial: PartialError) -> dict[str, Any]:
    return {
        "message": partial.error.message,
        "path": list(partial.path),
        "extensions": partial.error.extensions(),
    }


# Strawberry's token limiter and introspection switch report plain errors; their messages say
# which. (The refusals in resolvers/limits/ carry their codes.)
_LIMIT_CODES = (
    ("Document contains more than", "QUERY_TOO_LARGE"),
    ("introspection has been disabled", "INTROSPECTION_DISABLED"),
)


# graphql-core's CoerceVariableValues() messages: the variables, not the document, are wrong.
# Every other "Variable '$x' ..." message is a validation rule's (unused, undefined, misplaced).
_VARIABLE_VALUE = re.compile(
    r"^Variable '\$\w+' (has invalid (default )?value|got invalid value"
    r"|of required type .* was not provided|of non-null type .* must not be null)"
    r"|^Variable values are nested too deeply"
)


def request_error_code(error: GraphQLError) -> str:
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return str(error.extensions["code"])
    for fragment, code in _LIMIT_CODES:
        if fragment in error.message:
            return code
    if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if _VARIABLE_VALUE.match(error.message):
        return "BAD_USER_INPUT"
    if error.path is not None:
        # graphql-core's own execution errors (e.g. a null in a non-null field).
        return "INTERNAL_SERVER_ERROR"
    return "GRAPHQL_VALIDATION_FAILED"


__all__ = ["INTERNAL_MESSAGE", "format_error", "format_partial", "request_error_code"]
