"""The root Subscription: `customerChanged`, fed by verified provider webhooks (docs/live.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from gateway.domain.change import Change, ChangeKind
from gateway.errors import BadUserInput
from gateway.events.live import LiveContext
from gateway.ids import decode_id, encode_id
from gateway.ledger import end_ledger, start_ledger
from resolvers.types.customer import CustomerInterface, customer_from_domain
from resolvers.types.enums import Provider

strawberry.enum(ChangeKind, name="ChangeKind", description="What happened to a customer.")

LiveInfo = Info[LiveContext, None]


@strawberry.type(description="A change to one customer, as its provider's webhook told it.")
class CustomerChange:
    id: strawberry.ID = strawberry.field(description="The customer's global id.")
    provider: Provider
    kind: ChangeKind
    at: datetime = strawberry.field(description="When the gateway applied the change.")
    change: strawberry.Private[Change]

    @strawberry.field(
        description="The customer as it reads now (through the cache the webhook refreshed); "
        "null when it was DELETED, or when it cannot be read."
    )
    async def customer(self, info: LiveInfo) -> CustomerInterface | None:
        if self.kind is ChangeKind.DELETED:
            return None
        key = self.change.key
        source = info.context.tenant.source(key.provider, key.account)
        if source is None:
            return None
        # A fresh ledger per change: generations are read anew, so what the webhook retired
        # is not served from this long-lived subscription's memo.
        deadline = time.monotonic() + info.context.settings.resilience.request_deadline_seconds
        _, token = start_ledger(deadline, info.context.request_id)
        try:
            found = await source.get(key.native_id)
        finally:
            end_ledger(token)
        return customer_from_domain(found) if found is not None else None

    @classmethod
    def of(cls, change: Change) -> CustomerChange:
        return cls(
            id=strawberry.ID(encode_id(change.key)),
            provider=change.key.provider,
            kind=change.kind,
            at=change.at,
            change=change,
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to the caller's customers as their providers report them "
        "(Layer and Lago customer events; Codat syncs name no customer). `providers` and "
        "`ids` narrow them; a token sees only its accounts' changes."
    )
    async def customer_changed(
        self,
        info: LiveInfo,
        providers: list[Provider] | None = None,
        ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[CustomerChange, None]:
        wanted_ids = {decode_id(i) for i in ids} if ids is not None else None
        wanted_providers = set(providers) if providers is not None else None
        changes = info.context.changes
        if changes is None:
            raise BadUserInput("Subscriptions are served over WebSocket or SSE on /graphql")
        async for change in changes:
            if wanted_providers is not None and change.key.provider not in wanted_providers:
                continue
            if wanted_ids is not None and change.key not in wanted_ids:
                continue
            yield CustomerChange.of(change)


__all__ = ["CustomerChange", "Subscription"]
