"""A bounded load generator on loopback: `concurrency` clients for `seconds`, counting
completed requests and their latencies. It shares the machine with the server, as every
floor measured in the same run does, so ratios hold where absolute numbers do not."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    # When the load came from wrk: its percentiles (50, 75, 90, 99), in seconds.
    percentiles: dict[int, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if self.percentiles:
            return self.percentiles.get(int(p), float("nan")) * 1000
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        if self.percentiles:
            return self.percentile(50)
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


async def run(
    make_request: Callable[[httpx.AsyncClient, int], httpx.Request],
    *,
    concurrency: int,
    seconds: float,
    check: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
) -> Result:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                request = make_request(client, counter)
                started = time.perf_counter()
                response = await client.send(request)
                latencies.append(time.perf_counter() - started)
                if not check(response):
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(len(latencies), elapsed, latencies, errors)
