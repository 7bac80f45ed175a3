"""Settings: the model (gateway/settings/model.py), re-exported here, and the loader
(gateway/settings/load.py), which knows the provider registry and so is imported on its own."""

from gateway.settings.model import (
    CachePolicySettings,
    CacheSettings,
    LimitSettings,
    PersistedSettings,
    ProviderLimits,
    ResilienceSettings,
    Section,
    Settings,
    TenantSettings,
    WebhookSettings,
)

__all__ = [
    "CachePolicySettings",
    "CacheSettings",
    "LimitSettings",
    "PersistedSettings",
    "ProviderLimits",
    "ResilienceSettings",
    "Section",
    "Settings",
    "TenantSettings",
    "WebhookSettings",
]
