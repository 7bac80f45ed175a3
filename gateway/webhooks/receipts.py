"""Receipts of applied webhook events, so a redelivery is acknowledged and not applied again.

A receipt is written only after the event's every cache write succeeded, under the provider's
event id (Lago's `X-Lago-Unique-Key`, Standard Webhooks' `webhook-id`), keyed tenant first
in the cache store: with Redis, every process sees it. It lives `retention` seconds, longer
than providers keep retrying (Svix: about a day and a half).

Two deliveries of one event racing each other may both be applied; that is harmless, because
applying is ordered (an event never overwrites newer state) and retiring twice only costs a
refetch.
"""

from __future__ import annotations

import hashlib

from gateway.cache.keys import Account
from gateway.cache.store import CacheStore

_APPLIED = b"applied"


def receipt_key(account: Account, event_id: str) -> str:
    # Hashed: the id is the sender's text, of any length and alphabet.
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:32]
    return f"{account.prefix()}:webhook:{digest}"


class Receipts:
    """Usage: `if not await receipts.seen(account, id): apply(...); await receipts.record(...)`."""

    def __init__(self, store: CacheStore, retention: float) -> None:
        self.store = store
        self.retention = retention

    async def seen(self, account: Account, event_id: str) -> bool:
        # A store that cannot be read answers None: the event is applied (and the answer
        # will be 503 when its writes fail too).
        return await self.store.get(receipt_key(account, event_id)) == _APPLIED

    async def record(self, account: Account, event_id: str) -> None:
        await self.store.set(receipt_key(account, event_id), _APPLIED, self.retention)


__all__ = ["Receipts", "receipt_key"]
