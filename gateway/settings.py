"""Typed settings: a TOML file plus `GATEWAY_*` environment variables.

Secrets never sit in the file: a secret field must be written as `"${ENV_VAR}"` and is read from
the environment when the settings load. Usage::

    settings = load_settings(Path("gateway.toml"))   # or load_settings(None) for the sandbox
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigError

# Keys whose values are credentials: in a file they must be `${VAR}` references.
SECRET_KEYS = frozenset(
    {
        "api_key",
        "api_keys",
        "client_id",
        "client_secret",
        "webhook_secret",
        "webhook_hmac_key",
        "cursor_key",
    }
)
_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerConnection(_Section):
    business_id: str
    client_id: SecretStr
    client_secret: SecretStr
    base_url: str = "https://sandbox.layerfi.com"
    token_url: str = "https://auth.layerfi.com/oauth2/token"  # noqa: S105 - a URL, not a secret
    token_scope: str = "https://sandbox.layerfi.com/sandbox"  # noqa: S105
    # "whsec_…": verifies Layer's webhook deliveries (see docs/webhooks.md).
    webhook_secret: SecretStr | None = None


class CodatConnection(_Section):
    company_id: str
    api_key: SecretStr
    base_url: str = "https://api.codat.io"
    # "whsec_…" from the Codat portal: verifies read.completed deliveries.
    webhook_secret: SecretStr | None = None


class LagoConnection(_Section):
    api_key: SecretStr
    base_url: str = "https://api.getlago.com/api/v1"
    # Lago keys are organisation-scoped and its API never names the organisation; this label
    # goes into global ids and cache keys so two organisations of one tenant stay apart.
    organization_id: str = "default"
    # The organisation's HMAC key (Lago: Developers → Webhooks, signature "HMAC").
    webhook_hmac_key: SecretStr | None = None


class TenantSettings(_Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    api_keys: tuple[SecretStr, ...] = ()
    # Only the built-in sandbox tenant is reachable without a key.
    allow_anonymous: bool = False
    # Honour `X-Gateway-Trace: upstream` for this tenant in production mode.
    allow_trace: bool = False
    # Requests a second this tenant may make (a token bucket of `burst`); default: limits'.
    requests_per_second: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    layer: LayerConnection | None = None
    codat: CodatConnection | None = None
    lago: LagoConnection | None = None


class ProviderLimits(_Section):
    """How hard one gateway process may press one provider credential."""

    concurrency: int = Field(ge=1)
    requests_per_second: float | None = Field(default=None, gt=0)


class LimitSettings(_Section):
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_nodes: int = Field(default=100, ge=1)
    # The GraphQL edge: refused before parsing (characters), at parsing (tokens), at
    # validation (depth, aliases), or by the cost estimate (fields, provider calls).
    max_document_chars: int = Field(default=15_000, ge=100)
    max_tokens: int = Field(default=2_000, ge=100)
    max_depth: int = Field(default=8, ge=2)
    max_aliases: int = Field(default=15, ge=0)
    max_fields: int = Field(default=25_000, ge=100)
    max_upstream_calls: int = Field(default=120, ge=1)
    # Selections a document expands to once every fragment spread is counted where it is
    # spread: bounds the work of analysing and executing a document of nested fragments.
    max_selections: int = Field(default=5_000, ge=100)
    # Pages read from a provider for a filter it cannot apply upstream, before the page is
    # answered with what was found and a FILTER_SCAN_LIMIT error.
    max_filter_scan_pages: int = Field(default=5, ge=1)
    # Operation names that get their own metric series, per tenant (trusted and persisted
    # documents always do); later names are counted as "other".
    max_operation_labels: int = Field(default=50, ge=0)
    # Per-tenant request rate (None: unlimited unless a tenant sets its own).
    tenant_requests_per_second: float | None = Field(default=None, gt=0)
    tenant_burst: int = Field(default=50, ge=1)
    # Below each provider's documented limits, leaving room for other clients of the key.
    layer: ProviderLimits = ProviderLimits(concurrency=20, requests_per_second=90)
    codat: ProviderLimits = ProviderLimits(concurrency=10)
    lago: ProviderLimits = ProviderLimits(concurrency=10, requests_per_second=45)


class ResilienceSettings(_Section):
    """Timeouts, retries and the circuit breaker for provider calls."""

    # Everything a request does upstream must fit in this; a call gets what is left.
    request_deadline_seconds: float = Field(default=8.0, gt=0)
    call_timeout_seconds: float = Field(default=6.0, gt=0)
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    read_timeout_seconds: float = Field(default=5.0, gt=0)
    pool_timeout_seconds: float = Field(default=1.0, gt=0)
    # GETs only; on connection errors, timeouts, 5xx and 429.
    attempts: int = Field(default=3, ge=1)
    backoff_initial_seconds: float = Field(default=0.1, ge=0)
    backoff_max_seconds: float = Field(default=2.0, ge=0)
    retry_after_max_seconds: float = Field(default=2.0, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_pause_seconds: float = Field(default=30.0, gt=0)
    max_response_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)


class CachePolicySettings(_Section):
    ttl_seconds: float = Field(default=60, gt=0)
    stale_while_revalidate_seconds: float = Field(default=30, ge=0)
    stale_if_error_seconds: float = Field(default=600, ge=0)


class CacheSettings(_Section):
    # redis://host:port/db to share entries between processes; memory when absent.
    url: str | None = None
    # Whole clean responses, served without executing the query (gateway/response_cache.py).
    responses: bool = True
    lock_lease_seconds: float = Field(default=2.0, gt=0)
    # Without `url`, the memory backend holds at most this much per tenant (upstream answers,
    # webhook receipts), least recently used out first. Per tenant, so a process holds up to
    # tenants x this: about a hundred full pages of 100 customers, or thousands of customers.
    memory_max_entries_per_tenant: int = Field(default=20_000, ge=10)
    memory_max_bytes_per_tenant: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    # Per tenant, the response cache evicts its least recently used answers past these.
    response_max_entries_per_tenant: int = Field(default=1_000, ge=1)
    response_max_bytes_per_tenant: int = Field(default=8 * 1024 * 1024, ge=1024)
    layer: CachePolicySettings = CachePolicySettings()
    # Codat serves its own synced copy, refreshed at most as often as the company syncs.
    codat: CachePolicySettings = CachePolicySettings(ttl_seconds=300)
    lago: CachePolicySettings = CachePolicySettings()


class PersistedSettings(_Section):
    """Persisted queries: Apollo APQ, and trusted documents from a manifest file."""

    # off: manifest ignored; allow: manifest and APQ, free-form queries too; require: only
    # manifest operations run. Unset: require in production when a manifest is configured,
    # allow in development with one, off without.
    mode: Literal["off", "allow", "require"] | None = None
    manifest_path: Path | None = None
    apq: bool = True
    apq_ttl_seconds: float = Field(default=86400, gt=0)
    # Per tenant, APQ registrations past these evict the least recently used.
    apq_max_entries_per_tenant: int = Field(default=1_000, ge=1)
    apq_max_bytes_per_tenant: int = Field(default=8 * 1024 * 1024, ge=1024)
    reload_interval_seconds: float = Field(default=1.0, gt=0)


class WebhookSettings(_Section):
    """Provider webhook deliveries: replay protection and deduplication."""

    # A signature whose timestamp is further than this from now is refused (replays).
    signature_tolerance_seconds: float = Field(default=300, gt=0)
    # Event ids remembered, so a redelivery inside this window is acknowledged, not applied.
    dedup_retention_seconds: float = Field(default=72 * 3600, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mode: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    tenants: tuple[TenantSettings, ...] = ()
    limits: LimitSettings = LimitSettings()
    cache: CacheSettings = CacheSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    persisted: PersistedSettings = PersistedSettings()
    webhooks: WebhookSettings = WebhookSettings()
    # Signs `customers` cursors (HMAC-SHA256), so a client cannot forge a position or replay
    # another tenant's. Instances behind one endpoint need the same key; unset, each process
    # draws a random one (cursors then end with the process). From the environment only.
    cursor_key: SecretStr | None = None
    # GraphiQL: on in development, off in production unless switched on here.
    graphiql: bool | None = None
    # Introspection: on in development, off in production unless switched on here.
    introspection: bool | None = None
    # OpenTelemetry spans per request, loader batch, cache read and provider call (to stdout,
    # unless a tracer provider is configured already).
    tracing: bool = False
    # Browser origins allowed to call the gateway (CORS), e.g. "https://app.example.com".
    cors_origins: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _production_signs_cursors_with_a_shared_key(self) -> Settings:
        # A random per-process key is fine for the sandbox and for development; instances of a
        # production deployment must accept each other's cursors.
        if self.mode == "production" and self.tenants and self.cursor_key is None:
            raise ValueError(
                "cursor_key is required in production: set GATEWAY_CURSOR_KEY (or "
                'cursor_key = "${VAR}") to the same random value on every instance'
            )
        return self

    @property
    def uses_sandbox(self) -> bool:
        """With no tenant configured the gateway serves the demo tenant on the sandbox."""
        return not self.tenants

    @property
    def persisted_mode(self) -> Literal["off", "allow", "require"]:
        configured = self.persisted.mode
        if configured is not None:
            return configured
        if self.persisted.manifest_path is None:
            return "off"
        return "require" if self.mode == "production" else "allow"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.mode == "development"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.mode == "development"


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (TOML), resolve `${VAR}` references from `environ`, and validate."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    resolved = _resolve(data, env, trail=())
    try:
        return Settings(**resolved)
    except ValidationError as exc:
        # pydantic never prints SecretStr values, and inputs are hidden below.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def _resolve(value: Any, env: Mapping[str, str], trail: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, env, (*trail, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env, trail) for v in value]
    if not isinstance(value, str):
        return value
    match = _ENV_REFERENCE.match(value)
    if match:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{'.'.join(trail)} refers to ${{{name}}}, which is not set")
        return env[name]
    if trail and trail[-1] in SECRET_KEYS:
        raise ConfigError(
            f'{".".join(trail)} holds a literal secret; write it as "${{ENV_VAR}}" '
            "and set the variable in the environment"
        )
    return value


__all__ = [
    "SECRET_KEYS",
    "CachePolicySettings",
    "CacheSettings",
    "CodatConnection",
    "LagoConnection",
    "LayerConnection",
    "LimitSettings",
    "PersistedSettings",
    "ProviderLimits",
    "ResilienceSettings",
    "Settings",
    "TenantSettings",
    "WebhookSettings",
    "load_settings",
]
