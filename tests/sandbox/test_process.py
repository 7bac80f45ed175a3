"""`python -m sandbox`: its own process, its announcement, its fault switch, its signals."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings.load import tenant_settings
from sandbox import (
    CODAT_API_KEY,
    DEMO_ACCOUNT,
    FAULTS_PATH,
    LAYER_CLIENT_SECRET,
    Sandbox,
    tenant_config,
)

pytestmark = pytest.mark.timeout(60)


@contextlib.contextmanager
def announced_sandbox(
    tmp_path: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    """`python -m sandbox --port 0 --announce FILE ARGS`, its output in tmp_path/sandbox.log."""
    announce = tmp_path / "sandbox.json"
    with (tmp_path / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "sandbox", "--port", "0", "--announce", str(announce), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not announce.exists():
            assert process.poll() is None, (tmp_path / "sandbox.log").read_text()
            assert time.monotonic() < deadline, "the sandbox did not announce itself"
            time.sleep(0.05)
        yield process, json.loads(announce.read_text(encoding="utf-8"))
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def test_the_announcement_is_a_tenant_the_gateway_accepts(tmp_path: Path) -> None:
    with announced_sandbox(tmp_path) as (process, announced):
        base_url = announced["base_url"]
        tenant = tenant_settings(announced["tenant"])
        # Listening by the time it is announced.
        customers = httpx.get(
            f"{base_url}/lago/api/v1/customers",
            headers={"authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"},
            timeout=10,
        )
        mode = (tmp_path / "sandbox.json").stat().st_mode & 0o777
    output = (tmp_path / "sandbox.log").read_text(encoding="utf-8")
    assert process.returncode in (0, -signal.SIGTERM)
    assert customers.status_code == 200
    assert tenant.id == "demo"
    assert tenant.allow_anonymous
    assert tenant.lago is not None
    assert tenant.lago.base_url == f"{base_url}/lago/api/v1"
    assert mode == 0o600
    # Started to be announced, it prints where it is but none of the credentials.
    assert f"serving on {base_url}" in output
    for secret in (LAYER_CLIENT_SECRET, CODAT_API_KEY, DEMO_ACCOUNT.lago_api_key):
        assert secret not in output


def test_faults_set_at_start_and_switched_at_run_time(tmp_path: Path) -> None:
    with announced_sandbox(tmp_path, "--fault", "lago=error:503") as (_process, announced):
        base_url = announced["base_url"]
        lago = f"{base_url}/lago/api/v1/customers"
        auth = {"authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"}
        faulty = httpx.get(lago, headers=auth, timeout=10)
        listed = httpx.get(f"{base_url}{FAULTS_PATH}", timeout=10).json()
        cleared = httpx.post(
            f"{base_url}{FAULTS_PATH}", json={"provider": "lago", "fault": None}, timeout=10
        ).json()
        healthy = httpx.get(lago, headers=auth, timeout=10)
        bad = httpx.post(
            f"{base_url}{FAULTS_PATH}", json={"provider": "lago", "fault": "explode"}, timeout=10
        )
    assert faulty.status_code == 503
    assert listed == {"lago": "error:503"}
    assert cleared == {}
    assert healthy.status_code == 200
    assert bad.status_code == 400


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_it_stops_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    with announced_sandbox(tmp_path) as (process, announced):
        process.send_signal(sig)
        assert process.wait(timeout=10) in (0, -sig)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{announced['base_url']}{FAULTS_PATH}", timeout=2)


def test_it_stops_when_the_process_that_started_it_is_gone(tmp_path: Path) -> None:
    """What `customer-gateway serve` relies on if it is killed before it can stop its sandbox."""
    announce = tmp_path / "sandbox.json"
    starter = (
        "import os, subprocess, sys; "
        "subprocess.Popen([sys.executable, '-m', 'sandbox', '--port', '0', "
        f"'--announce', {str(announce)!r}, '--parent-pid', str(os.getpid())], "
        "stdout=subprocess.DEVNULL)"
    )
    subprocess.run([sys.executable, "-c", starter], check=True, timeout=30)  # noqa: S603
    deadline = time.monotonic() + 30
    while not announce.exists():
        assert time.monotonic() < deadline, "the sandbox did not announce itself"
        time.sleep(0.05)
    base_url = json.loads(announce.read_text(encoding="utf-8"))["base_url"]
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{base_url}{FAULTS_PATH}", timeout=1)
        except httpx.TransportError:
            break
        assert time.monotonic() < deadline, "the orphaned sandbox kept running"
        time.sleep(0.2)


def test_a_bad_fault_spec_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--fault", "lago=explode"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown fault 'explode'" in result.stderr


async def test_the_in_process_sandbox_has_the_fault_switch_too() -> None:
    sandbox = Sandbox()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        response = await http.post(FAULTS_PATH, json={"provider": "codat", "fault": "timeout"})
    assert response.json() == {"codat": "timeout"}
    assert str(sandbox.faults.active["codat"]) == "timeout"


def test_the_tenant_config_is_plain_json() -> None:
    config = tenant_config("acme", "http://127.0.0.1:9/", allow_anonymous=False, api_keys=("k",))
    assert json.loads(json.dumps(config)) == config
    tenant = tenant_settings(config)
    assert tenant.api_keys[0].get_secret_value() == "k"
    assert tenant.codat is not None
    assert tenant.codat.base_url == "http://127.0.0.1:9/codat"
