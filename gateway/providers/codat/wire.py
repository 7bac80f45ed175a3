"""Codat's JSON exactly as it arrives (see shared/docs/providers.md §2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class CodatAddress(_Wire):
    # Codat's enums (address and phone type, status) are required in its spec, but a source
    # may send none or one added later: read as they come, mapped to UNKNOWN.
    type: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    postalCode: str | None = None
    # Codat's own documentation example spells it this way.
    postalcode: str | None = None


class CodatPhone(_Wire):
    number: str | None = None
    type: str | None = None


class CodatContact(_Wire):
    name: str | None = None
    email: str | None = None
    phone: list[CodatPhone] | None = None
    address: CodatAddress | None = None
    status: str | None = None
    modifiedDate: datetime | None = None


class CodatMetadata(_Wire):
    isDeleted: bool | None = None


class CodatSupplementalData(_Wire):
    content: dict[str, dict[str, Any]] | None = None


class CodatCustomer(_Wire):
    id: str
    customerName: str | None = None
    contactName: str | None = None
    emailAddress: str | None = None
    defaultCurrency: str | None = None
    phone: str | None = None
    addresses: list[CodatAddress] | None = None
    contacts: list[CodatContact] | None = None
    registrationNumber: str | None = None
    taxNumber: str | None = None
    status: str | None = None
    metadata: CodatMetadata | None = None
    supplementalData: CodatSupplementalData | None = None
    modifiedDate: datetime | None = None
    sourceModifiedDate: datetime | None = None


class CodatLink(_Wire):
    href: str | None = None


class CodatLinks(_Wire):
    self_: CodatLink | None = Field(default=None, alias="self")
    current: CodatLink | None = None
    next: CodatLink | None = None
    previous: CodatLink | None = None


class CodatCustomerList(_Wire):
    # Each item read as a `CodatCustomer` on its own: one that does not fit costs only itself.
    results: list[Any]
    pageNumber: int
    pageSize: int
    totalResults: int
    links: CodatLinks | None = Field(default=None, alias="_links")


__all__ = [
    "CodatAddress",
    "CodatContact",
    "CodatCustomer",
    "CodatCustomerList",
    "CodatLinks",
    "CodatMetadata",
    "CodatPhone",
    "CodatSupplementalData",
]
