"""The README's way in: `customer-gateway serve` on the sandbox over real loopback HTTP, and a
gateway configured like production, pointed at `customer-gateway sandbox`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox import (
    CODAT_API_KEY,
    DEMO_ACCOUNT,
    LAYER_CLIENT_ID,
    LAYER_CLIENT_SECRET,
)
from tests.services import free_port, gateway_process

pytestmark = pytest.mark.timeout(120)
QUERY = "{ customers(first: 9) { edges { node { provider displayName } } } }"


def test_serve_with_no_configuration_reads_all_three_providers() -> None:
    port = free_port()
    with gateway_process(["serve", "--port", str(port)], f"http://127.0.0.1:{port}/healthz"):
        response = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=30)
        playground = httpx.get(
            f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}, timeout=10
        )
    edges = response.json()["data"]["customers"]["edges"]
    assert {e["node"]["provider"] for e in edges} == {"LAYER", "CODAT", "LAGO"}
    assert "GraphiQL" in playground.text


def test_a_configured_gateway_reads_the_standalone_sandbox(tmp_path: Path) -> None:
    sandbox_port, gateway_port = free_port(), free_port()
    base = f"http://127.0.0.1:{sandbox_port}"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"""
[[tenants]]
id = "acme"
api_keys = ["${{ACME_KEY}}"]

[tenants.layer]
business_id = "{DEMO_ACCOUNT.layer_business_id}"
client_id = "${{LAYER_CLIENT_ID}}"
client_secret = "${{LAYER_CLIENT_SECRET}}"
base_url = "{base}/layer"
token_url = "{base}/layer-auth/oauth2/token"

[tenants.codat]
company_id = "{DEMO_ACCOUNT.codat_company_id}"
api_key = "${{CODAT_API_KEY}}"
base_url = "{base}/codat"

[tenants.lago]
api_key = "${{LAGO_API_KEY}}"
base_url = "{base}/lago/api/v1"
""",
        encoding="utf-8",
    )
    env = {
        "ACME_KEY": "acme-gateway-key",
        "LAYER_CLIENT_ID": LAYER_CLIENT_ID,
        "LAYER_CLIENT_SECRET": LAYER_CLIENT_SECRET,
        "CODAT_API_KEY": CODAT_API_KEY,
        "LAGO_API_KEY": DEMO_ACCOUNT.lago_api_key,
    }
    with (
        gateway_process(["sandbox", "--port", str(sandbox_port)], f"{base}/lago/api/v1/customers"),
        gateway_process(
            ["serve", "--port", str(gateway_port), "--config", str(config)],
            f"http://127.0.0.1:{gateway_port}/healthz",
            env,
            secrets=tuple(v for k, v in env.items() if k != "LAYER_CLIENT_ID"),
        ),
    ):
        url = f"http://127.0.0.1:{gateway_port}/graphql"
        anonymous = httpx.post(url, json={"query": QUERY}, timeout=30)
        keyed = httpx.post(
            url,
            json={"query": QUERY},
            headers={"authorization": "Bearer acme-gateway-key"},
            timeout=30,
        )
    assert anonymous.status_code == 401
    edges = keyed.json()["data"]["customers"]["edges"]
    assert {e["node"]["provider"] for e in edges} == {"LAYER", "CODAT", "LAGO"}


def test_serve_refuses_a_config_with_a_literal_secret(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[tenants]]\nid = "x"\n[tenants.lago]\napi_key = "super-secret-lago-key"\n',
        encoding="utf-8",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "literal secret" in result.stderr
    assert "super-secret-lago-key" not in result.stderr + result.stdout


def test_serve_with_a_sandbox_fault_and_the_admin_route() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--sandbox-fault", "lago=error:503"]
    with gateway_process(args, f"{base}/healthz"):
        faulty = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
        listed = httpx.get(f"{base}/_dev/sandbox/faults", timeout=10).json()
        cleared = httpx.post(
            f"{base}/_dev/sandbox/faults", json={"provider": "lago", "fault": None}, timeout=10
        ).json()
        healthy = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
        bad = httpx.post(
            f"{base}/_dev/sandbox/faults", json={"provider": "lago", "fault": "explode"}, timeout=10
        )
    assert faulty["errors"][0]["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "provider": "LAGO"}
    assert listed == {"lago": "error:503"}
    assert cleared == {}
    assert "errors" not in healthy
    assert bad.status_code == 400


def test_a_bad_fault_spec_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--sandbox-fault", "lago=explode"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown fault 'explode'" in result.stderr


def test_serve_with_two_workers() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gateway_process(["serve", "--port", str(port), "--workers", "2"], f"{base}/healthz"):
        bodies = [
            httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
            for _ in range(4)
        ]
    for body in bodies:
        assert {e["node"]["provider"] for e in body["data"]["customers"]["edges"]} == {
            "LAYER",
            "CODAT",
            "LAGO",
        }
