"""Parsed upstream answers, kept per process next to the raw bytes they came from.

Validating and mapping a page of 100 customers costs far more than serving it; the same
cached bytes are parsed once and the result shared. Keyed by the bytes themselves: Python
caches a bytes object's hash, and comparing an object with itself is immediate, so a hit on
the memory cache's own bytes is O(1); bytes read back from Redis cost one hash and compare,
still much less than a parse. Results are domain objects, frozen, and read only by callers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SIZE = 512


class Decoded:
    """Usage: `page = decoded.get(entry.body, "lago.page", parse)`."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, bytes], Any] = OrderedDict()

    def get(self, body: bytes, kind: str, parse: Callable[[bytes], T]) -> T:
        key = (kind, body)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found  # type: ignore[no-any-return]
        value = parse(body)
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


__all__ = ["Decoded"]
