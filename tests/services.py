"""Real services the tests start themselves: Redis, and the gateway as its own process."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sandbox import (
    CODAT_API_KEY,
    DEMO_ACCOUNT,
    LAYER_CLIENT_ID,
    LAYER_CLIENT_SECRET,
    LAYER_WEBHOOK_SECRET,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require(tool: str) -> str:
    """The tool's path; without it, skip here and fail in CI (where .ci/run installs it)."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (apt-get install {tool}); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    executable = require("redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed local binary
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, process)
    try:
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def _pings(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


@dataclass
class GatewayProcess:
    """A running `python -m gateway ...`; its output (stdout and stderr, in order) is read as
    it comes, so a chatty process never stalls on a full pipe."""

    ready_url: str
    process: subprocess.Popen[bytes]
    _chunks: list[bytes] = field(default_factory=list)

    def output(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        found = []
        for line in self.output().splitlines():
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                if isinstance(parsed, dict):
                    found.append(parsed)
        return found

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.log_lines() if line.get("logger") == "gateway.access"]

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for chunk in iter(self.process.stdout.readline, b""):
            self._chunks.append(chunk)


# The sandbox's credentials, as the environment a configured `serve` reads them from.
SANDBOX_ENV = {
    "LAYER_CLIENT_ID": LAYER_CLIENT_ID,
    "LAYER_CLIENT_SECRET": LAYER_CLIENT_SECRET,
    "CODAT_API_KEY": CODAT_API_KEY,
    "LAGO_API_KEY": DEMO_ACCOUNT.lago_api_key,
    "LAYER_WEBHOOK_SECRET": LAYER_WEBHOOK_SECRET,
}


def sandbox_config(
    base: str, *, top: str = "", tenant: str = "allow_anonymous = true", webhooks: bool = False
) -> str:
    """A settings file: `top` (top-level keys, then tables), then tenant "acme" with the keys
    `tenant` holds, connected to the demo account of the standalone sandbox at `base`; its
    secrets are `${VAR}` references to SANDBOX_ENV. `webhooks`: Layer's deliveries verified
    with the sandbox's signing secret."""
    layer_webhooks = 'webhook_secret = "${LAYER_WEBHOOK_SECRET}"' if webhooks else ""
    return f"""{top}
[[tenants]]
id = "acme"
{tenant}

[tenants.layer]
business_id = "{DEMO_ACCOUNT.layer_business_id}"
client_id = "${{LAYER_CLIENT_ID}}"
client_secret = "${{LAYER_CLIENT_SECRET}}"
base_url = "{base}/layer"
token_url = "{base}/layer-auth/oauth2/token"
{layer_webhooks}

[tenants.codat]
company_id = "{DEMO_ACCOUNT.codat_company_id}"
api_key = "${{CODAT_API_KEY}}"
base_url = "{base}/codat"

[tenants.lago]
api_key = "${{LAGO_API_KEY}}"
base_url = "{base}/lago/api/v1"
organization_id = "{DEMO_ACCOUNT.lago_organization_id}"
"""


@contextlib.contextmanager
def gateway_process(
    args: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> Iterator[GatewayProcess]:
    """Run `python -m gateway ARGS` until `ready_url` answers; on exit, SIGTERM it and check
    that `serve` exited 0 (drained, not killed) and that its output holds none of `secrets`."""
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    running = GatewayProcess(ready_url, process)
    reader = threading.Thread(target=running.read_output, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                reader.join(timeout=5)
                pytest.fail(f"{args} did not start:\n{running.output()}")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        # `serve` drains and exits 0 on SIGTERM; `sandbox` is uvicorn's own, ended by it.
        allowed = (0,) if args[0] == "serve" else (0, -signal.SIGTERM)
        if process.returncode not in allowed:
            pytest.fail(f"{args} exited with {process.returncode}:\n{running.output()}")
    output = running.output()
    for secret in secrets:
        assert secret not in output
