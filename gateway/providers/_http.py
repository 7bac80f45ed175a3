"""What every provider adapter does the same way: send a GET, read JSON, map failures.

Provider modules supply only what differs (which statuses mean "not found", how a
rate-limit answer says when to come back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson
import pydantic

from gateway.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    from gateway.domain.customer import Provider

RetryAfterReader = Callable[[httpx.Response], float | None]
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The `Retry-After` header when it holds seconds; HTTP dates are read as unknown."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def send(
    http: httpx.AsyncClient,
    provider: Provider,
    request: httpx.Request,
    *,
    retry_after: RetryAfterReader = retry_after_seconds,
    passthrough: frozenset[int] = frozenset({404}),
) -> httpx.Response:
    """Send `request`, returning the response or raising the `UpstreamError` it amounts to.

    2xx and the `passthrough` statuses come back to the caller, which knows what they mean for
    its endpoint (a 404 on a get is "no such customer"; a Layer 401 asks for a new token).
    """
    try:
        response = await http.send(request)
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(provider) from exc
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(provider) from exc
    status = response.status_code
    if status < 300 or status in passthrough:
        return response
    if status == 429:
        raise UpstreamRateLimited(provider, retry_after(response))
    if status in (401, 403):
        raise UpstreamAuthError(provider)
    if status >= 500:
        raise UpstreamUnavailable(provider)
    raise UpstreamRejected(provider)


def read_json(provider: Provider, response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamBadResponse(provider) from exc


def parse(provider: Provider, model: type[ModelT], payload: Any) -> ModelT:
    """Validate a wire payload; a body of the wrong shape is the provider's fault, not ours."""
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise UpstreamBadResponse(provider) from exc


def drop_empty(params: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


__all__ = [
    "RetryAfterReader",
    "UpstreamError",
    "drop_empty",
    "parse",
    "read_json",
    "retry_after_seconds",
    "send",
]
