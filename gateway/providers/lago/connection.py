"""A tenant's `[tenants.lago]` table: one Lago organisation's API key."""

from __future__ import annotations

from pydantic import SecretStr

from gateway.settings.model import Section


class LagoConnection(Section):
    api_key: SecretStr
    base_url: str = "https://api.getlago.com/api/v1"
    # Lago keys are organisation-scoped and its API never names the organisation; this label
    # goes into global ids and cache keys so two organisations of one tenant stay apart.
    organization_id: str = "default"
    # The organisation's HMAC key (Lago: Developers → Webhooks, signature "HMAC").
    webhook_hmac_key: SecretStr | None = None
    # The organisation's Lago id (a UUID, the `organization_id` of its webhooks): set, JWT-signed
    # deliveries (Lago's default) are accepted when they name it. Lago signs them with one key
    # for all organisations of an installation, so the name is what tells them apart.
    webhook_organization_id: str | None = None


__all__ = ["LagoConnection"]
