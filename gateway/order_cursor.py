"""The cursor of an ordered `customers` walk: the place of the last customer it passed, signed.

A place is what the order compares (gateway/ordered.py): the customer's sort mark
(gateway/domain/order.py) and its tiebreak, the stream (provider, account) and the provider's
id. Unlike the interleave's cursor (gateway/cursor.py) it holds no provider page token: an
ordered page reads every stream from its start, so where a stream's read stands is never
carried. It is sealed with the same key and checks, under payload keys the interleave's cursor
does not read, so neither kind decodes as the other, and it carries the fingerprint of the
tenant, accounts, filter and order it was issued for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.cursor import CursorKey, invalid_cursor, seal, unseal
from gateway.domain.provider import Provider
from gateway.errors import InvalidCursor

VERSION = 1


@dataclass(frozen=True, slots=True)
class Place:
    mark: str | None
    provider: Provider
    account: str
    native_id: str


def encode_place(fingerprint: str, place: Place, key: CursorKey | None = None) -> str:
    stream = [place.provider.value, place.account, place.native_id]
    payload = {"ov": VERSION, "of": fingerprint, "m": place.mark, "s": stream}
    return seal(orjson.dumps(payload), key)


def decode_place(text: str, key: CursorKey | None, fingerprint: str) -> Place:
    """The place `text` holds, if it was issued under `key` for `fingerprint`; otherwise
    InvalidCursor (checked before any provider is asked)."""
    payload = unseal(text, key)
    try:
        body = orjson.loads(payload)
        place, issued_for = _parse(body), body["of"]
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
        raise invalid_cursor() from None
    if issued_for != fingerprint:
        raise InvalidCursor(
            "Invalid cursor: it was issued for another order, filter, provider set or caller"
        )
    return place


def _parse(payload: Any) -> Place:
    mark, (provider, account, native_id) = payload["m"], payload["s"]
    if payload["ov"] != VERSION or not (mark is None or isinstance(mark, str)):
        raise ValueError("not an ordered cursor of this version")
    if not all(isinstance(v, str) for v in (provider, account, native_id)):
        raise ValueError("bad place")
    return Place(mark, Provider(provider), account, native_id)


__all__ = ["Place", "decode_place", "encode_place"]
