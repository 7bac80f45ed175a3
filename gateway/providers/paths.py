"""Provider ids in URL paths.

An id a client sends becomes one path segment of the provider's URL. Percent-encoding keeps
"/" and "?" inside the segment, but "." and ".." are left as they are and every URL normaliser
(httpx's included) resolves them: `…/customers/..` would read another endpoint with the
tenant's credentials. Such ids, and the empty one, cannot name a customer.
"""

from __future__ import annotations

from urllib.parse import quote

_NOT_SEGMENTS = frozenset({"", ".", ".."})


def path_segment(value: str) -> str | None:
    """`value` as one encoded path segment, or None when no segment can carry it."""
    if value in _NOT_SEGMENTS:
        return None
    return quote(value, safe="")


__all__ = ["path_segment"]
