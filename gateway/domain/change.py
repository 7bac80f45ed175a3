"""A change to one customer, as a verified webhook told it: what live subscribers are sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateway.domain.customer import CustomerKey


class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    # Gone from the provider's customers (deleted, or archived where archiving hides it).
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Change:
    """Usage: `Change("acme", CustomerKey(LAGO, "acme-eu", "cus_1"), ChangeKind.UPDATED, now)`."""

    tenant: str
    key: CustomerKey
    kind: ChangeKind
    at: datetime


__all__ = ["Change", "ChangeKind"]
