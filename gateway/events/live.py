"""What a subscription's resolvers carry: the request's context and its subscriber."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.context import Context
from gateway.events.bus import Subscriber


@dataclass
class LiveContext(Context):
    """Usage: `LiveContext(tenant=view, settings=s, request_id=id, changes=bus.subscribe(view))`."""

    changes: Subscriber | None = None


__all__ = ["LiveContext"]
