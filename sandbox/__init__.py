"""Simulators of the Layer, Codat and Lago APIs, mounted under one ASGI app.

Run it as its own process with `python -m sandbox` (see sandbox/cli.py), or in process: tests
hand the gateway an `httpx.ASGITransport(Sandbox().app)`.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from sandbox.accounts import (
    ACCOUNTS,
    CODAT_API_KEY,
    CODAT_WEBHOOK_SECRET,
    DEMO_ACCOUNT,
    DEMO_TENANT,
    LAGO_WEBHOOK_HMAC_KEY,
    LAYER_CLIENT_ID,
    LAYER_CLIENT_SECRET,
    LAYER_WEBHOOK_SECRET,
    SECOND_ACCOUNT,
    SandboxAccount,
    tenant_config,
)
from sandbox.admin import FAULTS_PATH, FaultAdmin
from sandbox.codat import CodatSimulator
from sandbox.faults import FaultInjector, Faults
from sandbox.lago import LagoSimulator
from sandbox.layer import LayerSimulator
from sandbox.ratelimit import Clock
from sandbox.seed import SandboxData, build_sandbox_data
from sandbox.seed.custom import CustomRecords
from sandbox.webhooks import WebhookEmitter


class Sandbox:
    """The three simulators over one seeded data set, and a switch for their faults.

    Usage: `sandbox = Sandbox()`; serve `sandbox.app`, then connect a tenant configured by
    `tenant_config("demo", base_url)`. Mount points: `/layer`, `/layer-auth`, `/codat`,
    `/lago/api/v1`; the fault switch is at `/_dev/faults` (sandbox/admin.py).
    """

    def __init__(
        self,
        data: SandboxData | None = None,
        clock: Clock = time.monotonic,
        faults: Faults | None = None,
        custom: CustomRecords | None = None,
    ) -> None:
        # `custom`: records of your own (sandbox/seed/custom.py), beside the demo account's.
        self.data = data or build_sandbox_data(
            [(a.layer_business_id, a.codat_company_id, a.lago_api_key) for a in ACCOUNTS],
            custom=custom,
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
                Route(FAULTS_PATH, FaultAdmin(self.faults).handle, methods=["GET", "POST"]),
                Mount("/layer-auth", app=FaultInjector(self.layer.auth_app, "layer", self.faults)),
                Mount("/layer", app=FaultInjector(self.layer.app, "layer", self.faults)),
                Mount("/codat", app=FaultInjector(self.codat.app, "codat", self.faults)),
                Mount("/lago/api/v1", app=FaultInjector(self.lago.app, "lago", self.faults)),
            ]
        )


__all__ = [
    "ACCOUNTS",
    "CODAT_API_KEY",
    "CODAT_WEBHOOK_SECRET",
    "DEMO_ACCOUNT",
    "DEMO_TENANT",
    "FAULTS_PATH",
    "LAGO_WEBHOOK_HMAC_KEY",
    "LAYER_CLIENT_ID",
    "LAYER_CLIENT_SECRET",
    "LAYER_WEBHOOK_SECRET",
    "SECOND_ACCOUNT",
    "Sandbox",
    "SandboxAccount",
    "tenant_config",
]
