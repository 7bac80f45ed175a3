"""A tenant's `[tenants.codat]` table: one Codat company and the API key that reads it."""

from __future__ import annotations

from pydantic import SecretStr

from gateway.settings.model import Section


class CodatConnection(Section):
    company_id: str
    api_key: SecretStr
    base_url: str = "https://api.codat.io"
    # "whsec_…" from the Codat portal: verifies read.completed deliveries.
    webhook_secret: SecretStr | None = None


__all__ = ["CodatConnection"]
