"""Reading a provider's records one by one, so one record that cannot be read costs only itself.

Real providers send values their own published schemas do not allow. A list page's envelope
must still fit its wire model (else the whole answer is `UPSTREAM_BAD_RESPONSE`), but each item
is validated and mapped on its own: an item that does not fit becomes a `RecordUnreadable` beside
the readable ones, and the page is still a good answer that the cache stores and serves.

Usage: `items, unreadable = read_records(LAGO, LagoCustomer, payload["customers"],
"external_id", lambda wire, raw: to_domain(wire, account, raw))`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pydantic

from gateway.domain.customer import Customer
from gateway.domain.provider import Provider
from gateway.errors import RecordUnreadable

log = logging.getLogger("gateway.providers.records")

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
# A wire record and the payload it came from → the domain customer.
MapRecord = Callable[[ModelT, Any], Customer]
# An unreadable record of a page, after as many readable items as precede it there.
Unreadable = tuple[int, RecordUnreadable]


def read_record(
    provider: Provider,
    model: type[ModelT],
    payload: Any,
    id_field: str,
    to_domain: MapRecord[ModelT],
) -> Customer | RecordUnreadable:
    """One record: the customer, or why it cannot be read (the failing wire field)."""
    provider_id = _provider_id(payload, id_field)
    try:
        wire = model.model_validate(payload)
    except pydantic.ValidationError as exc:
        return RecordUnreadable(provider, provider_id, _field(exc))
    try:
        return to_domain(wire, payload)
    except Exception:
        # A value the mapping did not expect is a gap in the mapping, not the caller's
        # problem: logged with its traceback (never the record), and the record left out.
        log.exception("cannot map a %s record (id %r)", provider.value, provider_id)
        return RecordUnreadable(provider, provider_id, None)


def read_records(
    provider: Provider,
    model: type[ModelT],
    payloads: Sequence[Any],
    id_field: str,
    to_domain: MapRecord[ModelT],
) -> tuple[tuple[Customer, ...], tuple[Unreadable, ...]]:
    """A page's records in order: the readable ones, and each unreadable one with the number
    of readable ones before it (where it would have been in the page)."""
    items: list[Customer] = []
    unreadable: list[Unreadable] = []
    for payload in payloads:
        record = read_record(provider, model, payload, id_field, to_domain)
        if isinstance(record, RecordUnreadable):
            unreadable.append((len(items), record))
        else:
            items.append(record)
    return tuple(items), tuple(unreadable)


def fresh(error: RecordUnreadable) -> RecordUnreadable:
    """A new instance to raise: parsed pages are memoised and shared, and raising the stored
    instance would grow its traceback with every read."""
    return RecordUnreadable(error.provider, error.provider_id, error.field)


def record_id(payload: Any, id_field: str = "id") -> str | None:
    """The record's id as the provider sent it, when it sent one we could address."""
    return _provider_id(payload, id_field)


def _provider_id(payload: Any, id_field: str) -> str | None:
    value = payload.get(id_field) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


def _field(exc: pydantic.ValidationError) -> str | None:
    """Where the first problem is, as dotted wire field names and list indexes."""
    errors = exc.errors(include_url=False, include_input=False)
    location = ".".join(str(part) for part in errors[0]["loc"]) if errors else ""
    return location or None


__all__ = ["MapRecord", "Unreadable", "fresh", "read_record", "read_records", "record_id"]
