"""The in-process event bus: each tenant's subscribers, each with a bounded queue.

Usage:

    subscriber = bus.subscribe(caller.tenant)     # TooManySubscribers past the tenant's cap
    async for change in subscriber: ...           # SlowConsumer once its queue overflowed
    bus.publish(change)                           # every subscriber whose view holds the account

A subscriber sees a change only when its tenant view has the changed account (a JWT caller's
view holds only its token's accounts). A subscriber that does not keep up is not buffered
without bound: its queue overflowing ends it (`overflowed`), and its transport closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.domain.change import Change
from gateway.tenants import Tenant

DEFAULT_QUEUE = 64


class TooManySubscribers(Exception):
    """The tenant already has as many subscribers as it may."""


class SlowConsumer(Exception):
    """The subscriber's queue overflowed: it read changes slower than they came."""


class Subscriber:
    """One subscription's changes, in order; `close()` when done (or use `async with`)."""

    def __init__(self, bus: EventBus, view: Tenant, capacity: int) -> None:
        self.bus, self.view = bus, view
        self.queue: asyncio.Queue[Change] = asyncio.Queue(capacity)
        self.overflowed = asyncio.Event()

    def sees(self, change: Change) -> bool:
        key = change.key
        return change.tenant == self.view.id and (
            self.view.source(key.provider, key.account) is not None
        )

    def offer(self, change: Change) -> None:
        if self.overflowed.is_set() or not self.sees(change):
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed.set()

    async def next(self) -> Change:
        if self.overflowed.is_set():
            raise SlowConsumer
        getting = asyncio.ensure_future(self.queue.get())
        overflow = asyncio.ensure_future(self.overflowed.wait())
        try:
            await asyncio.wait({getting, overflow}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            overflow.cancel()
            if not getting.done():
                getting.cancel()
        if self.overflowed.is_set() or getting.cancelled():
            raise SlowConsumer
        return getting.result()

    def __aiter__(self) -> AsyncIterator[Change]:
        return self._changes()

    async def _changes(self) -> AsyncIterator[Change]:
        while True:
            yield await self.next()

    def close(self) -> None:
        self.bus.remove(self)


class EventBus:
    """Subscribers keyed by tenant first; at most `max_per_tenant` per tenant."""

    def __init__(self, max_per_tenant: int, queue_size: int = DEFAULT_QUEUE) -> None:
        self.max_per_tenant, self.queue_size = max_per_tenant, queue_size
        self.subscribers: dict[str, set[Subscriber]] = {}

    def subscribe(self, view: Tenant) -> Subscriber:
        current = self.subscribers.setdefault(view.id, set())
        if len(current) >= self.max_per_tenant:
            raise TooManySubscribers
        subscriber = Subscriber(self, view, self.queue_size)
        current.add(subscriber)
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        current = self.subscribers.get(subscriber.view.id)
        if current is not None:
            current.discard(subscriber)
            if not current:
                del self.subscribers[subscriber.view.id]

    def publish(self, change: Change) -> None:
        for subscriber in list(self.subscribers.get(change.tenant, ())):
            subscriber.offer(change)


__all__ = ["DEFAULT_QUEUE", "EventBus", "SlowConsumer", "Subscriber", "TooManySubscribers"]
