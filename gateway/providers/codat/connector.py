"""Codat, as the registry sees it."""

from __future__ import annotations

from gateway.providers.base import CustomerSource, Policy
from gateway.providers.codat import CODAT
from gateway.providers.codat.client import CodatSource
from gateway.providers.codat.connection import CodatConnection
from gateway.providers.codat.details import CodatDetails
from gateway.providers.codat.webhook import CodatWebhooks
from gateway.providers.upstream import Upstream
from gateway.settings.model import CachePolicySettings, ProviderLimits


class CodatConnector:
    provider = CODAT
    connection = CodatConnection
    details = CodatDetails
    # One API key reaches every company of the Codat client.
    account_field = "company_id"
    policy = Policy(
        # Codat allows 10 concurrent requests per company.
        limits=ProviderLimits(concurrency=10),
        # Codat serves its own synced copy, refreshed at most as often as the company syncs.
        cache=CachePolicySettings(ttl_seconds=300),
    )
    webhook = CodatWebhooks()

    def account(self, connection: CodatConnection) -> str:
        return connection.company_id

    def credential(self, connection: CodatConnection) -> str:
        # Codat's concurrency limit is per company, not per key.
        return connection.company_id

    def source(self, connection: CodatConnection, upstream: Upstream) -> CustomerSource:
        return CodatSource(upstream, connection)


__all__ = ["CodatConnector"]
