"""Layer's webhooks: Standard Webhooks signatures; `customer.*` events carry only an id."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.providers.layer.connection import LayerConnection
from gateway.webhooks.signatures import StandardWebhooks

CUSTOMER_EVENTS = frozenset({"customer.created", "customer.updated", "customer.archived"})
# What live subscribers are told: an archived customer leaves Layer's own lists (they hide
# archived ones unless asked), so DELETED. A kept sameAs index is told it changed instead
# (`apply`): the gateway lists with `include_archived=true`.
_KINDS = {
    "customer.created": ChangeKind.CREATED,
    "customer.updated": ChangeKind.UPDATED,
    "customer.archived": ChangeKind.DELETED,
}


class LayerWebhooks(StandardWebhooks):
    def secret(self, connection: LayerConnection) -> SecretStr | None:
        return connection.webhook_secret

    async def apply(
        self,
        account: Account,
        connection: LayerConnection,
        cache: UpstreamCache,
        event: dict[str, Any],
    ) -> str:
        if event.get("type") not in CUSTOMER_EVENTS:
            return "ignored"
        # The thin event names the customer but (unverified) not its business: every entry of
        # the account goes, lists included, since they may now order or filter differently.
        # Which customer is recorded, so a kept link index reads that one only. An archived
        # customer is changed there, not gone: the gateway lists Layer's customers with
        # `include_archived=true`, so a full read of the account still holds it.
        changed = self.changed(event)
        if changed is not None and changed[1] is ChangeKind.DELETED:
            changed = (changed[0], ChangeKind.UPDATED)
        await cache.retire(account, changed)
        return "retired"

    def changed(self, event: dict[str, Any]) -> tuple[str, ChangeKind] | None:
        kind, data = _KINDS.get(str(event.get("type"))), event.get("data")
        if kind is None or not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        return data["id"], kind


__all__ = ["CUSTOMER_EVENTS", "LayerWebhooks"]
