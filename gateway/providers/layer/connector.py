"""Layer, as the registry sees it."""

from __future__ import annotations

from gateway.providers.base import CustomerSource, Policy
from gateway.providers.layer import LAYER
from gateway.providers.layer.auth import LayerTokens
from gateway.providers.layer.client import LayerSource
from gateway.providers.layer.connection import LayerConnection
from gateway.providers.layer.details import LayerDetails
from gateway.providers.layer.webhook import LayerWebhooks
from gateway.providers.upstream import Upstream
from gateway.settings.model import ProviderLimits


class LayerConnector:
    provider = LAYER
    connection = LayerConnection
    details = LayerDetails
    # One OAuth client reaches every business of the platform.
    account_field = "business_id"
    # Layer allows 100 requests a second (sandbox), 500 (production), per client.
    policy = Policy(limits=ProviderLimits(concurrency=20, requests_per_second=90))
    webhook = LayerWebhooks()

    def __init__(self) -> None:
        # One app's tokens, shared by every tenant connecting with the same OAuth client.
        self._tokens = LayerTokens()

    def account(self, connection: LayerConnection) -> str:
        return connection.business_id

    def credential(self, connection: LayerConnection) -> str:
        return connection.client_id.get_secret_value()

    def source(self, connection: LayerConnection, upstream: Upstream) -> CustomerSource:
        return LayerSource(upstream, connection, self._tokens)


__all__ = ["LayerConnector"]
