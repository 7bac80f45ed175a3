"""The only place a provider call meets the network: an httpx transport per credential.

`ProviderTransport` wraps the process's one connection pool (or whatever transport a test hands
in) and owns everything every provider call needs: the circuit breaker, the request's deadline,
retries of idempotent reads, the credential's concurrency and pace (its gate), the body cap,
the request's ledger and span, and the request id and trace context sent upstream. A client
only builds requests and reads the answers: a 2xx or 4xx comes back as a response (the client
knows what a 404 means for its endpoint); what retrying could not mend comes back as the
`UpstreamError` it amounts to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from opentelemetry.trace import SpanKind

from gateway.domain.provider import Provider
from gateway.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.ledger import UpstreamFailure, count_call, count_failure, current_ledger
from gateway.observability.tracing import inject_context, tracer
from gateway.resilience.gate import Gate, GateTimeout
from gateway.resilience.policy import Resilience

RetryAfterReader = Callable[[httpx.Response], float | None]

# Failures worth another attempt for an idempotent read, and that count against the breaker.
_TRANSIENT = (UpstreamUnavailable, UpstreamTimeout)
# Headers of the wire that no longer describe the body once it is read and decoded here.
_WIRE_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
# What a call that failed here is counted as (the errors this transport raises).
_FAILURES: dict[type[UpstreamError], UpstreamFailure] = {
    UpstreamTimeout: "timeout",
    UpstreamUnavailable: "unavailable",
    UpstreamRateLimited: "rate_limited",
    UpstreamBadResponse: "bad_response",
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The `Retry-After` header when it holds seconds; HTTP dates are read as unknown."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Route:
    """Who a call is for: the provider, the credential's gate and breaker, and the tenant."""

    provider: Provider
    tenant: str
    gate: Gate
    resilience: Resilience
    retry_after: RetryAfterReader = retry_after_seconds


class ProviderTransport(httpx.AsyncBaseTransport):
    """Usage: `httpx.AsyncClient(transport=ProviderTransport(pool, route))`. Closing it leaves
    the shared `inner` transport open: the app closes that once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, route: Route) -> None:
        self._inner = inner
        self.route = route

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        provider, breaker = self.route.provider, self.route.resilience.breaker
        if not breaker.allow():
            # Open: answer at once, and spare the provider the call.
            count_failure(provider, "circuit_open")
            raise UpstreamUnavailable(provider)
        probe = breaker.probing
        try:
            return await self._attempts(request)
        except GateTimeout:
            # The deadline ran out waiting for the provider's pace: nothing was sent.
            count_failure(provider, "timeout")
            raise UpstreamTimeout(provider) from None
        except UpstreamError as error:
            count_failure(provider, _FAILURES.get(type(error), "unavailable"))
            raise
        finally:
            if probe and breaker.probing:
                # The probe ended with no verdict (cancelled, deadline spent before it was
                # sent...): count it failed, so the breaker opens again and the next pause
                # lets a new probe through, instead of staying half-open forever.
                breaker.failed()

    async def aclose(self) -> None:
        return None

    async def _attempts(self, request: httpx.Request) -> httpx.Response:
        provider, resilience = self.route.provider, self.route.resilience
        policy, breaker, timer = resilience.policy, resilience.breaker, resilience.timer
        attempts = policy.attempts if request.method == "GET" else 1
        for attempt in range(1, attempts + 1):
            budget = min(policy.call_timeout, timer.remaining())
            if budget <= 0:
                breaker.failed()
                raise UpstreamTimeout(provider)
            try:
                return self._judge(await self._attempt(request, budget, policy.max_body_bytes))
            except _BodyTooLarge:
                # An answer the gateway will not read is no sign of health.
                breaker.failed()
                raise UpstreamBadResponse(provider) from None
            except UpstreamRateLimited as limited:
                wait = limited.retry_after
                if not (
                    attempt < attempts
                    and wait is not None
                    and wait <= policy.retry_after_max
                    and wait < timer.remaining()
                ):
                    raise
                await timer.sleep(wait)
            except _TRANSIENT:
                pause = timer.backoff(policy, attempt)
                if attempt == attempts or pause >= timer.remaining():
                    breaker.failed()
                    raise
                await timer.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self, request: httpx.Request, budget: float, max_body: int
    ) -> httpx.Response:
        """One call, once the gate admits it within `budget` (else GateTimeout, uncounted)."""
        route, timer = self.route, self.route.resilience.timer
        entered = timer.clock()
        async with route.gate.admit(budget):
            left = budget - (timer.clock() - entered)
            count_call(route.provider)
            ledger = current_ledger()
            if ledger is not None and ledger.request_id:
                request.headers["X-Request-Id"] = ledger.request_id
            started = time.perf_counter()
            status = 0
            with tracer.start_as_current_span(
                "upstream.call",
                kind=SpanKind.CLIENT,
                attributes={
                    "gateway.provider": route.provider.value,
                    "gateway.tenant": route.tenant,
                    "http.request.method": request.method,
                    "url.path": request.url.path,
                },
            ) as span:
                # W3C trace context of this call's span, for providers that trace too: the
                # caller's trace id, and its tracestate passed on.
                inject_context(request.headers)
                try:
                    response = await self._exchange(request, left, max_body)
                    status = response.status_code
                    span.set_attribute("http.response.status_code", status)
                    return response
                finally:
                    if ledger is not None:
                        ledger.attempts.append(
                            (route.provider, status, time.perf_counter() - started)
                        )

    async def _exchange(
        self, request: httpx.Request, budget: float, max_body: int
    ) -> httpx.Response:
        provider = self.route.provider
        try:
            async with asyncio.timeout(max(0.0, budget)):
                response = await self._inner.handle_async_request(request)
                # Decoded here (gzip and the like), so the cap bounds what the gateway parses.
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
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def _judge(self, response: httpx.Response) -> httpx.Response:
        """Transient answers become errors (retried by the caller); the rest come back."""
        provider, breaker = self.route.provider, self.route.resilience.breaker
        status = response.status_code
        if status == 429:
            breaker.answered()
            raise UpstreamRateLimited(provider, self.route.retry_after(response))
        if status >= 500:
            raise UpstreamUnavailable(provider)
        # Up and answering, whatever it thinks of this request.
        breaker.succeeded()
        return response


__all__ = ["ProviderTransport", "RetryAfterReader", "Route", "retry_after_seconds"]
