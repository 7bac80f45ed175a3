"""The sandbox's webhook deliveries, signed as each provider signs them.

Like a real provider, the emitter can deliver an event again (`redeliver`): the same event id
(Lago's `X-Lago-Unique-Key`, Standard Webhooks' `webhook-id`), signed afresh with the current
timestamp, which is what a retry looks like on the wire.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from gateway.providers.lago.webhook import lago_signature
from gateway.webhooks.signatures import standard_signature
from sandbox.lago_signing import LagoSigningKey

# Events kept for `redeliver`: enough for a test or a soak, bounded for a long-running sandbox.
KEPT_EVENTS = 64


@dataclass
class Subscription:
    url: str
    secret: str
    transport: httpx.AsyncBaseTransport | None = None
    # Lago only: "hmac" (with `secret`), or "jwt" (Lago's default: RS256 with the
    # simulator's own key, whose public half it serves).
    signature: str = "hmac"


@dataclass(frozen=True)
class SentEvent:
    provider: str
    event_id: str
    body: bytes


@dataclass
class WebhookEmitter:
    """Usage: `emitter.subscribe("lago", url, hmac_key)` (add `signature="jwt"` for Lago's
    default mode); the simulators call `emit`."""

    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    delivered: list[tuple[str, int]] = field(default_factory=list)
    sent: deque[SentEvent] = field(default_factory=lambda: deque(maxlen=KEPT_EVENTS))
    # What Standard Webhooks timestamps are signed with.
    clock: Callable[[], float] = time.time
    # What Lago's JWT-mode deliveries are signed with.
    lago_key: LagoSigningKey = field(default_factory=LagoSigningKey)

    def subscribe(
        self,
        provider: str,
        url: str,
        secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
        signature: str = "hmac",
    ) -> None:
        subscription = Subscription(url, secret, transport, signature)
        self.subscriptions.setdefault(provider, []).append(subscription)

    async def emit(self, provider: str, event: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4()) if provider == "lago" else f"msg_{uuid.uuid4().hex}"
        sent = SentEvent(provider, event_id, orjson.dumps(event))
        self.sent.append(sent)
        await self._deliver(sent)

    async def redeliver(self, index: int = -1) -> None:
        """Deliver a sent event again (the last by default), as the provider's retry would."""
        await self._deliver(self.sent[index])

    async def _deliver(self, sent: SentEvent) -> None:
        for subscription in self.subscriptions.get(sent.provider, []):
            headers = {"content-type": "application/json", **self._sign(sent, subscription)}
            async with httpx.AsyncClient(transport=subscription.transport, timeout=15) as client:
                try:
                    response = await client.post(
                        subscription.url, content=sent.body, headers=headers
                    )
                    self.delivered.append((sent.provider, response.status_code))
                except httpx.HTTPError:
                    # A real provider retries later; the sandbox records the failure.
                    self.delivered.append((sent.provider, 0))

    def _sign(self, sent: SentEvent, subscription: Subscription) -> dict[str, str]:
        if sent.provider == "lago" and subscription.signature == "jwt":
            return {
                "X-Lago-Signature": self.lago_key.sign(sent.body),
                "X-Lago-Signature-Algorithm": "jwt",
                "X-Lago-Unique-Key": sent.event_id,
            }
        if sent.provider == "lago":
            return {
                "X-Lago-Signature": lago_signature(subscription.secret, sent.body),
                "X-Lago-Signature-Algorithm": "hmac",
                "X-Lago-Unique-Key": sent.event_id,
            }
        timestamp = int(self.clock())
        return {
            "webhook-id": sent.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signature(
                subscription.secret, sent.event_id, timestamp, sent.body
            ),
        }


__all__ = ["KEPT_EVENTS", "SentEvent", "Subscription", "WebhookEmitter"]
