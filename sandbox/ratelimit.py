"""The token buckets the simulators meter requests with, as the real providers do."""

from __future__ import annotations

import time

from gateway.resilience.tokenbucket import Clock, TokenBucket


class Buckets:
    """One bucket per credential, created on first use."""

    def __init__(self, capacity: int, rate: float, clock: Clock = time.monotonic) -> None:
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def __getitem__(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.capacity, self.rate, self.clock)
        return bucket


__all__ = ["Buckets", "Clock", "TokenBucket"]
