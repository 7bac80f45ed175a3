"""Loading settings: a TOML file plus `GATEWAY_*` environment variables.

Secrets never sit in the file: a secret field must be written as `"${ENV_VAR}"`, read from
the environment when the settings load, or `"${file:/run/secrets/name}"`, read from that file
(an absolute path; surrounding whitespace dropped) each time the settings load, so a secret
mounted from a secret store rotates with a configuration reload. Usage::

    settings = load_settings(Path("gateway.toml"))   # or load_settings(None) for the sandbox
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.errors import ConfigError
from gateway.providers.registry import AnyConnector, Registry, default_connectors
from gateway.settings.model import (
    MAX_ACCOUNT_LENGTH,
    MAX_CONNECTIONS_PER_TENANT,
    Section,
    Settings,
    TenantSettings,
)

# Keys whose values are credentials whatever table they sit in: in a file they must be
# `${VAR}` references (each provider's connection model adds its own secret fields).
SECRET_KEYS = frozenset({"api_keys", "cursor_key"})
_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_FILE_REFERENCE = re.compile(r"^\$\{file:(/[^}]+)\}$")


def load_settings(
    path: Path | None,
    environ: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Settings:
    """Read `path` (TOML), resolve `${VAR}` references from `environ`, and validate, each
    tenant's provider tables by that provider's connection model in `registry`."""
    env = os.environ if environ is None else environ
    registry = registry or Registry(default_connectors())
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    resolved = _resolve(data, env, trail=(), secret_keys=SECRET_KEYS | _secret_keys(registry))
    problems: list[str] = []
    tenants = resolved.get("tenants")
    if isinstance(tenants, list):
        resolved["tenants"] = [
            _with_connections(t, registry, f"tenants.{i}", problems) for i, t in enumerate(tenants)
        ]
    settings = None
    try:
        settings = Settings(**resolved)
    except ValidationError as exc:
        problems.append(_problems(exc))
    if problems or settings is None:
        # Every problem at once, so a config is fixed in one pass.
        raise ConfigError(f"invalid settings: {'; '.join(problems)}")
    registry.check(settings)
    return settings


def tenant_settings(data: Any, registry: Registry | None = None) -> TenantSettings:
    """One tenant's settings from plain data (no `${VAR}` references), its provider tables
    validated by their connectors' models."""
    problems: list[str] = []
    tenant = _with_connections(data, registry or Registry(default_connectors()), "tenant", problems)
    validated = None
    try:
        validated = TenantSettings.model_validate(tenant)
    except ValidationError as exc:
        problems.append(_problems(exc, "tenant"))
    if problems or validated is None:
        raise ConfigError(f"invalid tenant settings: {'; '.join(problems)}")
    return validated


def _with_connections(tenant: Any, registry: Registry, where: str, problems: list[str]) -> Any:
    """The tenant's provider tables as their connectors' models (an invalid one is left out,
    its problems noted); other keys as they are. `[tenants.lago]` stays one model,
    `[[tenants.lago]]` becomes a tuple of them, one account each."""
    if not isinstance(tenant, dict):
        return tenant
    validated = dict(tenant)
    count = 0
    for key, value in tenant.items():
        if key in TenantSettings.model_fields:
            continue
        connector = registry.by_key(key)
        if connector is None:
            known = ", ".join(c.provider.key for c in registry)
            problems.append(f"{where}.{key}: no provider of that name is registered ({known})")
            del validated[key]
            continue
        if isinstance(value, dict) and "accounts" in value:
            del validated[key]
            template = _claims_template(connector, value, f"{where}.{key}", problems)
            if template is not None:
                validated.setdefault("from_claims", {})[key] = template
            continue
        connections = _connections(connector, value, f"{where}.{key}", problems)
        if connections is None:
            del validated[key]
        else:
            validated[key] = connections
            count += len(connections) if isinstance(connections, tuple) else 1
    if count > MAX_CONNECTIONS_PER_TENANT:
        problems.append(
            f"{where}: {count} provider accounts connected; a tenant may connect at most "
            f"{MAX_CONNECTIONS_PER_TENANT} in all"
        )
    return validated


