"""Several accounts of one provider in one tenant: `[[tenants.<provider>]]` arrays of tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings.load import load_settings, tenant_settings
from gateway.settings.problems import InvalidSettings
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, tenant_config

TWO_LAGO = """
[[tenants]]
id = "acme"

[tenants.codat]
company_id = "c-1"
api_key = "${CODAT_API_KEY}"

[[tenants.lago]]
api_key = "${LAGO_EU_KEY}"
organization_id = "acme-eu"

[[tenants.lago]]
api_key = "${LAGO_US_KEY}"
organization_id = "acme-us"
"""
ENV = {"CODAT_API_KEY": "codat-key", "LAGO_EU_KEY": "eu-key", "LAGO_US_KEY": "us-key"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_array_of_tables_connects_each_account_in_config_order(tmp_path: Path) -> None:
    (tenant,) = load_settings(write(tmp_path, TWO_LAGO), ENV).tenants
    lago = tenant.connections["lago"]
    assert [c.organization_id for c in lago] == ["acme-eu", "acme-us"]  # type: ignore[attr-defined]
    assert [c.api_key.get_secret_value() for c in lago] == ["eu-key", "us-key"]  # type: ignore[attr-defined]
    # A single table is still one connection, read as before.
    (codat,) = tenant.connections["codat"]
    assert codat is tenant.codat
    assert tenant.codat.company_id == "c-1"  # type: ignore[attr-defined]


def test_two_connections_to_one_account_are_refused_naming_both(tmp_path: Path) -> None:
    text = TWO_LAGO.replace('"acme-us"', '"acme-eu"')
    with pytest.raises(InvalidSettings) as raised:
        load_settings(write(tmp_path, text), ENV)
    assert [str(p) for p in raised.value.problems] == [
        "tenants.0.lago.1: account 'acme-eu' is already connected by "
        "tenants.0.lago.0; each account of a provider may be connected once"
    ]


def test_an_empty_array_is_refused(tmp_path: Path) -> None:
    text = '[[tenants]]\nid = "acme"\nlago = []\n'
    with pytest.raises(InvalidSettings) as raised:
        load_settings(write(tmp_path, text), ENV)
    assert [str(p) for p in raised.value.problems] == [
        "tenants.0.lago: an array of connections needs at least one table"
    ]


def test_each_table_of_an_array_is_validated_by_the_connector(tmp_path: Path) -> None:
    text = TWO_LAGO.replace('organization_id = "acme-us"', 'organization_id = "acme-us"\nnope = 1')
    with pytest.raises(InvalidSettings) as raised:
        load_settings(write(tmp_path, text), ENV)
    assert [str(p) for p in raised.value.problems] == [
        "tenants.0.lago.1.nope: unknown key 'nope'; valid: api_key, base_url, organization_id, "
        "webhook_hmac_key, webhook_organization_id"
    ]


def test_tenant_settings_takes_arrays_and_refuses_a_repeated_account() -> None:
    config = tenant_config("t", "http://sandbox.invalid", DEMO_ACCOUNT, SECOND_ACCOUNT)
    tenant = tenant_settings(config)
    assert {k: len(v) for k, v in tenant.connections.items()} == {"layer": 2, "codat": 2, "lago": 2}
    repeated = tenant_config("t", "http://sandbox.invalid", DEMO_ACCOUNT, DEMO_ACCOUNT)
    with pytest.raises(InvalidSettings) as raised:
        tenant_settings(repeated)
    # Every problem at once, in the order of their places.
    assert [str(p) for p in raised.value.problems] == [
        f"tenant.codat.1: account '{DEMO_ACCOUNT.codat_company_id}' is already connected by "
        "tenant.codat.0; each account of a provider may be connected once",
        f"tenant.lago.1: account '{DEMO_ACCOUNT.lago_organization_id}' is already connected by "
        "tenant.lago.0; each account of a provider may be connected once",
        f"tenant.layer.1: account '{DEMO_ACCOUNT.layer_business_id}' is already connected by "
        "tenant.layer.0; each account of a provider may be connected once",
    ]


def test_a_tenant_connects_at_most_twelve_accounts_in_all(tmp_path: Path) -> None:
    tables = "".join(
        f'\n[[tenants.lago]]\napi_key = "${{LAGO_EU_KEY}}"\norganization_id = "org-{i}"\n'
        for i in range(12)
    )
    with pytest.raises(InvalidSettings) as raised:
        load_settings(write(tmp_path, TWO_LAGO + tables), ENV)
    assert [str(p) for p in raised.value.problems] == [
        "tenants.0: 15 provider accounts connected; a tenant may connect at most 12 in all"
    ]


def test_an_account_id_longer_than_a_cursor_can_carry_is_refused(tmp_path: Path) -> None:
    text = TWO_LAGO.replace('"acme-us"', '"' + "u" * 129 + '"')
    with pytest.raises(InvalidSettings) as raised:
        load_settings(write(tmp_path, text), ENV)
    assert [str(p) for p in raised.value.problems] == [
        "tenants.0.lago.1: the account must be 1 to 128 characters"
    ]
