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
# A parsed page weighs about five times its body (measured in the soak: ~1 MiB for a full page
# of 100 customers), so the bodies' bytes bound the whole: 8 MiB of bodies, ~50 MiB in all.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class Decoded:
    """Usage: `page = decoded.get(entry.body, "lago.page", parse)`. Holds at most `size`
    answers whose bodies add up to at most `max_body_bytes`, least recently used out first;
    a body larger than that is parsed and not kept."""

    def __init__(self, size: int = DEFAULT_SIZE, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.size = size
        self.max_body_bytes = max_body_bytes
        self.body_bytes = 0
        self._items: OrderedDict[tuple[str, bytes], Any] = OrderedDict()

    def get(self, body: bytes, kind: str, parse: Callable[[bytes], T]) -> T:
        key = (kind, body)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found  # type: ignore[no-any-return]
        value = parse(body)
        if len(body) > self.max_body_bytes:
            return value
        self._items[key] = value
        self.body_bytes += len(body)
        while len(self._items) > self.size or self.body_bytes > self.max_body_bytes:
            (_, evicted), _ = self._items.popitem(last=False)
            self.body_bytes -= len(evicted)
        return value


__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_SIZE", "Decoded"]
