"""Domain values the provider mappings build alike from a provider's loose fields."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.domain.customer import MetadataEntry, Phone, PhoneType
from gateway.providers.text import text


def phones(*numbers: tuple[str | None, PhoneType]) -> tuple[Phone, ...]:
    """A `Phone` for each number that is not blank, in order.

    Usage: `phones((wire.mobile_phone, PhoneType.MOBILE), (wire.office_phone, PhoneType.OFFICE))`.
    """
    return tuple(
        Phone(number=number, type=kind) for value, kind in numbers if (number := text(value))
    )


def metadata_entries(values: Mapping[str, object] | None) -> tuple[MetadataEntry, ...]:
    """One entry per key of a provider's free-form metadata object, values as sent."""
    return tuple(MetadataEntry(key=key, value=value) for key, value in (values or {}).items())


__all__ = ["metadata_entries", "phones"]