def _connections(
    connector: AnyConnector, value: Any, where: str, problems: list[str]
) -> Section | tuple[Section, ...] | None:
    """One table as the connector's model, or an array as a tuple of them; None if invalid."""
    tables = value if isinstance(value, list) else [value]
    if not tables:
        problems.append(f"{where}: an array of connections needs at least one table")
        return None
    valid: list[Section] = []
    first_by_account: dict[str, str] = {}
    for index, table in enumerate(tables):
        at = f"{where}.{index}" if isinstance(value, list) else where
        try:
            connection = connector.connection.model_validate(table)
        except ValidationError as exc:
            problems.append(_problems(exc, at))
            continue
        # Ids, cache keys and cursors name the account: two connections to one account would
        # be one stream read twice, under two credentials.
        account = connector.account(connection)
        if not 0 < len(account) <= MAX_ACCOUNT_LENGTH:
            problems.append(f"{at}: the account must be 1 to {MAX_ACCOUNT_LENGTH} characters")
            continue
        if account in first_by_account:
            problems.append(
                f"{at}: account {account!r} is already connected by {first_by_account[account]}; "
                "each account of a provider may be connected once"
            )
            continue
        first_by_account[account] = at
        valid.append(connection)
    if len(valid) != len(tables):
        return None
    return tuple(valid) if isinstance(value, list) else valid[0]


def _claims_template(
    connector: AnyConnector, table: dict[str, Any], where: str, problems: list[str]
) -> Section | None:
    """`accounts = "from_claims"`: the connection without its account, which each caller's
    token names; only for a provider whose one credential reaches many accounts."""
    field = connector.account_field
    if table["accounts"] != "from_claims":
        problems.append(f'{where}.accounts: the only value is "from_claims"')
        return None
    if field is None:
        problems.append(
            f"{where}.accounts: a {connector.provider.key} credential reads one account, so its "
            "accounts cannot come from tokens; connect each account in its own table"
        )
        return None
    if field in table:
        problems.append(f"{where}.{field}: leave it out: each caller's token names the account")
        return None
    rest = {k: v for k, v in table.items() if k != "accounts"}
    try:
        # The template's account is a placeholder, replaced per claimed account.
        template: Section = connector.connection.model_validate({**rest, field: "from_claims"})
    except ValidationError as exc:
        problems.append(_problems(exc, where))
        return None
    return template


def _problems(exc: ValidationError, prefix: str = "") -> str:
    # pydantic never prints SecretStr values, and inputs are left out here.
    return "; ".join(
        ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(e["loc"])) + f": {e['msg']}"
        for e in exc.errors()
    )


def _secret_keys(registry: Registry) -> frozenset[str]:
    """Every connection model's secret fields: credentials, wherever a provider keeps them."""
    return frozenset(
        name
        for connector in registry
        for name, field in connector.connection.model_fields.items()
        if "SecretStr" in str(field.annotation)
    )


def _resolve(
    value: Any, env: Mapping[str, str], trail: tuple[str, ...], secret_keys: frozenset[str]
) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, env, (*trail, k), secret_keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, env, trail, secret_keys) for v in value]
    if not isinstance(value, str):
        return value
    in_file = _FILE_REFERENCE.match(value)
    if in_file:
        return _read_secret_file(Path(in_file.group(1)), trail)
    match = _ENV_REFERENCE.match(value)
    if match:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{'.'.join(trail)} refers to ${{{name}}}, which is not set")
        return env[name]
    if trail and trail[-1] in secret_keys:
        raise ConfigError(
            f'{".".join(trail)} holds a literal secret; write it as "${{ENV_VAR}}" '
            "and set the variable in the environment"
        )
    return value


def _read_secret_file(path: Path, trail: tuple[str, ...]) -> str:
    try:
        # A secret file is small; the cap keeps a wrong path (a device, a log) from loading.
        with path.open("rb") as file:
            raw = file.read(65_537)
    except OSError as exc:
        raise ConfigError(
            f"{'.'.join(trail)} refers to {path}, which cannot be read: {exc.strerror}"
        ) from None
    if len(raw) > 65_536:
        raise ConfigError(f"{'.'.join(trail)} refers to {path}, which is larger than 64 KiB")
    try:
        return raw.decode().strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{'.'.join(trail)} refers to {path}, which is not UTF-8 text") from None


__all__ = ["SECRET_KEYS", "load_settings", "tenant_settings"]
