"""Lago, as the registry sees it."""

from __future__ import annotations

from gateway.providers.base import CustomerSource, Policy
from gateway.providers.lago import LAGO
from gateway.providers.lago.client import LagoSource, rate_limit_reset
from gateway.providers.lago.connection import LagoConnection
from gateway.providers.lago.details import LagoDetails
from gateway.providers.lago.webhook import LagoWebhooks
from gateway.providers.upstream import Upstream
from gateway.settings.model import ProviderLimits


class LagoConnector:
    provider = LAGO
    connection = LagoConnection
    details = LagoDetails
    # A Lago API key belongs to one organisation.
    account_field = None
    # Lago allows 50 requests a second per organisation.
    policy = Policy(
        limits=ProviderLimits(concurrency=10, requests_per_second=45),
        retry_after=rate_limit_reset,
    )
    webhook = LagoWebhooks()

    def account(self, connection: LagoConnection) -> str:
        return connection.organization_id

    def credential(self, connection: LagoConnection) -> str:
        return connection.api_key.get_secret_value()

    def source(self, connection: LagoConnection, upstream: Upstream) -> CustomerSource:
        return LagoSource(upstream, connection)


__all__ = ["LagoConnector"]
