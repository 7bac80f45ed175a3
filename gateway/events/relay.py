"""Changes across instances: Redis pub/sub, so every instance's subscribers hear every change.

Usage: `feed = ChangeFeed(bus, RedisRelay(url))`; `await feed.publish(change)` delivers to this
instance's subscribers at once and to the others' through Redis; `feed.listen()` (a background
task) delivers theirs here. A message this instance sent comes back to it too: it is skipped by
its origin id. A Redis that is down loses the other instances' share, never this one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.domain.change import Change, ChangeKind
from gateway.domain.customer import CustomerKey
from gateway.domain.provider import Provider
from gateway.events.bus import EventBus

log = logging.getLogger("gateway.events")
CHANNEL = "cg1:changes"
RETRY_SECONDS = 1.0


def encode_change(change: Change, origin: str) -> bytes:
    key = change.key
    return orjson.dumps(
        {
            "origin": origin,
            "tenant": change.tenant,
            "provider": key.provider.value,
            "account": key.account,
            "id": key.native_id,
            "kind": change.kind.value,
            "at": change.at.isoformat(),
        }
    )


def decode_change(data: bytes) -> tuple[str, Change] | None:
    """The origin and change of a message; None for one that is not ours to read."""
    try:
        m = orjson.loads(data)
        key = CustomerKey(Provider(m["provider"]), str(m["account"]), str(m["id"]))
        at = datetime.fromisoformat(m["at"])
        return str(m["origin"]), Change(str(m["tenant"]), key, ChangeKind(m["kind"]), at)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class RedisRelay:
    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url)
        self.origin = uuid.uuid4().hex

    async def send(self, change: Change) -> None:
        try:
            await self.redis.publish(CHANNEL, encode_change(change, self.origin))
        except (RedisError, OSError) as exc:
            log.warning("a change was not relayed to other instances: %s", exc)

    async def listen(self, bus: EventBus) -> None:
        """Deliver other instances' changes to `bus` until cancelled; reconnects when Redis
        goes away."""
        while True:
            try:
                await self._listen_once(bus)
            except (RedisError, OSError) as exc:
                log.warning("relay from other instances interrupted: %s", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _listen_once(self, bus: EventBus) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                decoded = decode_change(message["data"])
                if decoded is not None and decoded[0] != self.origin:
                    bus.publish(decoded[1])

    async def aclose(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()


class ChangeFeed:
    """What the webhook route publishes to and the transports subscribe through."""

    def __init__(self, bus: EventBus, relay: RedisRelay | None = None) -> None:
        self.bus, self.relay = bus, relay

    async def publish(self, change: Change) -> None:
        self.bus.publish(change)
        if self.relay is not None:
            await self.relay.send(change)

    async def listen(self) -> None:
        if self.relay is not None:
            await self.relay.listen(self.bus)

    async def aclose(self) -> None:
        if self.relay is not None:
            await self.relay.aclose()


__all__ = ["CHANNEL", "ChangeFeed", "RedisRelay", "decode_change", "encode_change"]
