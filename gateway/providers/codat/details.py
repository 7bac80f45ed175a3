"""Codat's own customer fields, beside the unified ones (GraphQL: CodatCustomer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CodatDetails:
    customer_name: str | None
    contact_name: str | None
    email_address: str | None
    default_currency: str | None
    phone: str | None
    status: str | None
    is_deleted: bool | None
    # True, False, or None when Codat's answer cannot tell (mapping._deleted_in_source).
    deleted_in_source: bool | None
    supplemental_data: Any
    modified_date: datetime | None
    source_modified_date: datetime | None


__all__ = ["CodatDetails"]
