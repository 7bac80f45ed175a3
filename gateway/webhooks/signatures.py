"""Standard Webhooks signatures, both ways (verify here, sign in the sandbox), and the
verdict every provider's verification gives.

- Standard Webhooks (Svix): headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
  ("v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>", space-separated when keys rotate); the
  secret is "whsec_<base64 key>". Codat signs this way; Layer's scheme is not public, and the
  gateway assumes the same (see docs/webhooks.md).
- Lago signs its own way: gateway/providers/lago/webhook.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from enum import Enum

_PREFIX = "whsec_"


class Verdict(Enum):
    """What a delivery's signature proves."""

    VALID = "valid"
    INVALID = "invalid"
    # Signed by the provider, but at a time too far from ours: a replay, or a clock to fix.
    OUT_OF_TOLERANCE = "out_of_tolerance"


def _standard_key(secret: str) -> bytes | None:
    encoded = secret.removeprefix(_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = _standard_key(secret)
    if key is None:
        raise ValueError("a Standard Webhooks secret is 'whsec_' and base64")
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard_message_id(headers: Mapping[str, str]) -> str | None:
    """The event id a Standard Webhooks sender keeps across retries of one message."""
    return headers.get("webhook-id") or headers.get("svix-id") or None


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def verify_standard(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float
) -> Verdict:
    """Valid when a `v1` signature matches and `webhook-timestamp` is within `tolerance`
    seconds of `now`, either way (the timestamp is signed, so it cannot be moved)."""
    message_id = standard_message_id(headers)
    timestamp = headers.get("webhook-timestamp") or headers.get("svix-timestamp")
    signatures = headers.get("webhook-signature") or headers.get("svix-signature")
    # ASCII digits only: str.isdigit() admits "²" and other digits int() refuses, and a
    # header of thousands of digits passes int()'s own limit. Twelve digits reach year 33658.
    if not (message_id and timestamp and signatures) or not _TIMESTAMP.fullmatch(timestamp):
        return Verdict.INVALID
    if _standard_key(secret) is None:
        return Verdict.INVALID
    expected = standard_signature(secret, message_id, int(timestamp), body)
    if not any(same_digest(expected, offered) for offered in signatures.split(" ")):
        return Verdict.INVALID
    if abs(now - int(timestamp)) > tolerance:
        return Verdict.OUT_OF_TOLERANCE
    return Verdict.VALID


def same_digest(expected: str, offered: str) -> bool:
    # As bytes: compare_digest raises on non-ASCII str, and a header may hold any Latin-1.
    return hmac.compare_digest(expected.encode(), offered.encode())


class StandardWebhooks:
    """Event ids and verification for providers that sign the Standard Webhooks way."""

    def event_id(self, headers: Mapping[str, str]) -> str | None:
        return standard_message_id(headers)

    async def verify(
        self,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        tolerance: float,
        *,
        connection: object,
        http: object,
    ) -> Verdict:
        # The shared secret is all Standard Webhooks needs: no connection, no call.
        return verify_standard(secret, headers, body, now, tolerance)


__all__ = [
    "StandardWebhooks",
    "Verdict",
    "same_digest",
    "standard_message_id",
    "standard_signature",
    "verify_standard",
]
