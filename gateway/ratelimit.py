"""Rate limiting: a token bucket per tenant and, for end users, per JWT subject; in Redis when
the cache is Redis (so every process draws from one bucket), in memory otherwise or while Redis
is down. Memory buckets are bounded: least recently used out first."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
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


# Memory buckets kept at once (tenants and subjects): a flood of new subjects evicts the
# least recently used, which then start again full.
MAX_LOCAL_BUCKETS = 10_000


class TenantRateLimiter:
    """Usage: `wait = await limiter.acquire(tenant)` (and `acquire_subject`): None to go
    ahead, else seconds to wait."""

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
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    async def acquire(self, tenant: Tenant) -> float | None:
        rate = tenant.settings.requests_per_second or self.default_rate
        if rate is None:
            return None
        burst = tenant.settings.burst or self.default_burst
        return await self._take(f"{VERSION}:{tenant.id}:ratelimit", rate, burst)

    async def acquire_subject(
        self, tenant: Tenant, subject: str, rate: float | None, burst: int
    ) -> float | None:
        """One end user's share: a JWT subject's own bucket of `burst`, refilled at `rate`
        (the current `[auth]` settings', which reload); None: no per-user limit."""
        if rate is None:
            return None
        # Hashed: a subject is the identity provider's string, of any length and alphabet.
        hashed = hashlib.sha256(subject.encode()).hexdigest()[:32]
        key = f"{VERSION}:{tenant.id}:ratelimit:subject:{hashed}"
        return await self._take(key, rate, burst)

    async def _take(self, key: str, rate: float, burst: int) -> float | None:
        shared = None
        if self.store.kind == "redis" and not self.store.degraded:
            shared = await self.store.eval(BUCKET_LUA, [key], [rate, burst])
        wait = float(shared) if shared is not None else self._take_locally(key, rate, burst)
        return wait if wait > 0 else None

    def _take_locally(self, key: str, rate: float, burst: int) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(burst, rate, self.clock)
            if len(self._buckets) > MAX_LOCAL_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return 0.0 if bucket.take() else max(bucket.seconds_until_token(), 1e-3)


__all__ = ["BUCKET_LUA", "MAX_LOCAL_BUCKETS", "TenantRateLimiter"]
