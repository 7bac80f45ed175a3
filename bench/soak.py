"""A soak: mixed, hostile traffic against `serve --workers 2` for ten minutes, watched for
memory growth, 5xx answers, cross-tenant leaks and an unbounded /metrics.

Run: python3 -m bench.soak [--seconds 600] [--workers 2] [--concurrency 24] [--output FILE]

It starts, on 127.0.0.1 only and by itself: the sandbox as its own process (`python -m sandbox`:
the simulators plus their run-time fault switch), and `python3 -m gateway serve --workers N`
with a generated TOML config (a temp dir) of two keyed tenants on it, tenant A on the demo
account and tenant B on the second, webhook secrets through environment variables, and a
trusted-documents manifest (persisted mode "allow"). `--concurrency` clients then send the
traffic of bench/soak_traffic.py while one provider flaps between healthy and a failing fault every
`--flap-seconds`. Every ~10 s it samples each worker's VmRSS. At the end it stops what it
started (on Ctrl-C or an error too) and prints, per request kind, p50/p99, statuses, 5xx,
transport failures, wrong answers and leaks, then PASS/MISS per goal: RSS at the end within
1.1 x of RSS after warm-up, zero 5xx, zero leaks, /metrics bounded. A benchmark, not a test:
the exit status is 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import httpx
import orjson

from bench.soak_processes import free_port, rss_kib, started, wait_for_workers, worker_pids
from bench.soak_report import (
    LogSummary,
    MetricsSnapshot,
    RssSample,
    SoakRun,
    Tally,
    render,
    write_json,
)
from bench.soak_tenants import SoakTenant, gateway_toml, shared_environment, soak_tenants
from bench.soak_traffic import (
    TRUSTED,
    Shot,
    Traffic,
    error_codes,
    json_body,
    manifest,
    problems_with,
)
from sandbox import FAULTS_PATH, Sandbox

RSS_EVERY_SECONDS = 10.0
# Failing faults the flapping provider cycles through, one per failing phase.
FLAP_FAULTS = ("error:503", "reset", "malformed:shape", "timeout", "flaky:50", "malformed")
METRICS_FETCHES = 6
_LABEL = re.compile(rb'operation="([^"]*)"')
# Answers the client waits for at most: well past the gateway's 8 s request deadline.
CLIENT_TIMEOUT_SECONDS = 30.0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Soak:
    def __init__(
        self,
        args: argparse.Namespace,
        gateway_url: str,
        sandbox_url: str,
        serve_pid: int,
        tenants: tuple[SoakTenant, SoakTenant],
    ) -> None:
        self.args = args
        self.gateway = gateway_url
        self.sandbox = sandbox_url
        self.serve_pid = serve_pid
        self.traffic = Traffic(gateway_url, tenants, seed=args.seed, skip=tuple(args.skip))
        self.tally = Tally()
        self.rss: list[RssSample] = []
        self.flapping: list[tuple[float, str]] = []
        self.started = 0.0
        self.metrics_warm: MetricsSnapshot | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> SoakRun:
        args = self.args
        metrics_start = await self.metrics()
        limits = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        self.started = time.monotonic()
        deadline = self.started + args.seconds
        async with httpx.AsyncClient(limits=limits, timeout=CLIENT_TIMEOUT_SECONDS) as client:
            clients = [
                asyncio.create_task(self.client(client, deadline)) for _ in range(args.concurrency)
            ]
            watchers = [
                asyncio.create_task(self.sample(deadline)),
                asyncio.create_task(self.flap(deadline)),
            ]
            try:
                await asyncio.gather(*clients, *watchers)
            finally:
                for task in (*clients, *watchers):
                    task.cancel()
                await self.set_fault(None)
        self.sample_rss()
        metrics_end = await self.metrics()
        return SoakRun(
            seconds=self.elapsed(),
            workers=args.workers,
            concurrency=args.concurrency,
            warmup=args.warmup,
            flapping=self.flapping,
            tally=self.tally,
            rss=self.rss,
            metrics_start=metrics_start,
            metrics_warm=self.metrics_warm or metrics_start,
            metrics_end=metrics_end,
            random_names=self.traffic.random_names,
            # Each tenant's first names, the manifest's, and anonymous/other/rejected.
            label_bound=2 * 50 + len(TRUSTED) + 3,
            log=LogSummary(),
        )

    async def client(self, client: httpx.AsyncClient, deadline: float) -> None:
        while time.monotonic() < deadline:
            shot: Shot | None = self.traffic.next()
            # A shot and what it calls for: at most two requests per turn.
            for _ in range(2):
                if shot is None:
                    break
                shot = await self.fire(client, shot)

    async def fire(self, client: httpx.AsyncClient, shot: Shot) -> Shot | None:
        stats = self.tally.stats(shot.kind)
        stats.requests += 1
        began = time.perf_counter()
        try:
            response = await client.send(shot.request)
        except httpx.HTTPError as exc:
            stats.latencies.append(time.perf_counter() - began)
            stats.failures[type(exc).__name__] += 1
            self.tally.example(shot.kind, "transport failure", repr(exc), shot.describe, "")
            return None
        stats.latencies.append(time.perf_counter() - began)
        stats.statuses[response.status_code] += 1
        body = json_body(response)
        codes = error_codes(body)
        stats.codes.update(codes)
        answer = f"{response.status_code} {response.headers.get('content-type')} {response.content[:400]!r}"  # noqa: E501
        if response.status_code >= 500:
            stats.server_errors += 1
            self.tally.example(
                shot.kind, "5xx", f"status {response.status_code}", shot.describe, answer
            )
        internal = [c for c in codes if c.startswith("INTERNAL")]
        if internal:
            stats.internal += 1
            self.tally.example(shot.kind, "internal", f"codes {internal}", shot.describe, answer)
        problems, leaks = problems_with(shot, response, body)
        if problems:
            stats.wrong += 1
            self.tally.example(
                shot.kind, "wrong answer", "; ".join(problems), shot.describe, answer
            )
        if leaks:
            stats.leaks += len(leaks)
            self.tally.example(shot.kind, "leak", "; ".join(leaks[:3]), shot.describe, answer)
        if shot.learn is not None:
            shot.learn(body)
        return shot.follow(body) if shot.follow is not None else None

    def sample_rss(self) -> None:
        pids = worker_pids(self.serve_pid) if self.args.workers > 1 else [self.serve_pid]
        workers = {pid: kib for pid in pids if (kib := rss_kib(pid)) is not None}
        self.rss.append(RssSample(self.elapsed(), workers))

    async def sample(self, deadline: float) -> None:
        self.sample_rss()
        while True:
            wait = min(RSS_EVERY_SECONDS, deadline - time.monotonic())
            if wait <= 0:
                return
            await asyncio.sleep(wait)
            self.sample_rss()
            if self.metrics_warm is None and self.elapsed() >= self.args.warmup:
                self.metrics_warm = await self.metrics()

    async def set_fault(self, fault: str | None) -> None:
        provider = self.args.flap_provider
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(timeout=5) as admin:
                await admin.post(
                    f"{self.sandbox}{FAULTS_PATH}", json={"provider": provider, "fault": fault}
                )
        self.flapping.append((self.elapsed(), f"{provider}={fault or 'healthy'}"))

    async def flap(self, deadline: float) -> None:
        """Healthy, failing, healthy, ...: each phase `--flap-seconds` long."""
        for phase in range(int(self.args.seconds / self.args.flap_seconds) + 1):
            # No change in the last partial phase: the end clears the fault anyway.
            if deadline - time.monotonic() <= self.args.flap_seconds:
                return
            await asyncio.sleep(self.args.flap_seconds)
            failing = phase % 2 == 0
            await self.set_fault(FLAP_FAULTS[(phase // 2) % len(FLAP_FAULTS)] if failing else None)

    async def metrics(self) -> MetricsSnapshot:
        """The largest /metrics of a few fresh connections (each may reach another worker;
        each worker keeps its own registry and its own operation labels)."""
        size, labels = 0, frozenset[str]()
        for _ in range(METRICS_FETCHES):
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(timeout=10) as fresh:
                    body = (await fresh.get(f"{self.gateway}/metrics")).content
                size = max(size, len(body))
                found = frozenset(m.decode() for m in _LABEL.findall(body))
                labels = max(labels, found, key=len)
        return MetricsSnapshot(size, labels)


def summarise_log(path: Path, secrets: list[str]) -> LogSummary:
    summary = LogSummary()
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    summary.lines = len(lines)
    for line in lines:
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                summary.levels[str(orjson.loads(line).get("level"))] += 1
    summary.tracebacks = text.count("Traceback (most recent call last)")
    at = text.find("Traceback (most recent call last)")
    if at >= 0:
        summary.first_traceback = text[max(0, text.rfind("\n", 0, at - 1)) : at + 3000]
    summary.secrets_found = sum(text.count(s) for s in secrets if s)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--warmup", type=float, default=None, help="default min(60, seconds/4)")
    parser.add_argument("--flap-provider", default="lago", choices=("layer", "codat", "lago"))
    parser.add_argument("--flap-seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PREFIX",
        help="leave out the request kinds starting with PREFIX (repeatable), e.g. webhook",
    )
    parser.add_argument("--output", type=Path, default=None, help="a JSON summary")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (config, logs)")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(60.0, args.seconds / 4)
    args.seconds = max(1.0, args.seconds)
    args.concurrency = max(1, args.concurrency)
    # Both stop the soak through the same `finally`s (SIGINT too when started in the
    # background, where the shell leaves it ignored).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        run = _soak(args, work)
        print(render(run))
        if args.output is not None:
            write_json(run, args.output)
            print(f"\nwrote {args.output}")
    except KeyboardInterrupt:
        print("soak: interrupted; everything it started is stopped", file=sys.stderr)
    finally:
        if args.keep:
            print(f"soak: config and logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _soak(args: argparse.Namespace, work: Path) -> SoakRun:
    tenants = soak_tenants(Sandbox().data)
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    manifest_path = work / "manifest.json"
    manifest_path.write_bytes(orjson.dumps(manifest()))
    config = work / "gateway.toml"
    config.write_text(gateway_toml(tenants, sandbox_url, str(manifest_path)), encoding="utf-8")
    env = {**os.environ, **shared_environment()}
    for tenant in tenants:
        env |= tenant.environment()
    secrets = [v for t in tenants for k, v in t.environment().items() if "LAGO_API_KEY" not in k]
    python = sys.executable
    sandbox_args = [python, "-m", "sandbox", "--port", str(sandbox_port)]
    serve = [python, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(gateway_port)]
    serve += ["--workers", str(args.workers), "--config", str(config)]
    gateway_log = work / "gateway.log"
    with (
        started(sandbox_args, f"{sandbox_url}{FAULTS_PATH}", env, work / "sandbox.log"),
        started(serve, f"{gateway_url}/healthz", env, gateway_log) as gateway,
    ):
        if args.workers > 1:
            wait_for_workers(gateway.pid, args.workers)
        run = asyncio.run(Soak(args, f"{gateway_url}", sandbox_url, gateway.pid, tenants).run())
    run.log = summarise_log(gateway_log, secrets)
    return run


__all__ = ["Soak", "main", "summarise_log"]

if __name__ == "__main__":
    main()
