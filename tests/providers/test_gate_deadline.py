"""A provider's pace (requests a second) never keeps a request past its deadline.

When the next token would come after the request's deadline, the call is UPSTREAM_TIMEOUT at
once: it is not sent, not counted as an upstream call, not held against the provider's
breaker, and nothing sleeps past the deadline (the fake timer records every sleep).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.errors import UpstreamTimeout
from gateway.ledger import UpstreamLedger, end_ledger, start_ledger
from gateway.providers.layer import LAYER
from gateway.providers.transport import ProviderTransport, Route
from gateway.providers.upstream import Upstream
from gateway.resilience.gate import Gate
from gateway.resilience.policy import Breaker, Resilience, RetryPolicy, Timer
from tests.support import CountingTransport, memory_cache

URL = "http://provider.invalid/customers"


class FakeTimer(Timer):
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []
        super().__init__(clock=lambda: self.now, sleep=self._sleep, jitter=lambda: 1.0)

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": []})


@pytest.fixture
async def transport() -> AsyncIterator[CountingTransport]:
    counting = CountingTransport(httpx.MockTransport(answer))
    yield counting
    await counting.aclose()


def paced(transport: CountingTransport, timer: FakeTimer) -> Upstream:
    """One call a second to this provider; a breaker that opens on the first failure."""
    resilience = Resilience(RetryPolicy(), Breaker(threshold=1, clock=timer.clock), timer)
    gate = Gate(concurrency=5, per_second=1, timer=timer)
    return Upstream.connect(transport, Route(LAYER, "t", gate, resilience), memory_cache())


def breaker_of(upstream: Upstream) -> Breaker:
    transport = upstream.http._transport
    assert isinstance(transport, ProviderTransport)
    return transport.route.resilience.breaker


async def within(deadline_in: float, upstream: Upstream) -> tuple[UpstreamLedger, object]:
    timer = upstream.timer
    ledger, token = start_ledger(deadline=timer.clock() + deadline_in)
    try:
        return ledger, await upstream.http.send(httpx.Request("GET", URL))
    except UpstreamTimeout as exc:
        return ledger, exc
    finally:
        end_ledger(token)


async def test_a_token_due_after_the_deadline_is_a_timeout_at_once(
    transport: CountingTransport,
) -> None:
    timer = FakeTimer()
    upstream = paced(transport, timer)
    first_ledger, first = await within(8, upstream)
    assert isinstance(first, httpx.Response)
    assert first_ledger.by_provider[LAYER].calls == 1

    ledger, outcome = await within(0.5, upstream)  # the next token is 1 s away
    assert isinstance(outcome, UpstreamTimeout)
    assert outcome.extensions() == {"code": "UPSTREAM_TIMEOUT", "provider": "LAYER"}
    assert len(transport.requests) == 1  # not sent
    assert LAYER not in ledger.by_provider  # not counted as a call
    assert ledger.attempts == []
    assert breaker_of(upstream).state == "closed"  # not the provider's fault
    assert all(s <= 0.5 for s in timer.slept)


async def test_a_token_due_within_the_deadline_is_waited_for(
    transport: CountingTransport,
) -> None:
    timer = FakeTimer()
    upstream = paced(transport, timer)
    await within(8, upstream)
    ledger, outcome = await within(2, upstream)
    assert isinstance(outcome, httpx.Response)
    assert len(transport.requests) == 2
    assert ledger.by_provider[LAYER].calls == 1
    assert timer.slept == [1.0]  # exactly the pace, on the fake clock
