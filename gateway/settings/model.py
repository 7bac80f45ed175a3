"""The settings model: one immutable `Settings`, built once and passed down.

Provider-specific tables (`[tenants.<provider>]`, `[limits.<provider>]`, `[cache.<provider>]`)
are keyed by the provider's name: a tenant's connection is the connector's own model
(gateway/providers/<name>/connection.py, validated by gateway/settings/load.py), while limits
and cache policies are the same shape for every provider and only override what the
connector's defaults say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Section(BaseModel):
    """A settings table: unknown keys are errors, and nothing changes once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Bounds that keep a `customers` cursor, which holds a position per account, within
# gateway/cursor.py's MAX_CURSOR_LENGTH: accounts a tenant connects in all, and the length of
# an account's id (as a connector names it: business, company, organisation label).
MAX_CONNECTIONS_PER_TENANT = 12
MAX_ACCOUNT_LENGTH = 128
# The kinds of evidence `Customer.sameAs` knows (gateway/domain/links.py's LinkEvidence).
LinkEvidenceName = Literal["EXPLICIT_ID", "TAX_ID", "REGISTRATION_NUMBER", "EMAIL"]


class TenantSettings(Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    api_keys: tuple[SecretStr, ...] = ()
    # Only the built-in sandbox tenant is reachable without a key.
    allow_anonymous: bool = False
    # Honour `X-Gateway-Trace: upstream` for this tenant in production mode.
    allow_trace: bool = False
    # Requests a second this tenant may make (a token bucket of `burst`); default: limits'.
    requests_per_second: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    # The scopes this tenant's API keys hold for `[auth.field_scopes]`; None: every scope
    # (API keys are the servers' own, trusted with every field unless narrowed here).
    api_key_scopes: tuple[str, ...] | None = None
    # Provider connections whose accounts come from each caller's token: written as the
    # provider's table with `accounts = "from_claims"` and no account id (gateway/settings/
    # load.py moves it here); only providers whose credential reaches many accounts.
    from_claims: Mapping[str, Section] = {}
    # What `Customer.sameAs` may take as evidence that two records are one customer
    # (docs/links.md); an empty list switches links off, and their reads with them.
    link_evidence: tuple[LinkEvidenceName, ...] = (
        "EXPLICIT_ID",
        "TAX_ID",
        "REGISTRATION_NUMBER",
        "EMAIL",
    )
    # Every other key is a provider's connection, e.g. `[tenants.lago]`, or several, e.g.
    # `[[tenants.lago]]` (a tuple, one per account): the connector's own model, never a raw
    # table (gateway/settings/load.py validates those).
    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="after")
    def _other_keys_are_connections(self) -> TenantSettings:
        for key, value in (self.model_extra or {}).items():
            tables = value if isinstance(value, tuple) else (value,)
            if not tables or not all(isinstance(t, Section) for t in tables):
                raise ValueError(
                    f"{key}: not a provider connection (provider tables are validated by their "
                    "connectors: gateway.settings.load)"
                )
        return self

    @property
    def connections(self) -> Mapping[str, tuple[Section, ...]]:
        """The tenant's provider connections by provider key ("layer", ...), each provider's
        in the order written: one table is a tuple of one."""
        return {
            key: value if isinstance(value, tuple) else (value,)
            for key, value in (self.model_extra or {}).items()
        }


class ProviderLimits(Section):
    """How hard one gateway process may press one provider credential. In settings, only
    the keys written override the connector's defaults (`overridden`)."""

    concurrency: int = Field(default=10, ge=1)
    requests_per_second: float | None = Field(default=None, gt=0)


def provider_tables(model: type[BaseModel], data: Any) -> Any:
    """Moves the keys `model` does not define into its `providers` table, so
    `[limits.lago]` reads as `limits.providers["lago"]`."""
    if not isinstance(data, Mapping):
        return data
    own = {k: v for k, v in data.items() if k in model.model_fields}
    tables = {k: v for k, v in data.items() if k not in model.model_fields}
    if tables:
        own["providers"] = {**own.get("providers", {}), **tables}
    return own


SectionT = TypeVar("SectionT", bound=BaseModel)


class WithProviderTables(Section):
    """A section whose keys it does not define are per-provider tables (`providers`)."""

    @model_validator(mode="before")
    @classmethod
    def _provider_tables(cls, data: Any) -> Any:
        return provider_tables(cls, data)


