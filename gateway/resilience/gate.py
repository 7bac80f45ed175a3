"""Per-credential limits on calls to a provider: how many at once, and how many a second.

Codat allows 10 concurrent requests per company, Lago 50 requests a second per organisation,
Layer 100 (sandbox) or 500 (production) a second; a gate keeps one process inside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.domain.provider import Provider
from gateway.resilience.policy import Resilience, Timer
from gateway.resilience.tokenbucket import TokenBucket


class GateTimeout(Exception):
    """No slot or no token before the caller's budget ran out: nothing was sent."""


class Gate:
    """Usage: `async with gate.admit(budget): await http.send(...)`.

    Every wait (for a slot, for the pacing lock, for a token) ends within `budget` seconds
    with `GateTimeout`; a token that would come later than that is not waited for at all.
    Pacing runs on `timer` (clock and sleep), so tests drive it without sleeping.
    """

    def __init__(
        self, concurrency: int, per_second: float | None = None, timer: Timer | None = None
    ) -> None:
        self.timer = timer or Timer()
        self._slots = asyncio.Semaphore(concurrency)
        self._pace = asyncio.Lock()
        self._bucket = (
            TokenBucket(max(1, int(per_second)), per_second, self.timer.clock)
            if per_second
            else None
        )

    @contextlib.asynccontextmanager
    async def admit(self, budget: float) -> AsyncIterator[None]:
        until = self.timer.clock() + budget
        await self._wait(self._slots.acquire(), until)
        try:
            if self._bucket is not None:
                await self._take_token(self._bucket, until)
            yield
        finally:
            self._slots.release()

    async def _take_token(self, bucket: TokenBucket, until: float) -> None:
        await self._wait(self._pace.acquire(), until)
        try:
            while not bucket.take():
                wait = bucket.seconds_until_token()
                if self.timer.clock() + wait > until:
                    raise GateTimeout
                # Pacing, not waiting for an event: the token accrues with time alone.
                await self.timer.sleep(wait)
        finally:
            self._pace.release()

    async def _wait(self, acquired: Awaitable[bool], until: float) -> None:
        try:
            async with asyncio.timeout(max(0.0, until - self.timer.clock())):
                await acquired
        except TimeoutError:
            raise GateTimeout from None


class Gates:
    """One gate and one resilience state (breaker) per (provider, credential), shared by every
    tenant using that credential."""

    def __init__(self, resilience: Callable[[], Resilience] = Resilience) -> None:
        self._make_resilience = resilience
        self._gates: dict[tuple[Provider, str], Gate] = {}
        self._resilience: dict[tuple[Provider, str], Resilience] = {}

    def gate(
        self, provider: Provider, credential: str, concurrency: int, per_second: float | None
    ) -> Gate:
        """The credential's gate; the limits of its first caller hold for all of them."""
        key = _key(provider, credential)
        gate = self._gates.get(key)
        if gate is None:
            # Paced on the credential's timer: the clock its deadlines are measured on.
            timer = self.resilience(provider, credential).timer
            gate = self._gates[key] = Gate(concurrency, per_second, timer)
        return gate

    def resilience(self, provider: Provider, credential: str) -> Resilience:
        key = _key(provider, credential)
        found = self._resilience.get(key)
        if found is None:
            found = self._resilience[key] = self._make_resilience()
        return found

    def breakers(self) -> dict[Provider, list[str]]:
        """Breaker states by provider, for health checks (no credential shown)."""
        states: dict[Provider, list[str]] = {}
        for (provider, _), resilience in self._resilience.items():
            states.setdefault(provider, []).append(resilience.breaker.state)
        return states


def _key(provider: Provider, credential: str) -> tuple[Provider, str]:
    # Keyed by a digest: the registry never holds a credential itself.
    return (provider, hashlib.sha256(credential.encode()).hexdigest())


__all__ = ["Gate", "GateTimeout", "Gates"]
