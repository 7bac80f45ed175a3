"""Loading settings: a TOML file plus `GATEWAY_*` environment variables.

Secrets never sit in the file: a secret field must be written as `"${ENV_VAR}"`, read from
the environment when the settings load, or `"${file:/run/secrets/name}"`, read from that file
(an absolute path; surrounding whitespace dropped) each time the settings load, so a secret
mounted from a secret store rotates with a configuration reload. Every problem of a file is
found in one pass and raised together (`InvalidSettings.problems`), so a config is fixed in
one edit. Usage::

    settings = load_settings(Path("gateway.toml"))   # or load_settings(None) for the sandbox
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import SettingsError

from gateway.errors import ConfigError
from gateway.providers.registry import AnyConnector, Registry, default_connectors
from gateway.settings.model import (
    MAX_ACCOUNT_LENGTH,
    MAX_CONNECTIONS_PER_TENANT,
    Section,
    Settings,
    TenantSettings,
)
from gateway.settings.problems import (
    InvalidSettings,
    Location,
    Problem,
    dotted,
    first_per_place,
    tables,
    validation_problems,
    without_unknown_keys,
)

_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_FILE_REFERENCE = re.compile(r"^\$\{file:(/[^}]+)\}$")


def load_settings(
    path: Path | None,
    environ: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Settings:
    """Read `path` (TOML), resolve `${VAR}` references from `environ`, and validate, each
    tenant's provider tables by that provider's connection model in `registry`. Raises
    `InvalidSettings` listing every problem found."""
    env = os.environ if environ is None else environ
    registry = registry or Registry(default_connectors())
    data = _read(path) if path is not None else {}
    problems: list[Problem] = []
    _misspelt_variables(env, registry, problems)
    # Unknown keys first: what is inside a misspelt table is not looked at any further.
    known = without_unknown_keys(data, Settings, (), _connection_models(registry), problems)
    resolved = _resolve(known, env, (), "", _secret_keys(registry), problems)
    tenants = resolved.get("tenants")
    if isinstance(tenants, list):
        resolved["tenants"] = [
            _with_connections(t, registry, ("tenants", i), problems) for i, t in enumerate(tenants)
        ]
    settings = None
    try:
        settings = Settings(**resolved)
    except ValidationError as exc:
        problems.extend(validation_problems(exc))
    except SettingsError as exc:
        problems.append(_environment_problem(exc))
    persisted = resolved.get("persisted")
    manifest = (
        settings.persisted.manifest_path
        if settings is not None
        else persisted.get("manifest_path")
        if isinstance(persisted, dict)
        else None
    )
    if manifest is not None and isinstance(manifest, str | Path):
        problems.extend(_unreadable(Path(manifest), "persisted.manifest_path"))
    if settings is not None:
        try:
            registry.check(settings)
        except ConfigError as exc:
            problems.append(Problem("", exc.message))
    if problems or settings is None:
        raise InvalidSettings(first_per_place(problems), str(path) if path else "settings")
    return settings


def tenant_settings(data: Any, registry: Registry | None = None) -> TenantSettings:
    """One tenant's settings from plain data (no `${VAR}` references), its provider tables
    validated by their connectors' models."""
    registry = registry or Registry(default_connectors())
    problems: list[Problem] = []
    where = ("tenant",)
    data = without_unknown_keys(data, TenantSettings, where, _connection_models(registry), problems)
    tenant = _with_connections(data, registry, where, problems)
    validated = None
    try:
        validated = TenantSettings.model_validate(tenant)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, where))
    if problems or validated is None:
        raise InvalidSettings(first_per_place(problems), "tenant settings")
    return validated


def _read(path: Path) -> dict[str, Any]:
    """The file's TOML, or the one reason it cannot be read (nothing else can be checked)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "is a directory, not a settings file"
    except PermissionError:
        reason = "not readable (permission denied)"
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or exc})"
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    except tomllib.TOMLDecodeError as exc:
        # tomllib says where: "Invalid value (at line 3, column 9)".
        reason = f"not valid TOML: {exc}"
    raise InvalidSettings([Problem("", reason)], str(path))


def _misspelt_variables(
    env: Mapping[str, str], registry: Registry, problems: list[Problem]
) -> None:
    """`GATEWAY_<SECTION>__<KEY>` variables that name no setting, each refused as a misspelt
    key of the file is, with the valid keys (pydantic-settings would ignore them without a
    word). Only names whose first part is one of our sections: any other `GATEWAY_*` variable
    may be the operator's own, such as one a `${VAR}` reference reads."""
    connections = _connection_models(registry)
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith("GATEWAY_") or "__" not in upper:
            continue
        path = upper.removeprefix("GATEWAY_").lower().split("__")
        if path[0] not in Settings.model_fields:
            continue
        nested: Any = "set"
        for part in reversed(path):
            nested = {part: nested}
        found: list[Problem] = []
        without_unknown_keys(nested, Settings, (), connections, found)
        problems.extend(Problem(name, p.message) for p in found)


def _environment_problem(exc: SettingsError) -> Problem:
    """A `GATEWAY_*` variable pydantic-settings could not parse, named without its value."""
    field = re.search(r'field "(\w+)"', str(exc))
    variable = f"GATEWAY_{field[1].upper()}" if field else "a GATEWAY_* variable"
    return Problem(
        "", f"{variable} in the environment is not valid JSON (arrays and tables are JSON there)"
    )


def _unreadable(path: Path, where: str) -> list[Problem]:
    """A file the settings name that the gateway could not open at start-up."""
    if not path.exists():
        return [Problem(where, f"{path} does not exist")]
    if not path.is_file():
        return [Problem(where, f"{path} is not a file")]
    if not os.access(path, os.R_OK):
        return [Problem(where, f"{path} is not readable (permission denied)")]
    return []


def _connection_models(registry: Registry) -> dict[str, type[BaseModel]]:
    return {c.provider.key: c.connection for c in registry}


def _with_connections(
    tenant: Any, registry: Registry, where: Location, problems: list[Problem]
) -> Any:
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
            problems.append(
                Problem(dotted((*where, key)), f"no provider of that name is registered ({known})")
            )
            del validated[key]
            continue
        if isinstance(value, dict) and "accounts" in value:
            del validated[key]
            template = _claims_template(connector, value, (*where, key), problems)
            if template is not None:
                validated.setdefault("from_claims", {})[key] = template
            continue
        connections = _connections(connector, value, (*where, key), problems)
        if connections is None:
            del validated[key]
        else:
            validated[key] = connections
            count += len(connections) if isinstance(connections, tuple) else 1
    if count > MAX_CONNECTIONS_PER_TENANT:
        problems.append(
            Problem(
                dotted(where),
                f"{count} provider accounts connected; a tenant may connect at most "
                f"{MAX_CONNECTIONS_PER_TENANT} in all",
            )
        )
    return validated


def _connections(
    connector: AnyConnector, value: Any, where: Location, problems: list[Problem]
) -> Section | tuple[Section, ...] | None:
    """One table as the connector's model, or an array as a tuple of them; None if invalid."""
    tables = value if isinstance(value, list) else [value]
    if not tables:
        problems.append(Problem(dotted(where), "an array of connections needs at least one table"))
        return None
    valid: list[Section] = []
    first_by_account: dict[str, str] = {}
    for index, table in enumerate(tables):
        at = (*where, index) if isinstance(value, list) else where
        try:
            connection = connector.connection.model_validate(table)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, at))
            continue
        # Ids, cache keys and cursors name the account: two connections to one account would
        # be one stream read twice, under two credentials.
        account = connector.account(connection)
        if not 0 < len(account) <= MAX_ACCOUNT_LENGTH:
            problems.append(
                Problem(dotted(at), f"the account must be 1 to {MAX_ACCOUNT_LENGTH} characters")
            )
            continue
        if account in first_by_account:
            problems.append(
                Problem(
                    dotted(at),
                    f"account {account!r} is already connected by {first_by_account[account]}; "
                    "each account of a provider may be connected once",
                )
            )
            continue
        first_by_account[account] = dotted(at)
        valid.append(connection)
    if len(valid) != len(tables):
        return None
    return tuple(valid) if isinstance(value, list) else valid[0]


