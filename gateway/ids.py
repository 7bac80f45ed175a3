"""Global ids: opaque, stable, URL-safe strings naming provider, account and native id.

Usage: `encode_id(key)` → "Y3VzdDp...", `decode_id(text)` → CustomerKey (or BadUserInput).
"""

from __future__ import annotations

import base64
import binascii

import orjson

from gateway.domain.customer import CustomerKey
from gateway.domain.provider import Provider
from gateway.errors import BadUserInput

_KIND = "Customer"
_MAX_LENGTH = 1024


def encode_id(key: CustomerKey) -> str:
    payload = orjson.dumps([_KIND, key.provider.value, key.account, key.native_id])
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_id(text: str) -> CustomerKey:
    if not text or len(text) > _MAX_LENGTH:
        raise BadUserInput("Invalid ID: not a customer-gateway ID")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        kind, provider, account, native_id = orjson.loads(raw)
        key = CustomerKey(Provider(provider), account, native_id)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise BadUserInput("Invalid ID: not a customer-gateway ID") from None
    parts = (key.provider.value, key.account, key.native_id)
    if kind != _KIND or not all(isinstance(v, str) and v for v in parts):
        raise BadUserInput("Invalid ID: not a customer-gateway ID")
    return key


__all__ = ["decode_id", "encode_id"]
