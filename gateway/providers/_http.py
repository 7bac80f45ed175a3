"""What every provider adapter does the same way: send a GET, read JSON, map failures.

Provider modules supply only what differs (which statuses mean "not found", how a
rate-limit answer says when to come back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
import pydantic

from gateway.cache.keys import Scope
from gateway.cache.upstream import Entry, Fetch, UpstreamCache, Validate
from gateway.domain.customer import Customer, Provider
from gateway.errors import (
    GatewayError,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.ledger import count_call, current_ledger
from gateway.observability.tracing import tracer
from gateway.providers.gate import Gate, GateTimeout
from gateway.providers.resilience import Breaker, Resilience

RetryAfterReader = Callable[[httpx.Response], float | None]
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
T = TypeVar("T")


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The `Retry-After` header when it holds seconds; HTTP dates are read as unknown."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Upstream:
    """What one tenant's connection to one provider shares with the rest of the process."""

    http: httpx.AsyncClient
    cache: UpstreamCache
    gate: Gate
    tenant: str
    resilience: Resilience = field(default_factory=Resilience)


class _BodyTooLarge(Exception):
    pass


# Failures worth another attempt for an idempotent read, and that count against the breaker.
_TRANSIENT = (UpstreamUnavailable, UpstreamTimeout)


async def send(
    upstream: Upstream,
    provider: Provider,
    request: httpx.Request,
    *,
    retry_after: RetryAfterReader = retry_after_seconds,
    passthrough: frozenset[int] = frozenset({404}),
) -> httpx.Response:
    """Send `request`, returning the response or raising the `UpstreamError` it amounts to.

    2xx and the `passthrough` statuses come back to the caller, which knows what they mean for
    its endpoint (a 404 on a get is "no such customer"; a Layer 401 asks for a new token).
    GETs are retried as `gateway.providers.resilience` describes.
    """
    breaker = upstream.resilience.breaker
    if not breaker.allow():
        # Open: answer at once, and spare the provider the call.
        raise UpstreamUnavailable(provider)
    probe = breaker.probing
    try:
        return await _attempts(upstream, provider, request, retry_after, passthrough)
    except GateTimeout:
        # The deadline ran out waiting for the provider's pace: nothing was sent.
        raise UpstreamTimeout(provider) from None
    finally:
        if probe and breaker.probing:
            # The probe ended with no verdict (cancelled, body over the cap, deadline spent
            # before it was sent...): count it failed, so the breaker opens again and the next
            # pause lets a new probe through, instead of staying half-open forever.
            breaker.failed()


async def _attempts(
    upstream: Upstream,
    provider: Provider,
    request: httpx.Request,
    retry_after: RetryAfterReader,
    passthrough: frozenset[int],
) -> httpx.Response:
    resilience = upstream.resilience
    policy, breaker, timer = resilience.policy, resilience.breaker, resilience.timer
    attempts = policy.attempts if request.method == "GET" else 1
    for attempt in range(1, attempts + 1):
        budget = min(policy.call_timeout, timer.remaining())
        if budget <= 0:
            breaker.failed()
            raise UpstreamTimeout(provider)
        try:
            response = await _attempt(upstream, provider, request, budget, policy.max_body_bytes)
            return _judge(provider, response, passthrough, retry_after, breaker)
        except _BodyTooLarge:
            # An answer the gateway will not read is no sign of health.
            breaker.failed()
            raise UpstreamBadResponse(provider) from None
        except UpstreamRateLimited as limited:
            wait = limited.retry_after
            retry = (
                attempt < attempts
                and wait is not None
                and wait <= policy.retry_after_max
                and wait < timer.remaining()
            )
            if not retry:
                raise
            assert wait is not None
            await timer.sleep(wait)
        except _TRANSIENT:
            pause = timer.backoff(policy, attempt)
            if attempt == attempts or pause >= timer.remaining():
                breaker.failed()
                raise
            await timer.sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _attempt(
    upstream: Upstream,
    provider: Provider,
    request: httpx.Request,
    budget: float,
    max_body: int,
) -> httpx.Response:
    """One call, once the gate admits it within `budget` (else GateTimeout, uncounted)."""
    timer = upstream.resilience.timer
    entered = timer.clock()
    async with upstream.gate.admit(budget):
        left = budget - (timer.clock() - entered)
        count_call(provider)
        ledger = current_ledger()
        if ledger is not None and ledger.request_id:
            request.headers["X-Request-Id"] = ledger.request_id
        started = time.perf_counter()
        status = 0
        with tracer.start_as_current_span(
            "upstream.call",
            attributes={
                "gateway.provider": provider.value,
                "gateway.tenant": upstream.tenant,
                "http.request.method": request.method,
                "url.path": request.url.path,
            },
        ) as span:
            try:
                response = await _exchange(upstream, provider, request, left, max_body)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
                return response
            finally:
                if ledger is not None:
                    ledger.attempts.append((provider, status, time.perf_counter() - started))


