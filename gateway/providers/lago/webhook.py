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

Lago signs in one of two modes, named by `X-Lago-Signature-Algorithm`:

- `jwt` (Lago's default): `X-Lago-Signature` is an RS256 JWT whose `data` claim is the body
  (and `iss` Lago's URL), signed with the installation's RSA key, whose public half comes from
  Lago's API (public_key.py). Only RS256 is accepted, so `alg: none` and an HMAC keyed with the
  public key are refused. The key is shared by every organisation of the installation: the
  event must name the connection's `webhook_organization_id`.
- `hmac`: base64(HMAC-SHA256(organisation HMAC key, body)).

A delivery without the header is read by its signature's shape (a JWT has three parts); older
Lago versions sent JWTs without it. Neither mode signs a time, nor the unique key: the receipts
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

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from pydantic import SecretStr

from gateway.cache.entries import Named
from gateway.cache.entry import Entry, Origin
from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.providers.lago.connection import LagoConnection
from gateway.providers.lago.public_key import PublicKeys
from gateway.webhooks.locks import record_lock
from gateway.webhooks.signatures import Verdict, same_digest

CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated"})
_KINDS = {"customer.created": ChangeKind.CREATED, "customer.updated": ChangeKind.UPDATED}


def lago_signature(hmac_key: str, body: bytes) -> str:
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class LagoWebhooks:
    def __init__(self) -> None:
        self.keys = PublicKeys()

    def secret(self, connection: LagoConnection) -> SecretStr | None:
        if connection.webhook_hmac_key is not None:
            return connection.webhook_hmac_key
        # JWT only: nothing shared to verify with, but webhooks are on (verify checks the mode).
        return SecretStr("") if connection.webhook_organization_id else None

    def event_id(self, headers: Mapping[str, str]) -> str | None:
        """`X-Lago-Unique-Key`: one per event, the same on every retry of it."""
        return headers.get("x-lago-unique-key") or None

    async def verify(
        self,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        tolerance: float,
        *,
        connection: LagoConnection,
        http: httpx.AsyncClient,
    ) -> Verdict:
        # Nothing signed says when: `tolerance` has nothing to check; `now` paces key fetches.
        offered = headers.get("x-lago-signature", "")
        mode = headers.get("x-lago-signature-algorithm", "").lower()
        if not mode:
            mode = "jwt" if offered.count(".") == 2 else "hmac"
        if mode == "jwt":
            valid = await self._verify_jwt(offered, body, now, connection, http)
        elif mode == "hmac" and connection.webhook_hmac_key is not None:
            key = connection.webhook_hmac_key.get_secret_value()
            valid = bool(offered) and same_digest(lago_signature(key, body), offered)
        else:
            valid = False
        return Verdict.VALID if valid else Verdict.INVALID

    async def _verify_jwt(
        self,
        token: str,
        body: bytes,
        now: float,
        connection: LagoConnection,
        http: httpx.AsyncClient,
    ) -> bool:
        if not token or connection.webhook_organization_id is None:
            return False
        claims = signed_claims(token, await self.keys.current(http, connection, now))
        if claims is _ROTATED:
            # Maybe Lago rotated its key: fetch it again (at most once a minute) and retry.
            claims = signed_claims(token, await self.keys.refreshed(http, connection, now))
        if not isinstance(claims, dict):
            return False
        return _carries(claims, body) and _names(body, connection.webhook_organization_id)

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
            return await _replace_if_newer(account, cache, customer, self.changed(event))

    def changed(self, event: dict[str, Any]) -> tuple[str, ChangeKind] | None:
        customer, kind = event.get("customer"), _KINDS.get(str(event.get("webhook_type")))
        if kind is None or not isinstance(customer, dict):
            return None
        external_id = customer.get("external_id")
        return (external_id, kind) if isinstance(external_id, str) else None


async def _replace_if_newer(
    account: Account, cache: UpstreamCache, customer: dict[str, Any], change: Named | None
) -> str:
    key = {"id": customer["external_id"]}
    cached = _cached_customer(await cache.peek(account, "customer", key))
    event_time = updated_at(customer)
    cached_time = updated_at(cached) if cached is not None else None
    if event_time is not None and cached_time is not None and event_time < cached_time:
        return "stale"
    await cache.retire(account, change)
    if cached is None or event_time is None or cached_time is None:
        # Not provably current: the next read fetches the customer whole.
        return "retired"
    merged = {**cached, **customer}
    # Only into an empty place: a read that filled it since the retire fetched Lago's current
    # state, which may be newer than this event (a late delivery must not roll it back).
    body = orjson.dumps({"customer": merged})
    # Marked as the webhook's: a read serves it as WEBHOOK, not as Lago's own answer.
    if await cache.put_new(account, "customer", key, 200, body, origin=Origin.WEBHOOK):
        return "replaced"
    return "retired"


# What `signed_claims` answers when the signature, and only the signature, did not verify.
_ROTATED = object()


def signed_claims(token: str, key: RSAPublicKey | None) -> dict[str, Any] | object | None:
    """The claims of an RS256 JWT signed by `key`; `_ROTATED` when only the signature is wrong
    (another key); None for anything else (another algorithm, `none`, malformed, no key)."""
    if key is None:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], options={"require": ["data"]}
        )
    except jwt.InvalidSignatureError:
        return _ROTATED
    except jwt.PyJWTError:
        return None
    return claims


def _carries(claims: dict[str, Any], body: bytes) -> bool:
    """The signed `data` claim is the body: the same bytes, or the same JSON re-serialised."""
    data = claims.get("data")
    if not isinstance(data, str):
        return False
    if data.encode() == body:
        return True
    try:
        return bool(orjson.loads(data) == orjson.loads(body))
    except orjson.JSONDecodeError:
        return False


def _names(body: bytes, organization_id: str) -> bool:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(event, dict) and event.get("organization_id") == organization_id


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


__all__ = ["CUSTOMER_EVENTS", "LagoWebhooks", "lago_signature", "signed_claims", "updated_at"]