def overridden(defaults: SectionT, override: SectionT | None) -> SectionT:
    """`defaults` with the keys `override` was given (not its own defaults) replaced."""
    if override is None:
        return defaults
    return defaults.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})


class LimitSettings(WithProviderTables):
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
    # Live updates (docs/live.md): open subscriptions per tenant, on this instance, and the
    # changes one may fall behind by before it is closed as too slow.
    max_subscribers_per_tenant: int = Field(default=100, ge=1)
    subscriber_queue: int = Field(default=64, ge=1)
    # `[limits.<provider>]`: overrides of the connector's own limits, which sit below each
    # provider's documented limits, leaving room for other clients of the key.
    providers: Mapping[str, ProviderLimits] = {}


class ResilienceSettings(Section):
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


class CachePolicySettings(Section):
    ttl_seconds: float = Field(default=60, gt=0)
    stale_while_revalidate_seconds: float = Field(default=30, ge=0)
    stale_if_error_seconds: float = Field(default=600, ge=0)


class CacheSettings(WithProviderTables):
    # redis://host:port/db to share entries between processes; memory when absent.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url_is_a_redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        url = urlsplit(value)
        try:
            url.port  # noqa: B018 - parsing it is the check
            database = url.path.lstrip("/")
            valid = url.scheme in ("redis", "rediss") and (not database or database.isdigit())
        except ValueError:
            valid = False
        if not valid:
            raise ValueError("must be a redis://host:port/db or rediss:// URL")
        return value

    # Whole clean responses, served without executing the query (gateway/http/response_cache.py).
    responses: bool = True
    # Hits of persisted GETs answered ahead of routing, with no GraphQL work at all
    # (gateway/http/cached_gets.py); off: every request takes the full pipeline.
    response_fast_path: bool = True
    lock_lease_seconds: float = Field(default=2.0, gt=0)
    # Without `url`, the memory backend holds at most this much per tenant (upstream answers,
    # webhook receipts), least recently used out first. Per tenant, so a process holds up to
    # tenants x this: about a hundred full pages of 100 customers, or thousands of customers.
    memory_max_entries_per_tenant: int = Field(default=20_000, ge=10)
    memory_max_bytes_per_tenant: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    # Per tenant, the response cache evicts its least recently used answers past these.
    response_max_entries_per_tenant: int = Field(default=1_000, ge=1)
    response_max_bytes_per_tenant: int = Field(default=8 * 1024 * 1024, ge=1024)
    # `sameAs` keeps each account's index between requests (gateway/loaders/account_index.py):
    # read at start (and when a reload adds a tenant) rather than by the first request that
    # needs it; and at most this many customers kept over every tenant, least recently used
    # account out first.
    links_prewarm: bool = False
    links_max_records: int = Field(default=100_000, ge=0)
    # `[cache.<provider>]`: overrides of the connector's own cache policy.
    providers: Mapping[str, CachePolicySettings] = {}


class PersistedSettings(Section):
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


class PerformanceSettings(Section):
    """How the gateway trades generality for speed (docs/compiled.md)."""

    # Which operations the compiler handles run from a compiled plan instead of graphql-core's
    # executor, with byte-identical answers: "all" (free-form documents too, compiled on their
    # second sighting), "persisted" (persisted and trusted ones only), "off".
    compile: Literal["all", "persisted", "off"] = "all"


class WebhookSettings(Section):
    """Provider webhook deliveries: replay protection and deduplication."""

    # A signature whose timestamp is further than this from now is refused (replays).
    signature_tolerance_seconds: float = Field(default=300, gt=0)
    # Event ids remembered, so a redelivery inside this window is acknowledged, not applied.
    dedup_retention_seconds: float = Field(default=72 * 3600, gt=0)


class JwtSettings(Section):
    """`[auth.jwt]`: end-user tokens signed by the platform's identity provider."""

    jwks_url: str
    issuer: str
    audience: str
    # The claim that names the tenant id.
    tenant_claim: str = "tenant"
    # The claim listing the accounts the user may read: {"layer": [business ids], ...}.
    accounts_claim: str = "accounts"
    # Clock skew tolerated on `exp` and `nbf`.
    leeway_seconds: float = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _keys_come_over_https(self) -> JwtSettings:
        # Whoever can answer for the JWKS can sign any user in: plain HTTP only on loopback
        # (a sidecar, a test identity provider).
        url = urlsplit(self.jwks_url)
        loopback = url.hostname in ("127.0.0.1", "::1", "localhost")
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError("jwks_url must be an https:// URL (http:// only for a loopback host)")
        return self


