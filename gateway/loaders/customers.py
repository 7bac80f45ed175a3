"""The customer loader: global keys in, customers out, one batch per provider account."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from strawberry.dataloader import DataLoader

from gateway.domain.customer import Customer, CustomerKey
from gateway.errors import GatewayError
from gateway.ledger import demanding_max_age
from gateway.observability.tracing import tracer
from gateway.providers.client import settle
from gateway.tenants import Tenant

CustomerLoader = DataLoader[CustomerKey, Customer | None]


def customer_loader(tenant: Tenant, max_age: float | None = None) -> CustomerLoader:
    """A loader for one request of `tenant`; never share one between requests. `max_age`:
    the root field's `maxAge`, set here because a batch runs in whichever task first asked."""

    async def load(keys: list[CustomerKey]) -> list[Customer | BaseException | None]:
        with (
            tracer.start_as_current_span(
                "loader.customers",
                attributes={"gateway.tenant": tenant.id, "gateway.keys": len(keys)},
            ),
            demanding_max_age(max_age),
        ):
            return await _load(keys)

    async def _load(keys: list[CustomerKey]) -> list[Customer | BaseException | None]:
        groups: dict[tuple[object, str], list[CustomerKey]] = defaultdict(list)
        for key in keys:
            groups[(key.provider, key.account)].append(key)
        results: dict[CustomerKey, Customer | GatewayError | None] = {}
        readable = []
        for group in groups.values():
            source = tenant.source_for(group[0])
            if source is None:
                # Another tenant's account, or a provider this tenant has not connected.
                results.update(dict.fromkeys(group))
            else:
                readable.append((source, group))
        outcomes = await asyncio.gather(
            *(s.get_many([k.native_id for k in g]) for s, g in readable), return_exceptions=True
        )
        for (_, group), outcome in zip(readable, settle(outcomes), strict=True):
            for key in group:
                results[key] = (
                    outcome if isinstance(outcome, GatewayError) else outcome[key.native_id]
                )
        return [results[key] for key in keys]

    return DataLoader(load_fn=load)


__all__ = ["CustomerLoader", "customer_loader"]
