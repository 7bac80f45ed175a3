"""Parsed upstream answers are kept within a byte bound as well as a count.

A parsed page of 100 customers weighs about five times its body (~1 MiB for a full page), so
512 entries could hold ~500 MiB per process; the bound is on the bodies' bytes, which the
parsed values are proportional to.
"""

from __future__ import annotations

from gateway.cache.decoded import DEFAULT_MAX_BODY_BYTES, Decoded


def test_bodies_past_the_byte_bound_are_parsed_again() -> None:
    parsed: list[bytes] = []

    def parse(body: bytes) -> int:
        parsed.append(body)
        return len(body)

    decoded = Decoded()
    page = 200 * 1024
    bodies = [bytes([i % 256]) * page + str(i).encode() for i in range(100)]
    for body in bodies:
        decoded.get(body, "page", parse)
    assert decoded.body_bytes <= DEFAULT_MAX_BODY_BYTES
    # The newest are still held; the oldest went to make room.
    decoded.get(bodies[-1], "page", parse)
    decoded.get(bodies[0], "page", parse)
    assert parsed[100:] == [bodies[0]]


def test_a_read_entry_survives_and_an_oversized_body_is_not_kept() -> None:
    calls = 0

    def parse(body: bytes) -> int:
        nonlocal calls
        calls += 1
        return len(body)

    decoded = Decoded(size=3, max_body_bytes=100)
    for body in (b"a" * 30, b"b" * 30, b"c" * 30):
        decoded.get(body, "k", parse)
    decoded.get(b"a" * 30, "k", parse)  # used again: now the most recent
    decoded.get(b"d" * 30, "k", parse)  # over the count: "b" goes
    assert calls == 4
    decoded.get(b"a" * 30, "k", parse)
    assert calls == 4
    decoded.get(b"e" * 101, "k", parse)
    decoded.get(b"e" * 101, "k", parse)
    assert calls == 6
    assert decoded.body_bytes <= 100


def test_a_stored_entry_read_again_is_not_copied_again() -> None:
    """Reading the same stored bytes gives the same entry, body and all: a page of ~170 KB is
    neither copied out of its header nor hashed again for the parsed-answer memo on every
    read (it was, on every request that read it)."""
    from gateway.cache.entry import Entry, usable

    raw = Entry(200, b"x" * 170_000, 5.0).encode()
    first = usable(raw, lambda entry: None)
    again = usable(raw, lambda entry: None)
    assert first is not None
    assert again is not None
    assert again.body is first.body
    assert (again.status, again.stored_at, len(again.body)) == (200, 5.0, 170_000)
    # Bytes of the same value read back from Redis (another object) decode the same.
    copy = bytes(bytearray(raw))
    assert usable(copy, lambda entry: None) == first
