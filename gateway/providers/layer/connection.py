"""A tenant's `[tenants.layer]` table: one Layer business and the OAuth2 client that reads it."""

from __future__ import annotations

from pydantic import SecretStr

from gateway.settings.model import Section


class LayerConnection(Section):
    business_id: str
    client_id: SecretStr
    client_secret: SecretStr
    base_url: str = "https://sandbox.layerfi.com"
    token_url: str = "https://auth.layerfi.com/oauth2/token"  # noqa: S105 - a URL, not a secret
    # The OAuth2 scope the token is asked for.
    token_scope: str = "https://sandbox.layerfi.com/sandbox"  # noqa: S105
    # "whsec_…": verifies Layer's webhook deliveries (see docs/webhooks.md).
    webhook_secret: SecretStr | None = None


__all__ = ["LayerConnection"]
