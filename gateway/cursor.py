"""The `customers` cursor: where each provider's stream stands, opaque to clients.

A provider's position is the token of the upstream page it is in, how many raw items of that
page are consumed, and how many customers it has yielded so far (its place in the interleave).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from gateway.domain.customer import Provider
from gateway.errors import BadUserInput

VERSION = 1
_MAX_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class StreamPosition:
    token: str | None = None
    skip: int = 0
    yielded: int = 0
    done: bool = False


START = StreamPosition()


@dataclass(frozen=True, slots=True)
class Cursor:
    filter_fingerprint: str
    positions: dict[Provider, StreamPosition]


def encode_cursor(cursor: Cursor) -> str:
    payload = {
        "v": VERSION,
        "f": cursor.filter_fingerprint,
        "p": {p.value: [s.token, s.skip, s.yielded, s.done] for p, s in cursor.positions.items()},
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def decode_cursor(text: str) -> Cursor:
    invalid = BadUserInput("Invalid cursor: pass an endCursor from this query unchanged")
    if not text or len(text) > _MAX_LENGTH:
        raise invalid
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if payload["v"] != VERSION or not isinstance(payload["f"], str):
            raise invalid
        positions = {}
        for name, (token, skip, yielded, done) in payload["p"].items():
            if not (token is None or isinstance(token, str)):
                raise invalid
            if not all(isinstance(n, int) and n >= 0 for n in (skip, yielded)):
                raise invalid
            positions[Provider(name)] = StreamPosition(token, skip, yielded, bool(done))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        raise invalid from None
    return Cursor(payload["f"], positions)


__all__ = ["START", "Cursor", "StreamPosition", "decode_cursor", "encode_cursor"]
