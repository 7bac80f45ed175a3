"""The seam every provider adapter implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.customer import Customer, Provider
from gateway.domain.filter import CustomerFilter
from gateway.errors import GatewayError


@dataclass(frozen=True, slots=True)
class Page:
    """One upstream page: the items in the provider's order and the token of the next page."""

    items: tuple[Customer, ...]
    next_token: str | None


class CustomerSource(Protocol):
    """One tenant's connection to one provider.

    `list_page` sends the provider a superset query for `filter` (push-down) and returns the page
    as received; the caller applies `filter.matches` to the items.
    """

    @property
    def provider(self) -> Provider: ...

    @property
    def scope(self) -> str: ...

    def can_match(self, filter: CustomerFilter) -> bool:
        """False when no customer of this provider can pass `filter`, so no call is needed."""
        ...

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page: ...

    async def get(self, native_id: str) -> Customer | None: ...

    async def get_by_external_id(self, external_id: str) -> Customer | None: ...

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """Several customers at once; a failed id carries its error, the others their data."""
        ...


__all__ = ["CustomerSource", "Page"]
