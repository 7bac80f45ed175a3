"""The sandbox's accounts and credentials, and the gateway tenant that connects to them.

The credentials are the sandbox's own, invented for it; they open nothing anywhere else.
`tenant_config` is plain JSON in the shape of the gateway's tenant settings: the sandbox decides
what its demo tenant is, the gateway validates it like any other configuration.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sandbox.lago import organization_uuid
from sandbox.layer import SANDBOX_SCOPE

LAYER_CLIENT_ID = "sandbox-layer-client"
LAYER_CLIENT_SECRET = "sandbox-layer-secret"
CODAT_API_KEY = "sandbox-codat-key"
# Webhook signing secrets the sandbox signs with and the demo tenant verifies with.
LAYER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sandbox-layer-webhook-key").decode()
CODAT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sandbox-codat-webhook-key").decode()
LAGO_WEBHOOK_HMAC_KEY = "sandbox-lago-hmac-key"

# The tenant `customer-gateway serve` connects to the sandbox when nothing is configured.
DEMO_TENANT = "demo"


@dataclass(frozen=True)
class SandboxAccount:
    """One simulated customer of all three providers: what one gateway tenant connects to."""

    layer_business_id: str
    codat_company_id: str
    lago_api_key: str
    lago_organization_id: str


DEMO_ACCOUNT = SandboxAccount(
    layer_business_id="3f5e1a52-8a43-4c1e-9a1b-5d2f0c7e9b10",
    # The company id of Codat's own documentation example.
    codat_company_id="919371ab-763c-4bc7-99a4-9723cade34d3",
    lago_api_key="sandbox-lago-key-demo",
    lago_organization_id="sandbox-demo-org",
)
SECOND_ACCOUNT = SandboxAccount(
    layer_business_id="9c0b7d44-2e61-4f7a-b8c3-61aa0de4f222",
    codat_company_id="5d1e6f0a-3b2c-4d8e-9f10-7a6b5c4d3e21",
    lago_api_key="sandbox-lago-key-second",
    lago_organization_id="sandbox-second-org",
)
ACCOUNTS = (DEMO_ACCOUNT, SECOND_ACCOUNT)


def tenant_config(
    tenant_id: str,
    base_url: str,
    *accounts: SandboxAccount,
    allow_anonymous: bool = True,
    api_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A gateway tenant (as in `[[tenants]]` of its settings) connected to `accounts` of the
    sandbox served at `base_url` (DEMO_ACCOUNT when none is given): all three providers, with
    the webhook secrets it signs with. One account writes one table per provider
    (`[tenants.layer]`); several write an array of tables in the order given
    (`[[tenants.layer]]`), e.g. `tenant_config("t", url, DEMO_ACCOUNT, SECOND_ACCOUNT)`.
    """
    base = base_url.rstrip("/")
    connected = accounts or (DEMO_ACCOUNT,)
    tables = {
        "layer": [_layer(a, base) for a in connected],
        "codat": [_codat(a, base) for a in connected],
        "lago": [_lago(a, base) for a in connected],
    }
    return {
        "id": tenant_id,
        "allow_anonymous": allow_anonymous,
        "api_keys": list(api_keys),
        **{key: t[0] if len(connected) == 1 else t for key, t in tables.items()},
    }


def _layer(account: SandboxAccount, base: str) -> dict[str, Any]:
    return {
        "business_id": account.layer_business_id,
        "client_id": LAYER_CLIENT_ID,
        "client_secret": LAYER_CLIENT_SECRET,
        "base_url": f"{base}/layer",
        "token_url": f"{base}/layer-auth/oauth2/token",
        "token_scope": SANDBOX_SCOPE,
        "webhook_secret": LAYER_WEBHOOK_SECRET,
    }


def _codat(account: SandboxAccount, base: str) -> dict[str, Any]:
    return {
        "company_id": account.codat_company_id,
        "api_key": CODAT_API_KEY,
        "base_url": f"{base}/codat",
        "webhook_secret": CODAT_WEBHOOK_SECRET,
    }


def _lago(account: SandboxAccount, base: str) -> dict[str, Any]:
    return {
        "api_key": account.lago_api_key,
        "base_url": f"{base}/lago/api/v1",
        "organization_id": account.lago_organization_id,
        "webhook_hmac_key": LAGO_WEBHOOK_HMAC_KEY,
        # JWT-mode deliveries (Lago's default) name the organisation.
        "webhook_organization_id": organization_uuid(account.lago_api_key),
    }


__all__ = [
    "ACCOUNTS",
    "CODAT_API_KEY",
    "CODAT_WEBHOOK_SECRET",
    "DEMO_ACCOUNT",
    "DEMO_TENANT",
    "LAGO_WEBHOOK_HMAC_KEY",
    "LAYER_CLIENT_ID",
    "LAYER_CLIENT_SECRET",
    "LAYER_WEBHOOK_SECRET",
    "SECOND_ACCOUNT",
    "SandboxAccount",
    "tenant_config",
]
