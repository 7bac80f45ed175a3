"""The two signature schemes the providers use, both ways (verify here, sign in the sandbox).

- Standard Webhooks (Svix): headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
  ("v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>", space-separated when keys rotate); the
  secret is "whsec_<base64 key>". Codat signs this way; Layer's scheme is not public, and the
  gateway assumes the same (see docs/webhooks.md).
- Lago HMAC: `X-Lago-Signature` = base64(HMAC-SHA256(organisation HMAC key, body)), with
  `X-Lago-Signature-Algorithm: hmac`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

# How far a Standard Webhooks timestamp may be from our clock (replay protection).
TOLERANCE_SECONDS = 300
_PREFIX = "whsec_"


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


def verify_standard(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    message_id = headers.get("webhook-id") or headers.get("svix-id")
    timestamp = headers.get("webhook-timestamp") or headers.get("svix-timestamp")
    signatures = headers.get("webhook-signature") or headers.get("svix-signature")
    if not (message_id and timestamp and signatures) or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS or _standard_key(secret) is None:
        return False
    expected = standard_signature(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, offered) for offered in signatures.split(" "))


def lago_signature(hmac_key: str, body: bytes) -> str:
    digest = hmac.new(hmac_key.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_lago(hmac_key: str, headers: Mapping[str, str], body: bytes) -> bool:
    if headers.get("x-lago-signature-algorithm", "hmac").lower() != "hmac":
        return False
    offered = headers.get("x-lago-signature", "")
    return bool(offered) and hmac.compare_digest(lago_signature(hmac_key, body), offered)


__all__ = [
    "TOLERANCE_SECONDS",
    "lago_signature",
    "standard_signature",
    "verify_lago",
    "verify_standard",
]
