"""Per-credential limits on calls to a provider: how many at once, and how many a second.

Codat allows 10 concurrent requests per company, Lago 50 requests a second per organisation,
Layer 100 (sandbox) or 500 (production) a second; a gate keeps one process inside them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from types import TracebackType

from gateway.domain.customer import Provider
from gateway.providers.resilience import Resilience
from gateway.tokenbucket import TokenBucket


class Gate:
    """Usage: `async with gate: await http.send(...)`."""

    def __init__(
        self,
        concurrency: int,
        per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrency = concurrency
        self.per_second = per_second
        self._slots = asyncio.Semaphore(concurrency)
        self._pace = asyncio.Lock()
        self._bucket = (
            TokenBucket(max(1, int(per_second)), per_second, clock) if per_second else None
        )

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        try:
            if self._bucket is not None:
                await self._take_token(self._bucket)
        except BaseException:
            self._slots.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._slots.release()

    async def _take_token(self, bucket: TokenBucket) -> None:
        async with self._pace:
            # Pacing, not waiting for an event: the token accrues with time alone.
            while not bucket.take():  # noqa: ASYNC110
                await asyncio.sleep(bucket.seconds_until_token())


class Gates:
    """One gate and one resilience state (breaker) per (provider, credential), shared by every
    tenant using that credential."""

    def __init__(
        self,
        limits: dict[Provider, tuple[int, float | None]],
        resilience: Callable[[], Resilience] = Resilience,
    ) -> None:
        self._limits = limits
        self._make_resilience = resilience
        self._gates: dict[tuple[Provider, str], Gate] = {}
        self._resilience: dict[tuple[Provider, str], Resilience] = {}

    def gate(self, provider: Provider, credential: str) -> Gate:
        key = _key(provider, credential)
        gate = self._gates.get(key)
        if gate is None:
            concurrency, per_second = self._limits[provider]
            gate = self._gates[key] = Gate(concurrency, per_second)
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


__all__ = ["Gate", "Gates"]
