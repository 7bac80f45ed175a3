"""/metrics: what it exposes in one process, what `serve --workers 2` adds up across its
workers, and the Grafana dashboard in docs/, which must ask only for series the gateway has."""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import httpx
import pytest

from gateway.observability.multiprocess import MULTIPROC_ENV, metrics_directory
from gateway.settings.model import ResilienceSettings, Settings
from tests.services import free_port, gateway_process
from tests.support import GatewayClient, gateway_client
from tests.test_observability import sample

LIST = "query Listing { customers(first: 3) { edges { node { provider } } } }"
DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
BUCKETS = [
    "0.001",
    "0.0025",
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1.0",
    "2.5",
    "5.0",
    "10.0",
    "+Inf",
]
# Every label a series may carry: none names a tenant, an id or anything else unbounded.
LABELS = {
    "operation",
    "status",
    "le",
    "provider",
    "status_class",
    "outcome",
    "state",
    "result",
    "kind",
    "generation",
    # python_info's
    "implementation",
    "major",
    "minor",
    "patchlevel",
    "version",
}
# What PromQL itself spells in the dashboard's expressions (the rest must be series names).
PROMQL = {"sum", "by", "rate", "histogram_quantile", "topk", "and", "or"}


def series(text: str) -> list[tuple[str, dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            head, value = line.rsplit(" ", 1)
            name, _, labels = head.partition("{")
            found.append((name, dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)))
    return found


def exposed_names(text: str) -> set[str]:
    """The sample names /metrics declares, including those with no sample yet."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            suffixes = ("_bucket", "_count", "_sum") if kind == "histogram" else ("",)
            names.update(name + suffix for suffix in suffixes)
    return names


async def test_latency_buckets_resolve_milliseconds(gateway: GatewayClient) -> None:
    await gateway.http.post("/graphql", json={"query": LIST, "operationName": "Listing"})
    text = (await gateway.http.get("/metrics")).text
    for name, extra in (
        ("gateway_request_seconds_bucket", {"operation": "Listing"}),
        ("gateway_upstream_seconds_bucket", {"provider": "LAGO", "status_class": "2xx"}),
    ):
        buckets = [
            labels["le"]
            for found, labels, _ in series(text)
            if found == name and labels.items() >= extra.items()
        ]
        assert buckets == BUCKETS, name


async def test_no_created_series_and_process_metrics(gateway: GatewayClient) -> None:
    await gateway.http.post("/graphql", json={"query": LIST})
    response = await gateway.http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {name for name, _, _ in series(response.text)}
    assert not [name for name in names if name.endswith("_created")]
    for name in (
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "python_info",
    ):
        assert name in names
    assert sample(response.text, "process_resident_memory_bytes") > 0


async def test_every_label_is_from_a_bounded_set(gateway: GatewayClient) -> None:
    for i in range(3):
        await gateway.http.post("/graphql", json={"query": LIST, "operationName": "Listing"})
        await gateway.http.post("/graphql", json={"query": f"query Q{i} {{ nope }}"})
    gateway.upstream.failing.add("/lago/")
    await gateway.http.post("/graphql", json={"query": "{ customers(first: 4) { totalCount } }"})
    found = series((await gateway.http.get("/metrics")).text)
    assert {label for _, labels, _ in found for label in labels} <= LABELS
    providers = {labels["provider"] for _, labels, _ in found if "provider" in labels}
    assert providers == {"LAYER", "CODAT", "LAGO"}
    # The tenant appears nowhere, nor does an operation that did not run.
    assert "demo" not in {value for _, labels, _ in found for value in labels.values()}
    assert {labels["operation"] for _, labels, _ in found if "operation" in labels} == {
        "Listing",
        "anonymous",
        "rejected",
    }


async def test_upstream_errors_by_outcome_and_breaker_state() -> None:
    # One failure opens the breaker; no retries, so one call per request.
    resilience = ResilienceSettings(breaker_threshold=1, attempts=1)
    async with gateway_client(Settings(resilience=resilience)) as gateway:
        gateway.upstream.failing.add("/codat/")
        await gateway.http.post("/graphql", json={"query": LIST})
        await gateway.http.post("/graphql", json={"query": LIST.replace("first: 3", "first: 2")})
        text = (await gateway.http.get("/metrics")).text
        codat_calls = len(gateway.upstream.calls("/codat/"))
    assert codat_calls == 1
    assert sample(text, "gateway_upstream_seconds_count", provider="CODAT", status_class="5xx") == 1
    assert (
        sample(text, "gateway_upstream_errors_total", provider="CODAT", outcome="unavailable") == 1
    )
    # The second request never reached Codat: its breaker answered.
    assert (
        sample(text, "gateway_upstream_errors_total", provider="CODAT", outcome="circuit_open") == 1
    )
    assert (
        sample(text, "gateway_upstream_errors_total", provider="LAGO", outcome="unavailable") == 0
    )
    assert sample(text, "gateway_breakers", provider="CODAT", state="open") == 1
    assert sample(text, "gateway_breakers", provider="CODAT", state="closed") == 0
    assert sample(text, "gateway_breakers", provider="LAGO", state="closed") == 1


async def test_cache_lookups_give_a_hit_ratio(gateway: GatewayClient) -> None:
    # Traced requests skip the response cache, so the second reads the upstream cache.
    headers = {"x-gateway-trace": "upstream"}
    for _ in range(2):
        await gateway.http.post("/graphql", json={"query": LIST}, headers=headers)
    await gateway.http.post("/graphql", json={"query": LIST})
    await gateway.http.post("/graphql", json={"query": LIST})
    text = (await gateway.http.get("/metrics")).text
    assert sample(text, "gateway_cache_lookups_total", provider="LAGO", result="hit") >= 1
    assert sample(text, "gateway_cache_lookups_total", provider="LAGO", result="miss") == 1
    assert sample(text, "gateway_response_cache_total", result="hit") == 1
    assert sample(text, "gateway_response_cache_total", result="miss") == 1


def test_metrics_directory_is_fresh_private_and_removed() -> None:
    environ = {MULTIPROC_ENV: "/left/by/someone/else"}
    with metrics_directory(2, environ) as directory:
        assert directory is not None
        assert environ[MULTIPROC_ENV] == str(directory)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert list(directory.iterdir()) == []
        (directory / "counter_1.db").write_bytes(b"")
    assert not directory.exists()
    assert environ == {MULTIPROC_ENV: "/left/by/someone/else"}
    with metrics_directory(1, environ) as none:
        assert none is None
        assert environ == {MULTIPROC_ENV: "/left/by/someone/else"}


def dashboard_expressions() -> list[str]:
    def targets(panels: list[dict[str, object]]) -> list[str]:
        found = []
        for panel in panels:
            found += [t["expr"] for t in panel.get("targets", [])]  # type: ignore[attr-defined]
            found += targets(panel.get("panels", []))  # type: ignore[arg-type]
        return found

    return targets(json.loads(DASHBOARD.read_text())["panels"])


def promql_names(expr: str) -> set[str]:
    """The identifiers of `expr` outside label matchers, ranges, strings and label lists."""
    bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^]]*\]', " ", expr)
    bare = re.sub(r"\b(by|without)\s*\([^)]*\)", " ", bare)
    return {n for n in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)} - PROMQL


async def test_the_dashboard_asks_only_for_exposed_series(gateway: GatewayClient) -> None:
    exposed = exposed_names((await gateway.http.get("/metrics")).text)
    expressions = dashboard_expressions()
    assert len(expressions) >= 15
    used = set().union(*(promql_names(e) for e in expressions))
    assert used <= exposed, used - exposed
    # Request rate, latency, errors, providers, breakers and both caches are all on it.
    assert used >= {
        "gateway_requests_total",
        "gateway_request_seconds_bucket",
        "gateway_in_flight_requests",
        "gateway_upstream_seconds_bucket",
        "gateway_upstream_seconds_count",
        "gateway_upstream_errors_total",
        "gateway_breakers",
        "gateway_cache_lookups_total",
        "gateway_response_cache_total",
        "process_resident_memory_bytes",
    }
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "customer-gateway"
    assert {t["name"] for t in dashboard["templating"]["list"]} == {"datasource"}


def test_promql_names_reads_only_series() -> None:
    assert promql_names(
        'histogram_quantile(0.95, sum by (provider, le) (rate(x_bucket{a="b"}[$__rate_interval])))'
    ) == {"x_bucket"}


@pytest.mark.timeout(180)
def test_two_workers_report_every_request_whichever_answers(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    requests = 20
    # The private metrics directory is made under TMPDIR, so the test can see it go.
    env = {"TMPDIR": str(tmp_path)}
    with gateway_process(
        ["serve", "--port", str(port), "--workers", "2"], f"{base}/healthz", env=env
    ):
        # Each on a new connection, so both workers serve some.
        answers = [
            httpx.post(
                f"{base}/graphql", json={"query": LIST, "operationName": "Listing"}, timeout=30
            ).status_code
            for _ in range(requests)
        ]
        pids = _worker_pids(f"{base}/metrics")
        scrapes = [httpx.get(f"{base}/metrics", timeout=10).text for _ in range(6)]
        directories = list(tmp_path.glob("customer-gateway-metrics-*"))
    assert answers == [200] * requests
    assert len(pids) == 2
    for text in scrapes:
        assert sample(text, "gateway_requests_total", operation="Listing", status="200") == requests
        assert sample(text, "gateway_request_seconds_count", operation="Listing") == requests
        assert sample(text, "gateway_in_flight_requests") == 0
        assert not [name for name, _, _ in series(text) if name.endswith("_created")]
        assert sample(text, "gateway_breakers", provider="LAGO", state="open") == 0
        for pid in pids:
            assert sample(text, "process_resident_memory_bytes", pid=pid) > 0
            assert sample(text, "process_cpu_seconds_total", pid=pid) > 0
        assert "python_info" in {name for name, _, _ in series(text)}
    # One directory while it ran, gone when it stopped.
    assert len(directories) == 1
    assert not directories[0].exists()


def _worker_pids(url: str) -> set[str]:
    """The pids of the workers that have written their process figures: both, once the
    second has started (it may still be starting when the first answers)."""
    deadline = time.monotonic() + 60
    while True:
        text = httpx.get(url, timeout=10).text
        pids = {
            labels["pid"]
            for name, labels, _ in series(text)
            if name == "process_resident_memory_bytes"
        }
        if len(pids) >= 2 or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


async def test_a_background_refresh_is_counted_though_no_request_made_it() -> None:
    """A stale-while-revalidate hit refreshes the entry behind the request: the request
    reports no call, /metrics counts the one the refresh made."""
    now = [1_750_000_000.0]
    async with gateway_client(clock=lambda: now[0]) as gateway:
        await gateway.query(LIST)
        before = attempts((await gateway.http.get("/metrics")).text)
        now[0] += 70  # past the 60 s TTL, within the 30 s stale-while-revalidate window
        stale = await gateway.query(LIST, headers={"x-gateway-trace": "upstream"})
        await gateway.app.state.cache.settled()
        after = attempts((await gateway.http.get("/metrics")).text)
    assert stale["extensions"]["upstream"]["calls"] == 0
    # One refresh per listing page past its TTL: Layer's and Lago's (Codat's lasts 300 s).
    assert after - before == 2


def attempts(text: str) -> float:
    return sum(v for name, _, v in series(text) if name == "gateway_upstream_seconds_count")
