"""The README's way in: `customer-gateway serve` on the sandbox over real loopback HTTP (the
sandbox a process of its own, started and stopped by `serve`), and a gateway configured like
production, pointed at `customer-gateway sandbox`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway import __version__
from gateway.cli import main
from sandbox import (
    CODAT_API_KEY,
    DEMO_ACCOUNT,
    FAULTS_PATH,
    LAGO_WEBHOOK_HMAC_KEY,
    LAYER_CLIENT_SECRET,
)
from tests.services import SANDBOX_ENV, free_port, gateway_process, sandbox_config

pytestmark = pytest.mark.timeout(120)
QUERY = "{ customers(first: 9) { edges { node { provider displayName } } } }"
SEARCH = "query($search: String) { customers(filter: {search: $search}) { edges { cursor } } }"
SERVE = [sys.executable, "-m", "gateway", "serve"]
# The demo tenant's credentials: the sandbox's own dummies, and still never printed by `serve`.
SANDBOX_SECRETS = (
    LAYER_CLIENT_SECRET,
    CODAT_API_KEY,
    DEMO_ACCOUNT.lago_api_key,
    LAGO_WEBHOOK_HMAC_KEY,
)


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def sandboxes_of(parent_pid: int) -> list[int]:
    """The pids of the `python -m sandbox` processes `parent_pid` started, from /proc."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if b"sandbox" in args and str(parent_pid).encode() in args:
                found.append(int(cmdline.parent.name))
    return found


def test_serve_with_no_configuration_reads_all_three_providers() -> None:
    port = free_port()
    ready = f"http://127.0.0.1:{port}/healthz"
    with gateway_process(["serve", "--port", str(port)], ready, secrets=SANDBOX_SECRETS):
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
    config.write_text(sandbox_config(base, tenant='api_keys = ["${ACME_KEY}"]'), encoding="utf-8")
    env = {"ACME_KEY": "acme-gateway-key", **SANDBOX_ENV}
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


def test_serve_with_a_sandbox_fault_and_the_sandbox_fault_switch() -> None:
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    faults = f"http://127.0.0.1:{sandbox_port}{FAULTS_PATH}"
    args = ["serve", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    args += ["--sandbox-fault", "lago=error:503"]
    with gateway_process(args, f"{base}/healthz"):
        faulty = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
        listed = httpx.get(faults, timeout=10).json()
        cleared = httpx.post(faults, json={"provider": "lago", "fault": None}, timeout=10).json()
        healthy = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
        bad = httpx.post(faults, json={"provider": "lago", "fault": "explode"}, timeout=10)
        on_the_gateway = httpx.get(f"{base}/_dev/sandbox/faults", timeout=10)
    assert faulty["errors"][0]["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "provider": "LAGO"}
    assert listed == {"lago": "error:503"}
    assert cleared == {}
    assert "errors" not in healthy
    assert bad.status_code == 400
    # The switch is the sandbox's: the gateway has no sandbox route of its own.
    assert on_the_gateway.status_code == 404
    assert not listening(sandbox_port)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_its_sandbox_when_it_stops(sig: signal.Signals) -> None:
    port, sandbox_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [*SERVE, "--port", str(port), "--sandbox-port", str(sandbox_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (listening(port) and listening(sandbox_port)):
            assert process.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=30)
        started = sandboxes_of(process.pid)
        process.send_signal(sig)
        exited = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "errors" not in answer.json()
    assert len(started) == 1
    # Drained and stopped: a signal answered, not one the process died of.
    assert exited == 0
    assert not Path(f"/proc/{started[0]}").exists()
    assert not listening(sandbox_port)


def test_serve_stops_its_sandbox_when_the_gateway_cannot_start() -> None:
    sandbox_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [*SERVE, "--port", str(port), "--sandbox-port", str(sandbox_port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"sandbox at http://127.0.0.1:{sandbox_port}" in result.stdout
    assert not listening(sandbox_port)


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


def test_serve_with_two_workers_on_one_sandbox() -> None:
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--workers", "2", "--sandbox-port", str(sandbox_port)]
    with gateway_process(args, f"{base}/healthz", secrets=SANDBOX_SECRETS):
        bodies = [
            httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()
            for _ in range(4)
        ]
        # One switch, seen by every worker (each request on a new connection, each a search
        # no worker has cached).
        httpx.post(
            f"http://127.0.0.1:{sandbox_port}{FAULTS_PATH}",
            json={"provider": "codat", "fault": "error:503"},
            timeout=10,
        )
        faulty = [
            httpx.post(
                f"{base}/graphql",
                json={"query": SEARCH, "variables": {"search": f"acme {i}"}},
                timeout=30,
            )
            for i in range(6)
        ]
    for body in bodies:
        assert {e["node"]["provider"] for e in body["data"]["customers"]["edges"]} == {
            "LAYER",
            "CODAT",
            "LAGO",
        }
    for response in faulty:
        assert response.json()["errors"][0]["extensions"]["provider"] == "CODAT"
    assert not listening(sandbox_port)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--port", "83876"], "--port: 83876 is not a TCP port (0 for any free one)"),
        (["serve", "--port", "-5"], "--port: -5 is not a TCP port (0 for any free one)"),
        (["serve", "--port", "http"], "--port: 'http' is not a whole number"),
        (["serve", "--sandbox-port", "70000"], "--sandbox-port: 70000 is not a TCP port"),
        (["serve", "--workers", "0"], "--workers: 0 is not 1 to 64 workers"),
        (["sandbox", "--port", "-1"], "--port: -1 is not a TCP port (0 for any free one)"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert error.startswith("customer-gateway: ")
    assert said in error


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"customer-gateway {__version__}\n"


def test_export_schema_to_a_missing_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", "export-schema", "--output", str(tmp_path / "no" / "x")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_port_in_use_with_redis_exits_rather_than_hangs(tmp_path: Path) -> None:
    from tests.services import redis_server

    with redis_server() as redis, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "gateway.toml"
        top = f'[cache]\nurl = "{redis.url}"\n'
        config.write_text(sandbox_config("http://127.0.0.1:9", top=top), encoding="utf-8")
        result = subprocess.run(  # noqa: S603 - our own entry point
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **SANDBOX_ENV},
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert "address already in use" in result.stderr.lower()


@pytest.mark.parametrize("workers", ["0", "65", "100000000000000000000"])
def test_serve_refuses_a_worker_count_it_cannot_run(workers: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", "serve", "--workers", workers],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "is not 1 to 64 workers" in result.stderr
