"""Simulators of the Layer, Codat and Lago APIs, mounted under one ASGI app.

The credentials below are the sandbox's own, invented for it; they open nothing anywhere else.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.settings import CodatConnection, LagoConnection, LayerConnection, TenantSettings
from sandbox.codat import CodatSimulator
from sandbox.faults import FaultInjector, Faults
from sandbox.lago import LagoSimulator
from sandbox.layer import SANDBOX_SCOPE, LayerSimulator
from sandbox.ratelimit import Clock
from sandbox.seed import SandboxData, build_sandbox_data
from sandbox.webhooks import WebhookEmitter

LAYER_CLIENT_ID = "sandbox-layer-client"
LAYER_CLIENT_SECRET = "sandbox-layer-secret"
CODAT_API_KEY = "sandbox-codat-key"
# Webhook signing secrets the sandbox signs with and the demo tenant verifies with.
LAYER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sandbox-layer-webhook-key").decode()
CODAT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sandbox-codat-webhook-key").decode()
LAGO_WEBHOOK_HMAC_KEY = "sandbox-lago-hmac-key"


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


class Sandbox:
    """The three simulators over one seeded data set.

    Usage: `sandbox = Sandbox()`; serve `sandbox.app`, then connect a tenant with
    `sandbox.tenant("demo", base_url)`. Mount points: `/layer`, `/layer-auth`, `/codat`,
    `/lago/api/v1`.
    """

    def __init__(
        self,
        data: SandboxData | None = None,
        clock: Clock = time.monotonic,
        faults: Faults | None = None,
    ) -> None:
        self.data = data or build_sandbox_data(
            [(a.layer_business_id, a.codat_company_id, a.lago_api_key) for a in ACCOUNTS]
        )
        # `clock` meters the rate limits; tests pass a frozen one to make throttling exact.
        self.webhooks = WebhookEmitter()
        self.layer = LayerSimulator(
            self.data, {LAYER_CLIENT_ID: LAYER_CLIENT_SECRET}, self.webhooks, clock
        )
        self.codat = CodatSimulator(self.data, {CODAT_API_KEY}, self.webhooks, clock)
        self.lago = LagoSimulator(self.data, self.webhooks, clock)
        self.faults = faults or Faults()
        self.app = Starlette(
            routes=[
                Mount("/layer-auth", app=FaultInjector(self.layer.auth_app, "layer", self.faults)),
                Mount("/layer", app=FaultInjector(self.layer.app, "layer", self.faults)),
                Mount("/codat", app=FaultInjector(self.codat.app, "codat", self.faults)),
                Mount("/lago/api/v1", app=FaultInjector(self.lago.app, "lago", self.faults)),
            ]
        )

    @staticmethod
    def tenant(
        tenant_id: str,
        base_url: str,
        account: SandboxAccount = DEMO_ACCOUNT,
        *,
        allow_anonymous: bool = True,
        api_keys: tuple[str, ...] = (),
    ) -> TenantSettings:
        base = base_url.rstrip("/")
        return TenantSettings(
            id=tenant_id,
            allow_anonymous=allow_anonymous,
            api_keys=tuple(SecretStr(k) for k in api_keys),
            layer=LayerConnection(
                business_id=account.layer_business_id,
                client_id=SecretStr(LAYER_CLIENT_ID),
                client_secret=SecretStr(LAYER_CLIENT_SECRET),
                base_url=f"{base}/layer",
                token_url=f"{base}/layer-auth/oauth2/token",
                token_scope=SANDBOX_SCOPE,
                webhook_secret=SecretStr(LAYER_WEBHOOK_SECRET),
            ),
            codat=CodatConnection(
                company_id=account.codat_company_id,
                api_key=SecretStr(CODAT_API_KEY),
                base_url=f"{base}/codat",
                webhook_secret=SecretStr(CODAT_WEBHOOK_SECRET),
            ),
            lago=LagoConnection(
                api_key=SecretStr(account.lago_api_key),
                base_url=f"{base}/lago/api/v1",
                organization_id=account.lago_organization_id,
                webhook_hmac_key=SecretStr(LAGO_WEBHOOK_HMAC_KEY),
            ),
        )


__all__ = ["ACCOUNTS", "DEMO_ACCOUNT", "SECOND_ACCOUNT", "Sandbox", "SandboxAccount"]
