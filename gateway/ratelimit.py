"""Per-tenant rate limiting: a token bucket per tenant, in Redis when the cache is Redis (so
every process draws from one bucket), in memory otherwise or while Redis is down."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.cache.keys import VERSION
from gateway.cache.store import CacheStore
from gateway.resilience.tokenbucket import TokenBucket
from gateway.tenants import Tenant

log = logging.getLogger("gateway.ratelimit")

# Tokens refill with Redis's own clock, so processes with skewed clocks agree.
BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class TenantRateLimiter:
    """Usage: `wait = await limiter.acquire(tenant)`: None to go ahead, else seconds to wait."""

    def __init__(
        self,
        store: CacheStore,
        default_rate: float | None,
        default_burst: int,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.default_rate = default_rate
        self.default_burst = default_burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    async def acquire(self, tenant: Tenant) -> float | None:
        rate = tenant.settings.requests_per_second or self.default_rate
        if rate is None:
            return None
        burst = tenant.settings.burst or self.default_burst
        shared = None
        if self.store.kind == "redis" and not self.store.degraded:
            shared = await self.store.eval(
                BUCKET_LUA, [f"{VERSION}:{tenant.id}:ratelimit"], [rate, burst]
            )
        wait = float(shared) if shared is not None else self._take_locally(tenant.id, rate, burst)
        return wait if wait > 0 else None

    def _take_locally(self, tenant: str, rate: float, burst: int) -> float:
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = TokenBucket(burst, rate, self.clock)
        return 0.0 if bucket.take() else max(bucket.seconds_until_token(), 1e-3)


__all__ = ["BUCKET_LUA", "TenantRateLimiter"]
