"""What the upstream cache stores and how long: `Entry`, `CachePolicy`, and a read's checks.

Entries are bytes (status, time stored, who wrote it, body), so no caller can mutate a shared
entry.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeGuard

from gateway.domain.freshness import Freshness
from gateway.errors import UpstreamError

log = logging.getLogger("gateway.cache")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """A provider's freshness windows, in seconds.

    Usage: `CachePolicy(ttl=60, stale_while_revalidate=30, stale_if_error=600)`.
    """

    ttl: float
    stale_while_revalidate: float
    stale_if_error: float

    @property
    def lifetime(self) -> float:
        """How long the store keeps an entry: as long as any window may still use it."""
        return self.ttl + max(self.stale_while_revalidate, self.stale_if_error)


class Origin(enum.Enum):
    """Who wrote an entry: a read of the provider, or a verified provider webhook."""

    UPSTREAM = "upstream"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Entry:
    """What the provider answered: 200 with a body, or 404 (cached too: "no such customer").

    `freshness` is not stored: a read sets it on the entry it returns (how old the entry is
    and how it was served), so the caller can stamp what it parses from it.
    """

    status: int
    body: bytes
    stored_at: float = 0.0
    origin: Origin = Origin.UPSTREAM
    freshness: Freshness | None = field(default=None, compare=False)

    def encode(self) -> bytes:
        # An entry from a read keeps the two-field header older versions wrote and read.
        written_by = "" if self.origin is Origin.UPSTREAM else f" {self.origin.value}"
        return f"{self.status} {self.stored_at!r}{written_by}\n".encode() + self.body

    @classmethod
    def decode(cls, raw: bytes | None) -> Entry | None:
        if raw is None:
            return None
        known = _RECENT.get(raw)
        if known is not None:
            return known
        header, _, body = raw.partition(b"\n")
        try:
            status, stored_at, *written_by = header.decode().split(" ")
            origin = Origin(written_by[0]) if written_by else Origin.UPSTREAM
            if len(written_by) > 1:
                return None
            entry = cls(int(status), body, float(stored_at), origin)
        except ValueError:
            return None
        _RECENT.keep(raw, entry)
        return entry


class _RecentEntries:
    """Entries decoded from stored bytes, by those bytes, least recently used out first.

    Every read of a cached page decoded it again: the body (up to ~170 KB) copied out from
    behind its header, then hashed and compared in full by the parsed-answer memo
    (gateway/cache/decoded.py), since a new bytes object has no cached hash. Kept here, the
    same stored bytes give the same entry and the same body object, so the memo finds its
    parse at once. The memory backend hands back the very object it holds (its hash is
    cached: a hit is O(1)); bytes from Redis are hashed once per read, as before, never
    copied. Bounded by count and by the stored bytes held.
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        self.size, self.max_bytes, self.bytes = size, max_bytes, 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    def get(self, raw: bytes) -> Entry | None:
        entry = self._entries.get(raw)
        if entry is not None:
            self._entries.move_to_end(raw)
        return entry

    def keep(self, raw: bytes, entry: Entry) -> None:
        if len(raw) > self.max_bytes or raw in self._entries:
            return
        self._entries[raw] = entry
        self.bytes += len(raw)
        while len(self._entries) > self.size or self.bytes > self.max_bytes:
            evicted, _ = self._entries.popitem(last=False)
            self.bytes -= len(evicted)


# About as many pages as the parsed-answer memo keeps (gateway/cache/decoded.py).
_RECENT = _RecentEntries(size=512, max_bytes=16 * 1024 * 1024)


Fetch = Callable[[], Awaitable[Entry]]
# Raises an UpstreamError (UpstreamBadResponse) when a 200's body is not what the reader needs.
Validate = Callable[[Entry], object]


def usable(raw: bytes | None, validate: Validate) -> Entry | None:
    """The entry stored as `raw` if its reader accepts it; bytes that do not parse (from an
    older version, say) are a miss, so they are read again rather than served."""
    entry = Entry.decode(raw)
    if entry is None or entry.status != 200:
        return entry
    try:
        validate(entry)
    except UpstreamError:
        log.info("a stored entry did not validate; reading it again")
        return None
    return entry


def is_fresh(entry: Entry | None, policy: CachePolicy, now: float) -> TypeGuard[Entry]:
    """Whether `entry` is within its `ttl` at `now`."""
    return entry is not None and now - entry.stored_at < policy.ttl


__all__ = ["CachePolicy", "Entry", "Fetch", "Origin", "Validate", "is_fresh", "usable"]
