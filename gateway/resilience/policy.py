"""How one upstream call survives a bad provider: deadlines, retries, a circuit breaker.

- Each call gets the smaller of its own cap and what is left of the request's deadline.
- Only GETs are retried, and only on connection errors, resets, timeouts, 5xx and 429; with
  exponential backoff and full jitter, and a 429's `Retry-After` (or Lago's reset header)
  honoured only when it is short and fits in the deadline left.
- A breaker per provider credential opens after consecutive failed calls (retries exhausted;
  429 and other 4xx do not count), answers at once without calling while open, and lets one
  probe through once its pause is over: success closes it, failure opens it again. However
  the probe ends (a body over the cap, a reset, a timeout, its request cancelled or out of
  deadline), it is recorded: anything but an answer that shows the provider healthy counts
  as a failure, so the breaker is never left half-open with no probe in flight. (A 429 ends
  the probe undecided: the next call probes.)

Written here rather than with stamina/purgatory because both timing and attempts must be
driven by one injectable clock, so tests assert the exact waits without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.ledger import current_ledger


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_initial: float = 0.1
    backoff_max: float = 2.0
    # A Retry-After longer than this is reported to the client instead of waited out.
    retry_after_max: float = 2.0
    # The most one call may take, all attempts' network time included.
    call_timeout: float = 6.0
    max_body_bytes: int = 5 * 1024 * 1024


@dataclass
class Timer:
    """The clock and sleep every deadline and backoff uses; tests pass a fake one."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random

    def remaining(self) -> float:
        """Seconds left before the current request's deadline (infinite outside a request)."""
        ledger = current_ledger()
        if ledger is None or ledger.deadline is None:
            return float("inf")
        return ledger.deadline - self.clock()

    def backoff(self, policy: RetryPolicy, attempt: int) -> float:
        ceiling = min(policy.backoff_max, policy.backoff_initial * 2.0 ** (attempt - 1))
        return ceiling * self.jitter()


@dataclass
class Breaker:
    threshold: int = 5
    pause: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.pause else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def answered(self) -> None:
        """The provider answered, but not with something that says it is healthy or sick
        (a 429): a probe ends without deciding."""
        self.probing = False

    def failed(self) -> None:
        self.probing = False
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()


@dataclass
class Resilience:
    """Per credential: the retry policy, its breaker and the timer they read."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: Breaker = field(default_factory=Breaker)
    timer: Timer = field(default_factory=Timer)


__all__ = ["Breaker", "Resilience", "RetryPolicy", "Timer"]
