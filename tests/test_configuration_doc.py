"""docs/configuration.md against the settings models: every setting (Settings and its tables,
each registered provider's connection model) has a row, every row names a setting that exists,
and each row's default and secrecy are the model's. The doc is compared, never regenerated."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from gateway.providers.registry import default_connectors
from gateway.settings.model import Settings, WithProviderTables

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
HEADER = "| key | type | default | meaning |"


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings table a field holds (alone, optional, in an array or by name), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, tuple, Mapping, dict):
        for arg in get_args(annotation):
            found = model_in(arg)
            if found is not None:
                return found
    return None


def settings_fields(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo]]:
    for name, field in model.model_fields.items():
        table = model_in(field.annotation)
        if table is None:
            yield prefix + name, field
            continue
        # `[limits.lago]` is held as `limits.providers`, written `limits.<provider>`.
        written = "<provider>" if issubclass(model, WithProviderTables) else name
        yield from settings_fields(table, f"{prefix}{written}.")


def model_rows() -> dict[str, FieldInfo]:
    rows = dict(settings_fields(Settings, ""))
    for connector in default_connectors():
        rows.update(settings_fields(connector.connection, f"tenants.{connector.provider.key}."))
    return rows


def doc_rows() -> dict[str, tuple[str, str]]:
    """Each options table's rows: key to (type, default) cells."""
    rows: dict[str, tuple[str, str]] = {}
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line == HEADER:
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
        if in_table and not line.startswith("| ---"):
            key, kind, default, *_ = (cell.strip() for cell in line.strip("|").split(" | "))
            name = re.fullmatch(r"`([\w.<>]+)`", key)
            assert name, f"not a setting's name: {line}"
            assert name[1] not in rows, f"{key} is documented twice"
            rows[name[1]] = (kind, default)
    return rows


def written(field: FieldInfo) -> str:
    """A default as the doc writes it."""
    if field.is_required():
        return "required"
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{json.dumps(value)}`"
    if isinstance(value, tuple | Mapping) and not value:
        return "`[]`" if isinstance(value, tuple) else "`{}`"
    return f"`{value!r}`"


def holds_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(holds_secret(a) for a in get_args(annotation))


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    models, documented = set(model_rows()), set(doc_rows())
    assert not models - documented, f"undocumented in {DOC.name}: {sorted(models - documented)}"
    assert not documented - models, f"no longer settings: {sorted(documented - models)}"


def test_the_token_url_and_the_auth_tables_are_there() -> None:
    rows = doc_rows()
    assert "tenants.layer.token_url" in rows
    assert {"auth.jwt.jwks_url", "auth.field_scopes", "limits.<provider>.concurrency"} <= set(rows)
    assert "cache.<provider>.ttl_seconds" in rows


@pytest.mark.parametrize("key", sorted(model_rows()))
def test_each_row_says_the_models_default_and_secrecy(key: str) -> None:
    field = model_rows()[key]
    kind, default = doc_rows()[key]
    if not key.startswith("limits.<provider>."):  # those default to the connector's own
        assert default == written(field)
    assert ("secret" in kind) == holds_secret(field.annotation), kind