async def _exchange(
    upstream: Upstream,
    provider: Provider,
    request: httpx.Request,
    budget: float,
    max_body: int,
) -> httpx.Response:
    try:
        async with asyncio.timeout(max(0.0, budget)):
            response = await upstream.http.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_body:
                        raise _BodyTooLarge
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise UpstreamTimeout(provider) from exc
    except httpx.HTTPError as exc:
        # Refused connections, resets mid-body, protocol errors.
        raise UpstreamUnavailable(provider) from exc
    return httpx.Response(
        response.status_code, headers=response.headers, content=bytes(body), request=request
    )


def _judge(
    provider: Provider,
    response: httpx.Response,
    passthrough: frozenset[int],
    retry_after: RetryAfterReader,
    breaker: Breaker,
) -> httpx.Response:
    status = response.status_code
    if status == 429:
        breaker.answered()
        raise UpstreamRateLimited(provider, retry_after(response))
    if status < 500:
        # Up and answering, whatever it thinks of this request.
        breaker.succeeded()
    if status < 300 or status in passthrough:
        return response
    if status in (401, 403):
        raise UpstreamAuthError(provider)
    if status >= 500:
        raise UpstreamUnavailable(provider)
    raise UpstreamRejected(provider)


def cacheable(response: httpx.Response) -> Entry:
    return Entry(response.status_code, response.content)


def read_json(provider: Provider, body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UpstreamBadResponse(provider) from exc


def parse(provider: Provider, model: type[ModelT], payload: Any) -> ModelT:
    """Validate a wire payload; a body of the wrong shape is the provider's fault, not ours."""
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise UpstreamBadResponse(provider) from exc


def settle(results: list[T | BaseException]) -> list[T | GatewayError]:
    """`gather(..., return_exceptions=True)` results with gateway errors kept per item; any
    other exception is a bug and propagates."""
    settled: list[T | GatewayError] = []
    for result in results:
        if isinstance(result, GatewayError) or not isinstance(result, BaseException):
            settled.append(result)
        else:
            raise result
    return settled


def decoding(upstream: Upstream, kind: str, parse: Callable[[bytes], T]) -> Callable[[Entry], T]:
    """A reader's parse as the cache's `validate`: parsed into the shared memo under `kind`, so
    the reader's own `decoded.get(entry.body, kind, parse)` afterwards costs no second parse."""

    def validate(entry: Entry) -> T:
        return upstream.cache.decoded.get(entry.body, kind, parse)

    return validate


async def read_through(
    upstream: Upstream,
    scope: Scope,
    resource: str,
    params: Mapping[str, str],
    fetch: Fetch,
    validate: Validate,
) -> Entry:
    """The cache's read-through, bounded by the request's deadline on this credential's timer."""
    return await upstream.cache.fetch(
        scope, resource, params, fetch, validate=validate, deadline=upstream.resilience.timer
    )


async def read_one(
    upstream: Upstream,
    scope: Scope,
    memo: str,
    native_id: str,
    fetch: Callable[[], Awaitable[Entry]],
    decode: Callable[[bytes], Customer],
) -> Customer | None:
    """One customer by id, through the cache: None on a (cached) 404, else parsed once."""
    customer = decoding(upstream, f"{memo}:customer", decode)
    entry = await read_through(upstream, scope, "customer", {"id": native_id}, fetch, customer)
    if entry.status == 404:
        return None
    return customer(entry)


async def read_each(
    get: Callable[[str], Awaitable[Customer | None]], native_ids: Sequence[str]
) -> dict[str, Customer | GatewayError | None]:
    """For providers with no multi-id read: one get per id, concurrently (the gate bounds
    how many reach the provider at once); a failed id carries its own error."""
    results = await asyncio.gather(*(get(i) for i in native_ids), return_exceptions=True)
    return dict(zip(native_ids, settle(results), strict=True))


def drop_empty(params: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


__all__ = [
    "RetryAfterReader",
    "Upstream",
    "UpstreamError",
    "cacheable",
    "decoding",
    "drop_empty",
    "parse",
    "read_each",
    "read_json",
    "read_one",
    "read_through",
    "retry_after_seconds",
    "send",
    "settle",
]
