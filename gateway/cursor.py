"""The `customers` cursor: where each provider's stream stands, signed, opaque to clients.

A stream is one provider account (`StreamKey`: provider and account, so several accounts of a
provider each keep their own place). Its position is the token of the upstream page it is in,
how many raw items of that page are consumed, and how many customers it has yielded so far (its
place in the interleave).
The cursor also carries a fingerprint of what it was issued for (tenant, provider accounts,
filter; see gateway/federation.py), and ends with an HMAC-SHA256 over all of it, so a client
can neither forge a position (and have a page token of its choosing sent upstream) nor replay
another tenant's cursor. The text is the unpadded url-safe base64 of `payload JSON + MAC`, and
only the exact text this module writes decodes.

Usage::

    key = CursorKey.of(settings.cursor_key)     # the per-process key when none is configured
    text = encode_cursor(cursor, key)
    cursor = decode_cursor(text, key)           # InvalidCursor unless issued under `key`
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import SecretStr

from gateway.domain.provider import Provider
from gateway.errors import InvalidCursor
from gateway.settings.model import MAX_CONNECTIONS_PER_TENANT

VERSION = 3
# A provider page token a cursor may carry: printable ASCII, so its JSON form is at most twice
# as long. Longer or stranger tokens are the provider's bad response (gateway/federation.py).
MAX_TOKEN_LENGTH = 512
# Per stream, the longest token and account id, all escaped, plus the rest, in base64: under
# 2,048; a tenant has at most MAX_CONNECTIONS_PER_TENANT streams.
MAX_CURSOR_LENGTH = 2048 * MAX_CONNECTIONS_PER_TENANT
_MAC_BYTES = hashlib.sha256().digest_size
# Keeps these MACs apart from anything else the same key might ever sign.
_PURPOSE = b"customer-gateway customers cursor\x00"
_TEXT = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True, slots=True)
class CursorKey:
    """The HMAC key cursors are signed with; its repr never shows it."""

    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, configured: SecretStr | None) -> CursorKey:
        """The configured key, or this process's random one when none (or an empty one) is."""
        if configured is None or not configured.get_secret_value():
            return process_key()
        return cls(configured.get_secret_value().encode())

    @classmethod
    def random(cls) -> CursorKey:
        return cls(secrets.token_bytes(32))

    def sign(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, _PURPOSE + payload, hashlib.sha256).digest()


@functools.cache
def process_key() -> CursorKey:
    """Drawn once per process: its cursors end with the process (sandbox and development)."""
    return CursorKey.random()


@dataclass(frozen=True, slots=True)
class StreamPosition:
    token: str | None = None
    skip: int = 0
    yielded: int = 0
    done: bool = False


START = StreamPosition()

# Which stream a position belongs to: a provider and one of its accounts.
StreamKey = tuple[Provider, str]


@dataclass(frozen=True, slots=True)
class Cursor:
    # What the cursor was issued for; the caller compares it with what it is used for.
    filter_fingerprint: str
    positions: dict[StreamKey, StreamPosition]


def is_carriable_token(token: str) -> bool:
    """Whether a provider's page token fits in a cursor."""
    return len(token) <= MAX_TOKEN_LENGTH and _TOKEN.fullmatch(token) is not None


def encode_cursor(cursor: Cursor, key: CursorKey | None = None) -> str:
    payload = orjson.dumps(
        {
            "v": VERSION,
            "f": cursor.filter_fingerprint,
            "p": {
                _stream_name(k): [s.token, s.skip, s.yielded, s.done]
                for k, s in cursor.positions.items()
            },
        }
    )
    return seal(payload, key)


def decode_cursor(text: str, key: CursorKey | None = None) -> Cursor:
    """The cursor `text` encodes, if `key` signed it; otherwise InvalidCursor."""
    payload = unseal(text, key)
    # Signed by us, so well formed; checked anyway, as a key may outlive a format.
    try:
        return _parse(orjson.loads(payload))
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
        raise invalid_cursor() from None


def seal(payload: bytes, key: CursorKey | None = None) -> str:
    """`payload` signed with `key`, as cursor text (gateway/order_cursor.py seals its own)."""
    return _text(payload + (key or process_key()).sign(payload))


def unseal(text: str, key: CursorKey | None = None) -> bytes:
    """The payload of cursor text `key` sealed; otherwise InvalidCursor."""
    invalid = invalid_cursor()
    if not text or len(text) > MAX_CURSOR_LENGTH or not _TEXT.fullmatch(text):
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    # Only the one text this module writes for these bytes (no padding, no stray bits).
    if _text(raw) != text or len(raw) <= _MAC_BYTES:
        raise invalid
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, (key or process_key()).sign(payload)):
        raise invalid
    return payload


def invalid_cursor() -> InvalidCursor:
    """The one refusal of a cursor this module did not write (a fresh one each time)."""
    return InvalidCursor("Invalid cursor: pass an endCursor from this query unchanged")


def _parse(payload: Any) -> Cursor:
    fingerprint, positions = payload["f"], payload["p"]
    if payload["v"] != VERSION or not isinstance(fingerprint, str):
        raise ValueError("not a cursor of this version")
    parsed = {}
    for name, (token, skip, yielded, done) in positions.items():
        if not (token is None or isinstance(token, str)):
            raise ValueError("bad token")
        if not all(type(n) is int and n >= 0 for n in (skip, yielded)):
            raise ValueError("bad counts")
        if not isinstance(done, bool):
            raise ValueError("bad flag")
        parsed[_stream_key(name)] = StreamPosition(token, skip, yielded, done)
    return Cursor(fingerprint, parsed)


def _stream_name(key: StreamKey) -> str:
    # A provider's value never holds ":"; an account may, so it is what follows the first.
    provider, account = key
    return f"{provider.value}:{account}"


def _stream_key(name: str) -> StreamKey:
    provider, separator, account = name.partition(":")
    if not separator:
        raise ValueError("bad stream")
    return Provider(provider), account


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_TOKEN_LENGTH",
    "START",
    "Cursor",
    "CursorKey",
    "StreamKey",
    "StreamPosition",
    "decode_cursor",
    "encode_cursor",
    "invalid_cursor",
    "is_carriable_token",
    "process_key",
    "seal",
    "unseal",
]
