"""Every refusal of the `/graphql` and `/webhooks/{provider}` routes, and how it is answered.

A step that cannot go on raises a `Rejection`; the route turns it into a response here, and
nowhere else:

    Rejection(status, code, message, headers)
      /graphql               graphql_response: {"errors": [{"message", "extensions": {"code"}}]},
                             in the media type the client accepts, with its X-Request-Id
      /webhooks/{provider}   webhook_response: {"received": false, "error", "code"}, JSON

`headers` carry what the status calls for: `Allow` (405), `WWW-Authenticate` (401),
`Retry-After` (429, 409, 503), `Cache-Control` (an APQ miss).

Usage: `raise Rejection(413, "PAYLOAD_TOO_LARGE", "The request body is too large")`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import orjson
from starlette.responses import JSONResponse, Response


class Rejection(Exception):
    """The request is refused: `status`, one error with a stable `code`, and `headers`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"Rejection({self.status}, {self.code!r}, {self.message!r})"


def retry_after(seconds: float) -> dict[str, str]:
    """The `Retry-After` header for a wait of `seconds`: whole seconds, at least one."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def graphql_response(rejection: Rejection, media_type: str, request_id: str) -> Response:
    """The GraphQL route's answer: a GraphQL response with one error and no `data`."""
    body = {"errors": [{"message": rejection.message, "extensions": {"code": rejection.code}}]}
    return Response(
        orjson.dumps(body),
        status_code=rejection.status,
        media_type=media_type,
        headers={"X-Request-Id": request_id, **rejection.headers},
    )


def webhook_response(rejection: Rejection) -> Response:
    """The webhook route's answer, in the shape providers' delivery logs show."""
    return JSONResponse(
        {"received": False, "error": rejection.message, "code": rejection.code},
        status_code=rejection.status,
        headers=rejection.headers,
    )


__all__ = ["Rejection", "graphql_response", "retry_after", "webhook_response"]
