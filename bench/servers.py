"""The processes a benchmark measures, each started on a free loopback port and stopped (by its
own pid) when the block ends: the gateway on its sandbox, and the floors of bench/floors.py."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

# The gateway's own limits refuse a 1,000-customer page (max_page_size 100; the cost estimate
# of 1,000 customers with their addresses is over max_fields): the bench raises them for its
# gateway processes only (docs/configuration.md, [limits]). Upstream entries stay fresh for an
# hour so "upstream cache warm" holds for the whole run instead of refreshing every 60 s.
GATEWAY_ENV = {
    "GATEWAY_LIMITS__MAX_PAGE_SIZE": "1000",
    "GATEWAY_LIMITS__MAX_FIELDS": "200000",
    **{f"GATEWAY_CACHE__{p}__TTL_SECONDS": "3600" for p in ("LAYER", "CODAT", "LAGO")},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Running:
    pid: int
    url: str


@contextlib.contextmanager
def server(
    args: list[str], url: str, ready: str, env: Mapping[str, str] | None = None
) -> Iterator[Running]:
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready, timeout=1).status_code < 500:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{' '.join(args)} did not start within 60 s")
        yield Running(process.pid, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def gateway(
    workers: int = 1,
    faults: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    sandbox_data: Path | None = None,
) -> Iterator[Running]:
    """`python -m gateway serve` on its sandbox (a process of its own), one uvicorn worker
    unless told otherwise; `faults` are `--sandbox-fault` specs (provider=latency:100);
    `sandbox_data`: a `--sandbox-data` file of more customers."""
    port = free_port()
    args = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
    args += ["--workers", str(workers)]
    for fault in faults or []:
        args += ["--sandbox-fault", fault]
    if sandbox_data is not None:
        args += ["--sandbox-data", str(sandbox_data)]
    base = f"http://127.0.0.1:{port}"
    with server(args, f"{base}/graphql", f"{base}/healthz", {**GATEWAY_ENV, **(env or {})}) as s:
        yield s


@contextlib.contextmanager
def floor(app: str, workers: int, env: Mapping[str, str]) -> Iterator[Running]:
    """One of bench/floors.py's apps under uvicorn, with `workers` processes."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", "--log-level", "warning"]
    args += ["--workers", str(workers), f"bench.floors:{app}", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/graphql"
    with server(args, url, url, env) as s:
        yield s


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields
