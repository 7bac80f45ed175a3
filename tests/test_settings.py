from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings.load import load_settings

CONFIG = """
mode = "production"
port = 9000
cursor_key = "${CURSOR_KEY}"

[[tenants]]
id = "acme"
api_keys = ["${ACME_GATEWAY_KEY}"]

[tenants.layer]
business_id = "b-1"
client_id = "${LAYER_CLIENT_ID}"
client_secret = "${LAYER_CLIENT_SECRET}"

[tenants.codat]
company_id = "c-1"
api_key = "${CODAT_API_KEY}"

[tenants.lago]
base_url = "https://api.eu.getlago.com/api/v1"
api_key = "${LAGO_API_KEY}"
organization_id = "acme-eu"
"""
ENV = {
    "ACME_GATEWAY_KEY": "gw-secret-1",
    "LAYER_CLIENT_ID": "layer-id",
    "LAYER_CLIENT_SECRET": "layer-secret-2",
    "CODAT_API_KEY": "codat-secret-3",
    "LAGO_API_KEY": "lago-secret-4",
    "CURSOR_KEY": "cursor-secret-5",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_toml_and_resolves_secrets_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG), ENV)
    assert settings.mode == "production"
    assert settings.port == 9000
    assert not settings.uses_sandbox
    assert not settings.graphiql_enabled
    (tenant,) = settings.tenants
    assert tenant.api_keys[0].get_secret_value() == "gw-secret-1"
    assert tenant.layer
    assert tenant.layer.client_secret.get_secret_value() == "layer-secret-2"
    assert tenant.layer.base_url == "https://sandbox.layerfi.com"
    assert tenant.codat
    assert tenant.codat.api_key.get_secret_value() == "codat-secret-3"
    assert tenant.lago
    assert tenant.lago.organization_id == "acme-eu"
    # Secrets never show in a repr, so never in a log line that prints settings.
    for secret in ENV.values():
        if "secret" in secret:
            assert secret not in repr(settings)
            assert secret not in str(settings)


def test_a_literal_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    text = CONFIG.replace('"${CODAT_API_KEY}"', '"codat-literal-key"')
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), ENV)
    assert "tenants.0.codat.api_key: holds a literal secret" in str(caught.value)
    assert "codat-literal-key" not in str(caught.value)


def test_a_missing_variable_is_named_not_guessed(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "LAGO_API_KEY"}
    with pytest.raises(
        ConfigError, match=r"tenants\.0\.lago\.api_key: refers to \$\{LAGO_API_KEY\}"
    ):
        load_settings(write(tmp_path, CONFIG), env)


def test_invalid_values_are_reported_without_their_input(tmp_path: Path) -> None:
    text = CONFIG.replace('id = "acme"', 'id = "acme corp!"').replace(
        'organization_id = "acme-eu"', 'organization_id = "acme-eu"\nsurprise = 1'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), ENV)
    message = str(caught.value)
    assert "tenants.0.id" in message
    assert "surprise" in message
    assert "lago-secret-4" not in message


def test_environment_overrides_plain_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_LIMITS__MAX_PAGE_SIZE", "250")
    settings = load_settings(None, {})
    assert settings.limits.max_page_size == 250
    assert settings.uses_sandbox
    assert settings.graphiql_enabled


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"gateway.toml: not valid TOML: .*\(at line 1, column 9\)"
    ):
        load_settings(write(tmp_path, "mode = [unclosed"), ENV)


def test_production_with_tenants_needs_a_cursor_key(tmp_path: Path) -> None:
    """Without one, each process signs cursors with its own random key, so instances behind
    one endpoint would refuse each other's cursors: production says so at start-up."""
    text = CONFIG.replace('cursor_key = "${CURSOR_KEY}"\n', "")
    with pytest.raises(ConfigError, match="cursor_key is required in production"):
        load_settings(write(tmp_path, text), ENV)
    development = text.replace('mode = "production"', 'mode = "development"')
    assert load_settings(write(tmp_path, development), ENV).cursor_key is None


def test_the_cursor_key_is_a_secret(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONFIG), ENV)
    assert settings.cursor_key is not None
    assert settings.cursor_key.get_secret_value() == "cursor-secret-5"
    assert "cursor-secret-5" not in repr(settings)
    literal = CONFIG.replace('"${CURSOR_KEY}"', '"cursor-literal"')
    with pytest.raises(ConfigError, match="cursor_key: holds a literal secret"):
        load_settings(write(tmp_path, literal), ENV)


def test_a_port_outside_tcp_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("port = 83876\n")
    with pytest.raises(ConfigError, match="port: must be less than or equal to 65535"):
        load_settings(config, {})


def test_a_misspelt_nested_environment_variable_is_refused_with_the_valid_keys() -> None:
    """`GATEWAY_LIMITS__MAX_PAGESIZE` used to be ignored without a word, so the limit an
    operator meant to raise stayed where it was. A variable naming a section of ours is
    checked like the file's keys; one without `__` may be anyone's (`${GATEWAY_KEY}`)."""
    from gateway.settings.problems import InvalidSettings

    env = {
        "GATEWAY_LIMITS__MAX_PAGESIZE": "250",
        "GATEWAY_CACHE__URL_": "redis://x",
        "GATEWAY_LIMITS__LAGO__CONCURENCY": "3",
        # Fine: settings, provider tables, and variables of the operator's own.
        "GATEWAY_LIMITS__MAX_PAGE_SIZE": "250",
        "GATEWAY_LIMITS__LAGO__CONCURRENCY": "3",
        "GATEWAY_KEY": "a-secret-a-file-refers-to",
        "GATEWAY_SOMETHING__ELSE": "not a section of ours",
    }
    with pytest.raises(InvalidSettings) as raised:
        load_settings(None, env)
    problems = {p.where: p.message for p in raised.value.problems}
    assert set(problems) == {
        "GATEWAY_LIMITS__MAX_PAGESIZE",
        "GATEWAY_CACHE__URL_",
        "GATEWAY_LIMITS__LAGO__CONCURENCY",
    }
    assert "max_page_size" in problems["GATEWAY_LIMITS__MAX_PAGESIZE"]
    assert "concurrency" in problems["GATEWAY_LIMITS__LAGO__CONCURENCY"]
    # Values never appear in a problem: they may be secrets.
    assert "redis://x" not in str(raised.value)
    fine = ("GATEWAY_LIMITS__MAX_PAGE_SIZE", "GATEWAY_LIMITS__LAGO__CONCURRENCY", "GATEWAY_KEY")
    load_settings(None, {name: env[name] for name in (*fine, "GATEWAY_SOMETHING__ELSE")})
