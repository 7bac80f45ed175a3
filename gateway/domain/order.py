"""How `customers(orderBy:)` sorts: a field, a direction, and the value each customer sorts by.

A customer's sort value is a tuple of strings built from one string, its mark (what a cursor
carries): a name's mark is its first `NAME_CHARS` characters, and it sorts as (case-folded,
as given), so "ada" and "Ada" sort together and still in one fixed order (names equal that far
tie, which keeps a cursor's size bounded); an instant's mark is its UTC ISO 8601 text, whose
string order is its time order. A customer without the value (no display name, no date) sorts
last in both directions.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain.customer import Customer

SortValue = tuple[str, ...]
NAME_CHARS = 1000


class OrderField(enum.Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class CustomerOrder:
    field: OrderField
    direction: OrderDirection = OrderDirection.ASC

    @property
    def descending(self) -> bool:
        return self.direction is OrderDirection.DESC

    def fingerprint(self) -> str:
        """A short stable digest, so a cursor can refuse to continue a different order."""
        text = f"{self.field.value}\x1f{self.direction.value}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def mark_of(self, customer: Customer) -> str | None:
        """What `customer` sorts by, as a cursor carries it; None (last) when it has none."""
        if self.field is OrderField.NAME:
            name = customer.display_name
            return name[:NAME_CHARS] if name else None
        instant = (
            customer.created_at if self.field is OrderField.CREATED_AT else customer.updated_at
        )
        return _utc_text(instant) if instant is not None else None

    def value(self, mark: str) -> SortValue:
        """The value a mark sorts as."""
        return (mark.casefold(), mark) if self.field is OrderField.NAME else (mark,)


def _utc_text(instant: datetime) -> str:
    # A naive time is read as UTC, so every instant compares on one clock.
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = [
    "NAME_CHARS",
    "CustomerOrder",
    "OrderDirection",
    "OrderField",
    "SortValue",
]
