"""Layer's own customer fields, beside the unified ones (GraphQL: LayerCustomer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LayerDetails:
    individual_name: str | None
    company_name: str | None
    email: str | None
    mobile_phone: str | None
    office_phone: str | None
    address_string: str | None
    status: str | None
    memo: str | None
    reference_number: str | None
    metadata: Any
    type: str | None


__all__ = ["LayerDetails"]
