"""Codat's webhooks: Standard Webhooks signatures; `read.completed` says a sync changed data."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.providers.codat.connection import CodatConnection
from gateway.webhooks.signatures import StandardWebhooks


class CodatWebhooks(StandardWebhooks):
    def secret(self, connection: CodatConnection) -> SecretStr | None:
        return connection.webhook_secret

    async def apply(
        self,
        account: Account,
        connection: CodatConnection,
        cache: UpstreamCache,
        event: dict[str, Any],
    ) -> str:
        """A sync that modified customers of this company retires the company's entries."""
        payload = event.get("payload")
        if event.get("eventType") != "read.completed" or not isinstance(payload, dict):
            return "ignored"
        company = payload.get("referenceCompany")
        if not isinstance(company, dict) or company.get("id") != connection.company_id:
            return "ignored"
        data_types = payload.get("dataTypes")
        modified = isinstance(data_types, list) and any(
            isinstance(d, dict) and d.get("dataType") == "customers" and d.get("recordsModified")
            for d in data_types
        )
        if not modified:
            return "ignored"
        await cache.retire(account)
        return "retired"

    def changed(self, event: dict[str, Any]) -> tuple[str, ChangeKind] | None:
        # A sync names how many records changed, never which: no one customer to tell of.
        return None


__all__ = ["CodatWebhooks"]