def _claims_template(
    connector: AnyConnector, table: dict[str, Any], where: Location, problems: list[Problem]
) -> Section | None:
    """`accounts = "from_claims"`: the connection without its account, which each caller's
    token names; only for a provider whose one credential reaches many accounts."""
    field = connector.account_field
    if table["accounts"] != "from_claims":
        problems.append(Problem(dotted((*where, "accounts")), 'the only value is "from_claims"'))
        return None
    if field is None:
        problems.append(
            Problem(
                dotted((*where, "accounts")),
                f"a {connector.provider.key} credential reads one account, so its accounts "
                "cannot come from tokens; connect each account in its own table",
            )
        )
        return None
    if field in table:
        problems.append(
            Problem(dotted((*where, field)), "leave it out: each caller's token names the account")
        )
        return None
    rest = {k: v for k, v in table.items() if k != "accounts"}
    try:
        # The template's account is a placeholder, replaced per claimed account.
        template: Section = connector.connection.model_validate({**rest, field: "from_claims"})
    except ValidationError as exc:
        problems.extend(validation_problems(exc, where))
        return None
    return template


def _secret_keys(registry: Registry) -> frozenset[str]:
    """The names of every secret field, of the settings and of each provider's connection:
    credentials, wherever they are kept, must be `${VAR}` references in a file."""
    models: list[type[BaseModel]] = [Settings, *(c.connection for c in registry)]
    names: set[str] = set()
    while models:
        model = models.pop()
        for name, field in model.model_fields.items():
            if _holds_secret(field.annotation):
                names.add(name)
            held = tables(field.annotation)
            if held is not None:
                models.append(held[1])
    return frozenset(names)


def _holds_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_holds_secret(a) for a in get_args(annotation))


def _resolve(
    value: Any,
    env: Mapping[str, str],
    trail: Location,
    key: str,
    secret_keys: frozenset[str],
    problems: list[Problem],
) -> Any:
    """`value` with each `${VAR}` replaced by the variable; a reference that is not set, or a
    secret written inline, is noted (never its value) and left as written."""
    if isinstance(value, dict):
        return {
            k: _resolve(v, env, (*trail, k), k, secret_keys, problems) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _resolve(v, env, (*trail, i), key, secret_keys, problems) for i, v in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    in_file = _FILE_REFERENCE.match(value)
    if in_file:
        return _read_secret_file(Path(in_file.group(1)), trail, problems)
    match = _ENV_REFERENCE.match(value)
    if match:
        name = match.group(1)
        if name not in env:
            problems.append(
                Problem(
                    dotted(trail), f"refers to ${{{name}}}, which is not set in the environment"
                )
            )
            return value
        return env[name]
    if key in secret_keys:
        problems.append(
            Problem(
                dotted(trail),
                'holds a literal secret; write it as "${ENV_VAR}" and set the variable in the '
                "environment",
            )
        )
    return value


def _read_secret_file(path: Path, trail: Location, problems: list[Problem]) -> str | None:
    """A `${file:...}` secret; a file that cannot be read is noted (never its content)."""
    try:
        # A secret file is small; the cap keeps a wrong path (a device, a log) from loading.
        with path.open("rb") as file:
            raw = file.read(65_537)
    except OSError as exc:
        problems.append(
            Problem(dotted(trail), f"refers to {path}, which cannot be read: {exc.strerror}")
        )
        return None
    if len(raw) > 65_536:
        problems.append(Problem(dotted(trail), f"refers to {path}, which is larger than 64 KiB"))
        return None
    try:
        return raw.decode().strip()
    except UnicodeDecodeError:
        problems.append(Problem(dotted(trail), f"refers to {path}, which is not UTF-8 text"))
        return None


__all__ = ["load_settings", "tenant_settings"]