class AuthSettings(Section):
    """How callers authenticate: tenant API keys (servers) and, with `[auth.jwt]`, end-user
    JWTs (frontends); what each field requires of them."""

    jwt: JwtSettings | None = None
    # `Type.field` (an interface's or a concrete type's) to the scopes it requires, all of
    # them: from a JWT's space-separated `scope` claim, or a tenant's `api_key_scopes`.
    field_scopes: Mapping[str, tuple[str, ...]] = {}
    # JWT callers may only run trusted (manifest) or registered persisted documents, while
    # API-key callers may still send documents.
    jwt_persisted_only: bool = False
    # Requests a second one JWT subject may make (a token bucket of `subject_burst`), on top
    # of its tenant's limit; None: only the tenant's limit.
    subject_requests_per_second: float | None = Field(default=None, gt=0)
    subject_burst: int = Field(default=20, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mode: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tenants: tuple[TenantSettings, ...] = ()
    limits: LimitSettings = LimitSettings()
    cache: CacheSettings = CacheSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    persisted: PersistedSettings = PersistedSettings()
    webhooks: WebhookSettings = WebhookSettings()
    performance: PerformanceSettings = PerformanceSettings()
    auth: AuthSettings = AuthSettings()
    # Signs `customers` cursors (HMAC-SHA256), so a client cannot forge a position or replay
    # another tenant's. Instances behind one endpoint need the same key; unset, each process
    # draws a random one (cursors then end with the process). From the environment only.
    cursor_key: SecretStr | None = None
    # GraphiQL: on in development, off in production unless switched on here.
    graphiql: bool | None = None
    # Introspection: on in development, off in production unless switched on here.
    introspection: bool | None = None
    # OpenTelemetry spans per request, loader batch, cache read and provider call, exported as
    # the standard OTEL_* variables say: OTLP over HTTP/protobuf by default
    # (OTEL_EXPORTER_OTLP_ENDPOINT), OTEL_TRACES_EXPORTER=console for stdout. Unless a tracer
    # provider is configured already (docs/observability.md).
    tracing: bool = False
    # Browser origins allowed to call the gateway (CORS), e.g. "https://app.example.com".
    cors_origins: tuple[str, ...] = ()
    # How often the settings file is checked for changes (tenants, API keys and `[auth]`
    # reload without a restart; so does SIGHUP: gateway/reload.py).
    reload_interval_seconds: float = Field(default=2.0, ge=0.1)
    # Log lines: JSON objects, or "console" lines for a person at a terminal.
    log_format: Literal["json", "console"] = "json"
    # On SIGTERM: how long in-flight requests may take to finish before they are cancelled.
    drain_seconds: int = Field(default=20, ge=0, le=3600)

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

    @model_validator(mode="after")
    def _tenants_and_keys_are_each_ones(self) -> Settings:
        # Caches, limits and webhooks are keyed by tenant id, and a key names one tenant:
        # two tenants under one id would read each other's cached customers.
        ids = [t.id for t in self.tenants]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"tenant ids must differ; given more than once: {', '.join(twice)}")
        keys = [k.get_secret_value() for t in self.tenants for k in t.api_keys]
        if len(keys) != len(set(keys)):
            raise ValueError("an API key is listed twice (each key names one tenant)")
        return self

    @model_validator(mode="after")
    def _jwt_persisted_only_needs_a_manifest(self) -> Settings:
        if self.auth.jwt_persisted_only and (
            self.persisted.manifest_path is None or self.persisted.mode == "off"
        ):
            raise ValueError(
                "auth.jwt_persisted_only lets JWT callers run trusted documents only: set "
                "persisted.manifest_path (and a persisted.mode other than off)"
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


__all__ = [
    "MAX_ACCOUNT_LENGTH",
    "MAX_CONNECTIONS_PER_TENANT",
    "AuthSettings",
    "CachePolicySettings",
    "CacheSettings",
    "JwtSettings",
    "LimitSettings",
    "LinkEvidenceName",
    "PerformanceSettings",
    "PersistedSettings",
    "ProviderLimits",
    "ResilienceSettings",
    "Section",
    "Settings",
    "TenantSettings",
    "WebhookSettings",
    "overridden",
    "provider_tables",
]
