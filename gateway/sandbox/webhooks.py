"""The sandbox's webhook deliveries, signed as each provider signs them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from gateway.webhooks.signatures import lago_signature, standard_signature


@dataclass
class Subscription:
    url: str
    secret: str
    transport: httpx.AsyncBaseTransport | None = None


@dataclass
class WebhookEmitter:
    """Usage: `emitter.subscribe("lago", url, hmac_key)`; the simulators call `emit`."""

    subscriptions: dict[str, list[Subscription]] = field(default_factory=dict)
    delivered: list[tuple[str, int]] = field(default_factory=list)

    def subscribe(
        self,
        provider: str,
        url: str,
        secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.subscriptions.setdefault(provider, []).append(Subscription(url, secret, transport))

    async def emit(self, provider: str, event: dict[str, Any]) -> None:
        body = orjson.dumps(event)
        for subscription in self.subscriptions.get(provider, []):
            headers = {"content-type": "application/json", **_sign(provider, subscription, body)}
            async with httpx.AsyncClient(transport=subscription.transport, timeout=15) as client:
                try:
                    response = await client.post(subscription.url, content=body, headers=headers)
                    self.delivered.append((provider, response.status_code))
                except httpx.HTTPError:
                    # A real provider retries later; the sandbox records the failure.
                    self.delivered.append((provider, 0))


def _sign(provider: str, subscription: Subscription, body: bytes) -> dict[str, str]:
    if provider == "lago":
        return {
            "X-Lago-Signature": lago_signature(subscription.secret, body),
            "X-Lago-Signature-Algorithm": "hmac",
            "X-Lago-Unique-Key": str(uuid.uuid4()),
        }
    message_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(subscription.secret, message_id, timestamp, body),
    }


__all__ = ["Subscription", "WebhookEmitter"]
