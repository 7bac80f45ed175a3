"""What each provider's event does to the cache.

- Lago `customer.created|updated` carries the customer: the tenant's Lago entries are retired
  (lists may now order or filter differently) and the customer's own entry is replaced. The
  event's object lacks some fields a read returns (taxes, metadata, invoice custom sections,
  error details); those keep their previously cached value. Events arrive late, out of order
  and replayed, so the state an event carries is written only when its `updated_at` is not
  older than the cached customer's: an older event changes nothing ("stale"), and one that
  cannot be compared (nothing cached, or a time missing) only retires, so the next read asks
  Lago. Retiring cannot roll anything back; writing old state could. The compare and the
  write hold the customer's lock (gateway/webhooks/locks.py), so two concurrent events cannot
  interleave.
- Layer `customer.*` carries only an id: the tenant's Layer entries are retired.
- Codat `read.completed` with modified customers: the company's Codat entries are retired.

Anything else is acknowledged and ignored, so providers do not retry it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.cache.keys import Scope
from gateway.cache.upstream import Entry, UpstreamCache
from gateway.domain.customer import Provider
from gateway.tenants import Tenant
from gateway.webhooks.locks import record_lock

LAGO_CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated"})
LAYER_CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated", "customer.archived"})


async def apply_lago(tenant: Tenant, cache: UpstreamCache, event: dict[str, Any]) -> str:
    lago = tenant.settings.lago
    customer = event.get("customer")
    if (
        lago is None
        or event.get("webhook_type") not in LAGO_CUSTOMER_EVENTS
        or not isinstance(customer, dict)
        or not isinstance(customer.get("external_id"), str)
    ):
        return "ignored"
    scope = Scope(tenant.id, Provider.LAGO, lago.organization_id)
    async with record_lock(cache.store, scope, customer["external_id"]):
        return await _replace_if_newer(scope, cache, customer)


async def _replace_if_newer(scope: Scope, cache: UpstreamCache, customer: dict[str, Any]) -> str:
    key = {"id": customer["external_id"]}
    cached = _cached_customer(await cache.peek(scope, "customer", key))
    event_time = updated_at(customer)
    cached_time = updated_at(cached) if cached is not None else None
    if event_time is not None and cached_time is not None and event_time < cached_time:
        return "stale"
    await cache.retire(scope)
    if cached is None or event_time is None or cached_time is None:
        # Not provably current: the next read fetches the customer whole.
        return "retired"
    merged = {**cached, **customer}
    # Only into an empty place: a read that filled it since the retire fetched Lago's current
    # state, which may be newer than this event (a late delivery must not roll it back).
    if await cache.put_new(scope, "customer", key, 200, orjson.dumps({"customer": merged})):
        return "replaced"
    return "retired"


def updated_at(record: dict[str, Any]) -> datetime | None:
    """The record's own update time (ISO 8601; zone-less is taken as UTC), if it has one."""
    value = record.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cached_customer(entry: Entry | None) -> dict[str, Any] | None:
    if entry is None or entry.status != 200:
        return None
    try:
        body = orjson.loads(entry.body)
    except orjson.JSONDecodeError:
        return None
    customer = body.get("customer") if isinstance(body, dict) else None
    return customer if isinstance(customer, dict) else None


async def apply_layer(tenant: Tenant, cache: UpstreamCache, event: dict[str, Any]) -> str:
    layer = tenant.settings.layer
    if layer is None or event.get("type") not in LAYER_CUSTOMER_EVENTS:
        return "ignored"
    # Layer's thin events name the customer but (unverified) not its business: every Layer
    # entry of the tenant goes, which covers its one business.
    await cache.retire(Scope(tenant.id, Provider.LAYER, layer.business_id))
    return "retired"


async def apply_codat(tenant: Tenant, cache: UpstreamCache, event: dict[str, Any]) -> str:
    codat = tenant.settings.codat
    payload = event.get("payload")
    if codat is None or event.get("eventType") != "read.completed" or not isinstance(payload, dict):
        return "ignored"
    company = payload.get("referenceCompany")
    if not isinstance(company, dict) or company.get("id") != codat.company_id:
        return "ignored"
    data_types = payload.get("dataTypes")
    modified = isinstance(data_types, list) and any(
        isinstance(d, dict) and d.get("dataType") == "customers" and d.get("recordsModified")
        for d in data_types
    )
    if not modified:
        return "ignored"
    await cache.retire(Scope(tenant.id, Provider.CODAT, codat.company_id))
    return "retired"


__all__ = ["apply_codat", "apply_lago", "apply_layer", "updated_at"]
