"""However a half-open probe ends, the breaker records it, so it can always close again.

Each test opens a breaker (threshold 1), lets its pause pass on a fake clock, sends the one
probe it then allows, ends that probe one way, and checks the breaker is not left half-open
with no probe in flight: a failed probe opens it again (and the next pause allows a new
probe), a successful one closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gateway.errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout
from gateway.ledger import end_ledger, start_ledger
from gateway.providers.lago import LAGO
from gateway.providers.transport import ProviderTransport, Route
from gateway.resilience.gate import Gate
from gateway.resilience.policy import Breaker, Resilience, RetryPolicy, Timer

PAUSE = 30.0
URL = "http://provider.invalid/customers"


class FakeTimer(Timer):
    """A clock that moves only when told or slept on."""

    def __init__(self) -> None:
        self.now = 1_000.0
        super().__init__(clock=lambda: self.now, sleep=self._sleep, jitter=lambda: 1.0)

    async def _sleep(self, seconds: float) -> None:
        self.now += seconds


Answer = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Scripted(httpx.AsyncBaseTransport):
    """Answers each request with the next of `answers`; counts what reached it."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.arrived = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrived.set()
        return await self.answers.pop(0)(request)


async def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": []})


async def failing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": "down"})


async def oversize(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"x" * 4096)


async def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


async def hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


class Rig:
    def __init__(self, transport: Scripted, http: httpx.AsyncClient, timer: FakeTimer) -> None:
        self.transport = transport
        self.timer = timer
        self.breaker = Breaker(threshold=1, pause=PAUSE, clock=timer.clock)
        policy = RetryPolicy(attempts=1, call_timeout=0.05, max_body_bytes=1024)
        self.resilience = Resilience(policy, self.breaker, timer)
        self.http = http
        self.use_gate(Gate(concurrency=5, timer=timer))

    def use_gate(self, gate: Gate) -> None:
        route = Route(LAGO, "t", gate, self.resilience)
        self.client = httpx.AsyncClient(transport=ProviderTransport(self.transport, route))

    async def get(self) -> httpx.Response:
        return await self.client.send(httpx.Request("GET", URL))

    async def open_then_wait_out(self) -> None:
        """One failed call opens the breaker; its pause passes; a probe is now allowed."""
        with pytest.raises(UpstreamError):
            await self.get()
        assert self.breaker.state == "open"
        self.timer.now += PAUSE
        assert self.breaker.state == "half_open"

    def assert_failed_probe_reopened(self) -> None:
        assert self.breaker.state == "open"
        assert not self.breaker.probing
        self.timer.now += PAUSE
        # A new probe is allowed: the breaker was not left waiting on a probe that ended.
        assert self.breaker.allow()


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., Rig]]:
    clients: list[httpx.AsyncClient] = []

    def make(*answers: Answer) -> Rig:
        transport = Scripted(failing, *answers)
        http = httpx.AsyncClient(transport=transport)
        clients.append(http)
        return Rig(transport, http, FakeTimer())

    yield make
    for http in clients:
        await http.aclose()


async def test_a_successful_probe_closes(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(ok)
    await rig.open_then_wait_out()
    assert (await rig.get()).status_code == 200
    assert rig.breaker.state == "closed"


async def test_a_probe_whose_body_is_over_the_cap_counts_as_failed(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(oversize)
    await rig.open_then_wait_out()
    with pytest.raises(UpstreamBadResponse):
        await rig.get()
    rig.assert_failed_probe_reopened()


async def test_a_probe_reset_mid_answer_counts_as_failed(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(reset)
    await rig.open_then_wait_out()
    with pytest.raises(UpstreamError):
        await rig.get()
    rig.assert_failed_probe_reopened()


async def test_a_probe_that_times_out_counts_as_failed(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(hang)
    await rig.open_then_wait_out()
    with pytest.raises(UpstreamTimeout):
        await rig.get()  # the call cap, 50 ms
    rig.assert_failed_probe_reopened()


async def test_a_probe_whose_request_is_cancelled_counts_as_failed(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(hang)
    await rig.open_then_wait_out()
    rig.transport.arrived.clear()
    probe = asyncio.create_task(rig.get())
    await rig.transport.arrived.wait()  # the probe is at the provider
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    rig.assert_failed_probe_reopened()


async def test_a_probe_with_no_deadline_left_counts_as_failed(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    await rig.open_then_wait_out()
    _, token = start_ledger(deadline=rig.timer.now)  # nothing left
    try:
        with pytest.raises(UpstreamTimeout):
            await rig.get()
    finally:
        end_ledger(token)
    assert len(rig.transport.requests) == 1  # the probe never went out
    rig.assert_failed_probe_reopened()


async def test_a_probe_whose_deadline_runs_out_at_the_gate_counts_as_failed(
    make_rig: Callable[..., Rig],
) -> None:
    """The probe waits for the provider's pace (one call a second) with 0.5 s left."""
    rig = make_rig(ok)
    rig.use_gate(Gate(concurrency=5, per_second=1, timer=rig.timer))
    await rig.open_then_wait_out()
    assert (await rig.get()).status_code == 200  # the probe closes it and spends the token
    rig.breaker.opened_at, rig.breaker.failures = rig.timer.now - PAUSE, 1  # half-open again
    _, token = start_ledger(deadline=rig.timer.now + 0.5)
    try:
        with pytest.raises(UpstreamTimeout):
            await rig.get()
    finally:
        end_ledger(token)
    assert len(rig.transport.requests) == 2
    rig.assert_failed_probe_reopened()
