"""Layer's JSON exactly as it arrives (see shared/docs/providers.md §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LayerTag(_Wire):
    id: str | None = None
    key: str
    value: str
    dimension_display_name: str | None = None
    value_display_name: str | None = None
    dimension_id: str | None = None
    definition_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    archived_at: datetime | None = None


class LayerCustomer(_Wire):
    type: str | None = None
    id: str
    external_id: str | None = None
    individual_name: str | None = None
    company_name: str | None = None
    email: str | None = None
    mobile_phone: str | None = None
    office_phone: str | None = None
    address_string: str | None = None
    # ACTIVE or ARCHIVED; one Layer adds later (or null) reads as UNKNOWN.
    status: str | None = "ACTIVE"
    memo: str | None = None
    # Older documentation pages call the memo `notes`; the example customer still does.
    notes: str | None = None
    metadata: dict[str, Any] | None = None
    reference_number: str | None = None
    transaction_tags: list[LayerTag] | None = None


class LayerPagination(_Wire):
    sort_by: str | None = None
    sort_order: str | None = None
    cursor: str | None = None
    has_more: bool = False
    total_count: int | None = None


class LayerMeta(_Wire):
    pagination: LayerPagination | None = None


class LayerCustomerList(_Wire):
    # Each item read as a `LayerCustomer` on its own: one that does not fit costs only itself.
    data: list[Any]
    meta: LayerMeta | None = None


class LayerCustomerEnvelope(_Wire):
    # Read as a `LayerCustomer` on its own, so a record that does not fit is RECORD_UNREADABLE.
    data: dict[str, Any]


class LayerToken(_Wire):
    access_token: str
    expires_in: int
    token_type: str


__all__ = [
    "LayerCustomer",
    "LayerCustomerEnvelope",
    "LayerCustomerList",
    "LayerMeta",
    "LayerPagination",
    "LayerTag",
    "LayerToken",
]
