"""SIGTERM drains `serve`, in every mode: the request in flight is answered, new connections
are refused, /readyz (while it still answers) says `draining`, and the process exits 0.

Real processes and signals. The slow request is slow because its upstream is: the sandbox's
latency fault on Lago, on a sandbox `serve` starts itself or a standalone one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from tests.services import SANDBOX_ENV, GatewayProcess, free_port, gateway_process, sandbox_config

pytestmark = pytest.mark.timeout(180)
QUERY = "query Slow { customers(first: 3) { edges { node { provider } } } }"
# Long enough that the request is still in flight when SIGTERM lands, short enough for the
# gateway's read timeout (5 s).
SLOW_LAGO = "lago=latency:3000"


def in_flight(base: str) -> bool:
    """Some process answering on `base` is serving a GraphQL request (with workers, each
    poll may reach another one)."""
    with contextlib.suppress(httpx.TransportError):
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        return "gateway_in_flight_requests 1.0" in metrics
    return False


def slow_request(pool: ThreadPoolExecutor, base: str, request_id: str) -> Future[httpx.Response]:
    answer = pool.submit(
        httpx.post,
        f"{base}/graphql",
        json={"query": QUERY},
        headers={"X-Request-Id": request_id},
        timeout=60,
    )
    deadline = time.monotonic() + 60
    while not in_flight(base):
        assert not answer.done(), "the slow request was answered before it was seen in flight"
        assert time.monotonic() < deadline, "the slow request never arrived"
        time.sleep(0.05)
    return answer


def readiness_until_refused(base: str) -> list[int]:
    """/readyz's statuses from now until the port refuses connections."""
    statuses: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base}/readyz", timeout=2)
        except httpx.ConnectError:
            return statuses
        except httpx.TransportError:  # accepted just before the port closed, then dropped
            continue
        statuses.append(answer.status_code)
        if answer.status_code == 503:
            assert answer.json() == {"status": "draining"}
        time.sleep(0.05)
    pytest.fail(f"the port still accepted connections: /readyz said {statuses}")


def drains(gateway: GatewayProcess, base: str, *, also: tuple[int, ...] = ()) -> None:
    """SIGTERM during a slow request (and to the pids in `also`): the request completes,
    the port closes, `serve` exits 0, and the access log has the request's line."""
    with ThreadPoolExecutor(1) as pool:
        answer = slow_request(pool, base, "slow-1")
        for pid in (gateway.process.pid, *also):
            os.kill(pid, signal.SIGTERM)
        readiness = readiness_until_refused(base)
        response = answer.result(timeout=60)
    exited = gateway.process.wait(timeout=60)
    assert response.status_code == 200
    assert "errors" not in response.json()
    assert {e["node"]["provider"] for e in response.json()["data"]["customers"]["edges"]} == {
        "LAYER",
        "CODAT",
        "LAGO",
    }
    # With workers, the supervisor may pass the signal on after a /readyz or two.
    assert set(readiness) <= {200, 503}
    assert exited == 0, gateway.output()
    (line,) = [line for line in gateway.access_lines() if line["request_id"] == "slow-1"]
    assert line["status"] == 200
    assert line["operation"] == "Slow"
    assert line["upstream_calls"] >= 4  # Layer's token and page, Codat, Lago


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A standalone sandbox, slow on Lago, and a config file connecting a tenant to it."""
    sandbox_port = free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    config = tmp_path / "gateway.toml"
    config.write_text(sandbox_config(sandbox), encoding="utf-8")
    env = dict(SANDBOX_ENV)
    args = ["sandbox", "--port", str(sandbox_port), "--fault", SLOW_LAGO]
    with gateway_process(args, f"{sandbox}/layer-auth/oauth2/token"):
        yield config, env


def test_one_worker_drains_on_sigterm(configured: tuple[Path, dict[str, str]]) -> None:
    config, env = configured
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--config", str(config)]
    with gateway_process(args, f"{base}/healthz", env) as gateway:
        drains(gateway, base)


def test_two_workers_drain_on_sigterm(configured: tuple[Path, dict[str, str]]) -> None:
    config, env = configured
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--config", str(config), "--workers", "2"]
    with gateway_process(args, f"{base}/healthz", env) as gateway:
        drains(gateway, base)


def sandbox_of(gateway_pid: int) -> int:
    """The pid of the `python -m sandbox` process `serve` started, from /proc."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            pairs = set(itertools.pairwise(args))
            if b"sandbox" in args and (b"--parent-pid", str(gateway_pid).encode()) in pairs:
                return int(cmdline.parent.name)
    pytest.fail("no sandbox process found")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_serve_on_its_sandbox_drains_though_the_sandbox_is_signalled_too() -> None:
    """As when systemd stops the service: every process of it gets SIGTERM. The sandbox
    leaves the signal to the gateway and serves its calls until the gateway has drained."""
    port, sandbox_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    args += ["--sandbox-fault", SLOW_LAGO]
    with gateway_process(args, f"{base}/healthz") as gateway:
        sandbox = sandbox_of(gateway.process.pid)
        drains(gateway, base, also=(sandbox,))
    assert not Path(f"/proc/{sandbox}").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{sandbox_port}/lago/api/v1/customers", timeout=2)


def test_a_request_longer_than_the_drain_time_is_cut_and_serve_still_exits_0() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--drain-seconds", "1", "--log-format", "console"]
    args += ["--sandbox-fault", "lago=latency:30000"]
    with gateway_process(args, f"{base}/healthz") as gateway, ThreadPoolExecutor(1) as pool:
        answer = slow_request(pool, base, "cut-1")
        gateway.process.send_signal(signal.SIGTERM)
        cut = answer.result(timeout=60)
        exited = gateway.process.wait(timeout=60)
    # Cancelled once the drain time is over: uvicorn answers 500 for it.
    assert cut.status_code == 500
    assert exited == 0
    output = gateway.output()
    # Console lines: the readiness poll's, and the cut request's.
    assert "INFO    gateway.access GET /healthz 200 request_id=" in output
    assert "WARNING gateway.access POST /graphql 500 request_id=cut-1 " in output


def test_drain_seconds_must_be_a_whole_number_of_at_least_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--drain-seconds", "-1"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "customer-gateway: argument --drain-seconds: -1 is not at least 0\n"
    )
