"""Which media type a GraphQL response is sent in, from the request's `Accept` header.

RFC 9110 §12.5.1: each media range may carry a weight `q` (0 to 1, default 1); `q=0` means
"not acceptable"; a specific type's weight overrides the wildcard that also covers it. The
GraphQL-over-HTTP spec asks for the highest-weighted type the server supports.
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_SUPPORTED = (GRAPHQL_RESPONSE, JSON)


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither we can send.

    Ties between the two go to `application/graphql-response+json` when the client named it,
    and to `application/json` when only a wildcard covers both (a legacy client).
    """
    if accept is None or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    weights = {kind: _weight(kind, ranges) for kind in _SUPPORTED}
    named = {kind for kind in _SUPPORTED if kind in ranges}
    best = max(
        _SUPPORTED,
        key=lambda kind: (weights[kind], kind in named, kind == JSON),
    )
    if weights[best] > 0:
        return best
    if ranges.get("text/html", 0) > 0:
        # A browser opening the endpoint: an error it can read (or the playground).
        return JSON
    return None


def _ranges(accept: str) -> dict[str, float]:
    """Media range → weight; a range listed twice keeps its highest weight."""
    ranges: dict[str, float] = {}
    for entry in accept.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        if not media:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                weight = _parse_weight(value.strip())
        media = media.lower()
        ranges[media] = max(weight, ranges.get(media, 0.0))
    return ranges


def _parse_weight(value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0


def _weight(kind: str, ranges: dict[str, float]) -> float:
    """The weight of the most specific range that covers `kind`, 0 when none does."""
    for candidate in (kind, kind.split("/")[0] + "/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


__all__ = ["GRAPHQL_RESPONSE", "JSON", "negotiate"]
