"""One read-through, and the request deadline that bounds every wait it makes.

Every wait a read makes on someone else's work (the shared task of a concurrent miss, the
lease of another process) ends when the request's deadline does, with `UpstreamTimeout`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, TypeGuard, TypeVar

from gateway.cache.entry import CachePolicy, Entry, Fetch, Validate, is_fresh
from gateway.domain.provider import Provider
from gateway.errors import UpstreamTimeout

T = TypeVar("T")


class Deadline(Protocol):
    """What a read may still wait: `gateway.resilience.policy.Timer` is one."""

    def remaining(self) -> float: ...


class _Unbounded:
    def remaining(self) -> float:
        return math.inf


UNBOUNDED: Deadline = _Unbounded()


@dataclass(frozen=True, slots=True)
class Read:
    """One read-through: where, how to fetch, how to check, how long it may wait, and the
    oldest entry its client accepts (`max_age` seconds; None: any within the TTL)."""

    key: str
    provider: Provider
    policy: CachePolicy
    fetch: Fetch
    validate: Validate
    deadline: Deadline
    max_age: float | None = None

    def accepts(self, age: float) -> bool:
        """Whether the client takes an entry of `age` seconds: younger than its max-age (so
        max-age 0 takes none)."""
        return self.max_age is None or age < self.max_age

    def fresh(self, entry: Entry | None, now: float) -> TypeGuard[Entry]:
        """`entry` within its TTL and young enough for the client."""
        return is_fresh(entry, self.policy, now) and self.accepts(now - entry.stored_at)


async def within(read: Read, waited: Awaitable[Entry]) -> Entry:
    """`waited`, or UpstreamTimeout once the read's deadline has passed."""
    return await until(read.deadline, read.provider, waited)


async def until(deadline: Deadline, provider: Provider, waited: Awaitable[T]) -> T:
    """`waited`, or UpstreamTimeout (of `provider`) once `deadline` has passed: how a request
    waits on work others may share, never past its own deadline."""
    remaining = deadline.remaining()
    limit = asyncio.timeout(None if math.isinf(remaining) else max(0.0, remaining))
    try:
        async with limit:
            return await waited
    except TimeoutError:
        if limit.expired():
            raise UpstreamTimeout(provider) from None
        raise


__all__ = ["UNBOUNDED", "Deadline", "Read", "until", "within"]
