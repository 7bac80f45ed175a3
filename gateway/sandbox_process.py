"""The sandbox as a process of its own, for `customer-gateway serve` with no tenant configured.

The gateway never imports the sandbox: it runs `python -m sandbox` (the package shipped beside
this one), waits for it to announce its base URL and the demo tenant it serves, validates that
tenant like any configured one, and stops the process when the gateway stops. Usage::

    with running_sandbox(faults=["lago=error:503"]) as sandbox:
        settings = with_demo_tenant(settings, sandbox.tenant)
        ...

The sandbox's credentials are its own dummies; even so they are never printed or logged here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.errors import ConfigError
from gateway.settings.load import tenant_settings
from gateway.settings.model import Settings, TenantSettings

# The package directory this module sits in, and the one the sandbox package sits beside.
_ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0


class SandboxError(Exception):
    """The sandbox did not start; `exit_status` is its own when it exited (2: a usage error)."""

    def __init__(self, message: str, exit_status: int | None = None) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class _AnnouncedJson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    tenant: dict[str, Any]


@dataclass(frozen=True)
class Announcement:
    """What the sandbox writes once it listens: where, and the tenant that connects to it."""

    base_url: str
    tenant: TenantSettings


@dataclass(frozen=True)
class RunningSandbox:
    base_url: str
    tenant: TenantSettings
    pid: int
    # Readable by this user only, and there until the sandbox is stopped.
    announcement: Path


def sandbox_command(*args: str) -> tuple[list[str], dict[str, str]]:
    """`python -m sandbox ARGS` and its environment: the directory holding this gateway comes
    first on its module path and the working directory not at all (`-P`), so a folder that
    happens to be called `sandbox` where the gateway was started cannot stand in for it."""
    path = [str(_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return [sys.executable, "-P", "-m", "sandbox", *args], env


@contextlib.contextmanager
def running_sandbox(
    faults: Sequence[str] = (),
    port: int = 0,
    startup_seconds: float = STARTUP_SECONDS,
    data: Path | None = None,
) -> Iterator[RunningSandbox]:
    """Start the sandbox on 127.0.0.1:`port` (0: a free one) with `faults` (`PROVIDER=KIND[:ARG]`)
    and, beside its own, the customer records of `data` (a JSON file), yield once it listens,
    and stop it on the way out, whatever the way out is."""
    with tempfile.TemporaryDirectory(prefix="customer-gateway-sandbox-") as work:
        announce = Path(work) / "sandbox.json"
        args = ["--port", str(port), "--announce", str(announce), "--parent-pid", str(os.getpid())]
        for fault in faults:
            args += ["--fault", fault]
        if data is not None:
            args += ["--data", str(data.resolve())]
        command, env = sandbox_command(*args)
        # A session of its own: Ctrl-C reaches the gateway, which stops the sandbox after it.
        # Its stdin is a pipe we never write to: closing it stops the sandbox, and so does
        # this process ending, however it ends. It ignores SIGINT and SIGTERM.
        process = subprocess.Popen(  # noqa: S603 - our own entry point, no shell
            command, env=env, stdin=subprocess.PIPE, start_new_session=True
        )
        try:
            announced = _wait_for(announce, process, startup_seconds)
            yield RunningSandbox(announced.base_url, announced.tenant, process.pid, announce)
        finally:
            _stop(process)


def with_demo_tenant(settings: Settings, tenant: TenantSettings) -> Settings:
    """`settings` serving only `tenant`, the sandbox's demo tenant.

    A copy rather than a re-validation: the settings were validated as loaded (with no
    tenants, so without the cursor key production requires of configured tenants), and
    validating again would read the environment again."""
    return settings.model_copy(update={"tenants": (tenant,)})


def read_announcement(path: Path) -> Announcement:
    """The sandbox's announcement, validated: its tenant as strictly as a configured one."""
    try:
        announced = _AnnouncedJson.model_validate(orjson.loads(path.read_bytes()))
        return Announcement(announced.base_url, tenant_settings(announced.tenant))
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"the sandbox announced something that is not JSON: {exc}") from None
    except ValidationError as exc:
        # Locations and messages only: pydantic would print the inputs, credentials included.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"the sandbox's announcement is invalid: {problems}") from None


def _wait_for(announce: Path, process: subprocess.Popen[bytes], seconds: float) -> Announcement:
    deadline = time.monotonic() + seconds
    while not announce.exists():
        status = process.poll()
        if status is not None:
            raise SandboxError(f"the sandbox did not start (exit status {status})", status)
        if time.monotonic() > deadline:
            raise SandboxError(f"the sandbox did not start within {seconds:g} s")
        time.sleep(0.02)
    return read_announcement(announce)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    if process.poll() is None:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


__all__ = [
    "Announcement",
    "RunningSandbox",
    "SandboxError",
    "read_announcement",
    "running_sandbox",
    "sandbox_command",
    "with_demo_tenant",
]
