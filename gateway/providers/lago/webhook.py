"""Lago's webhooks: its own HMAC signature; customer events carry the customer.

`customer.created|updated` carries the customer: the account's entries are retired (lists may
now order or filter differently) and the customer's own entry is replaced. The event's object
lacks some fields a read returns (taxes, metadata, invoice custom sections, error details);
those keep their previously cached value. Events arrive late, out of order and replayed, so the
state an event carries is written only when its `updated_at` is not older than the cached
customer's: an older event changes nothing ("stale"), and one that cannot be compared (nothing
cached, or a time missing) only retires, so the next read asks Lago. Retiring cannot roll
anything back; writing old state could. The compare and the write hold the customer's lock
(gateway/webhooks/locks.py), so two concurrent events cannot interleave.

Lago signs the body alone (`X-Lago-Signature` = base64(HMAC-SHA256(organisation HMAC key,
body)), `X-Lago-Signature-Algorithm: hmac`): no timestamp, nor the unique key. The receipts
stop a provider's redelivery, and the ordering by `updated_at` keeps a body resent under a new
key from rolling anything back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import SecretStr

from gateway.cache.entry import Entry
from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.providers.lago.connection import LagoConnection
from gateway.webhooks.locks import record_lock
from gateway.webhooks.signatures import Verdict, same_digest

CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated"})


def lago_signature(hmac_key: str, body: bytes) -> str:
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class LagoWebhooks:
    def secret(self, connection: LagoConnection) -> SecretStr | None:
        return connection.webhook_hmac_key

    def event_id(self, headers: Mapping[str, str]) -> str | None:
        """`X-Lago-Unique-Key`: one per event, the same on every retry of it."""
        return headers.get("x-lago-unique-key") or None

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float
    ) -> Verdict:
        # Nothing signed says when: `now` and `tolerance` have nothing to check.
        if headers.get("x-lago-signature-algorithm", "hmac").lower() != "hmac":
            return Verdict.INVALID
        offered = headers.get("x-lago-signature", "")
        valid = bool(offered) and same_digest(lago_signature(secret, body), offered)
        return Verdict.VALID if valid else Verdict.INVALID

    async def apply(
        self,
        account: Account,
        connection: LagoConnection,
        cache: UpstreamCache,
        event: dict[str, Any],
    ) -> str:
        customer = event.get("customer")
        if (
            event.get("webhook_type") not in CUSTOMER_EVENTS
            or not isinstance(customer, dict)
            or not isinstance(customer.get("external_id"), str)
        ):
            return "ignored"
        async with record_lock(cache.store, account, customer["external_id"]):
            return await _replace_if_newer(account, cache, customer)


async def _replace_if_newer(
    account: Account, cache: UpstreamCache, customer: dict[str, Any]
) -> str:
    key = {"id": customer["external_id"]}
    cached = _cached_customer(await cache.peek(account, "customer", key))
    event_time = updated_at(customer)
    cached_time = updated_at(cached) if cached is not None else None
    if event_time is not None and cached_time is not None and event_time < cached_time:
        return "stale"
    await cache.retire(account)
    if cached is None or event_time is None or cached_time is None:
        # Not provably current: the next read fetches the customer whole.
        return "retired"
    merged = {**cached, **customer}
    # Only into an empty place: a read that filled it since the retire fetched Lago's current
    # state, which may be newer than this event (a late delivery must not roll it back).
    if await cache.put_new(account, "customer", key, 200, orjson.dumps({"customer": merged})):
        return "replaced"
    return "retired"


def updated_at(record: dict[str, Any]) -> datetime | None:
    """The record's own update time (ISO 8601; zone-less is taken as UTC), if it has one."""
    value = record.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cached_customer(entry: Entry | None) -> dict[str, Any] | None:
    if entry is None or entry.status != 200:
        return None
    try:
        body = orjson.loads(entry.body)
    except orjson.JSONDecodeError:
        return None
    customer = body.get("customer") if isinstance(body, dict) else None
    return customer if isinstance(customer, dict) else None


__all__ = ["CUSTOMER_EVENTS", "LagoWebhooks", "lago_signature", "updated_at"]
