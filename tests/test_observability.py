"""Metrics after known traffic, one span per upstream call, request ids end to end, readiness."""

from __future__ import annotations

import re

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.observability.logs import RequestIdFilter, logging_config
from gateway.providers.lago import LAGO
from gateway.settings.model import CacheSettings, Settings
from sandbox import DEMO_ACCOUNT
from tests.services import free_port
from tests.support import GatewayClient, gateway_client

LIST = "query Listing { customers(first: 3) { edges { node { provider } } } }"
GAVIN = encode_id(
    CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba")
)

# One SDK provider for the whole test process; OpenTelemetry allows setting it once.
EXPORTER = InMemorySpanExporter()
if not isinstance(trace.get_tracer_provider(), TracerProvider):
    _provider = TracerProvider()
    _provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(_provider)


def sample(metrics: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{") or line.startswith(f"{name} "):
            found = line[len(name) :].split(" ")[0]
            got = ",".join(sorted(re.findall(r'\w+="[^"]*"', found)))
            if got == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_known_traffic(gateway: GatewayClient) -> None:
    for _ in range(2):
        await gateway.http.post("/graphql", json={"query": LIST, "operationName": "Listing"})
    await gateway.http.post("/graphql", json={"query": "{ nope }"})
    metrics = (await gateway.http.get("/metrics")).text
    assert sample(metrics, "gateway_requests_total", operation="Listing", status="200") == 2
    # A request that never ran an operation makes no per-operation series.
    assert sample(metrics, "gateway_requests_total", operation="rejected", status="422") == 1
    assert sample(metrics, "gateway_request_seconds_count", operation="Listing") == 2
    # First request: an upstream-cache miss per provider; the second is served whole from
    # the response cache, without executing.
    assert sample(metrics, "gateway_response_cache_total", result="miss") == 2
    assert sample(metrics, "gateway_response_cache_total", result="hit") == 1
    for provider in ("LAYER", "CODAT", "LAGO"):
        assert sample(metrics, "gateway_cache_lookups_total", provider=provider, result="miss") == 1
        assert sample(metrics, "gateway_cache_lookups_total", provider=provider, result="hit") == 0
        assert (
            sample(metrics, "gateway_upstream_seconds_count", provider=provider, status_class="2xx")
            >= 1
        )
    assert (
        sample(metrics, "gateway_upstream_seconds_count", provider="LAYER", status_class="2xx") == 2
    )
    assert sample(metrics, "gateway_breakers", provider="LAGO", state="closed") == 1
    assert sample(metrics, "gateway_in_flight_requests") == 0


async def test_metrics_count_persisted_queries(gateway: GatewayClient) -> None:
    import hashlib

    query = "{ __typename }"
    extensions = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}
    }
    await gateway.http.post("/graphql", json={"extensions": extensions})
    await gateway.http.post("/graphql", json={"query": query, "extensions": extensions})
    await gateway.http.post("/graphql", json={"extensions": extensions})
    metrics = (await gateway.http.get("/metrics")).text
    assert sample(metrics, "gateway_persisted_queries_total", kind="apq_miss") == 1
    assert sample(metrics, "gateway_persisted_queries_total", kind="apq_register") == 1
    assert sample(metrics, "gateway_persisted_queries_total", kind="apq_hit") == 1


async def test_one_span_per_upstream_call_with_its_attributes(gateway: GatewayClient) -> None:
    EXPORTER.clear()
    gateway.upstream.failing.add("/codat/")
    await gateway.http.post("/graphql", json={"query": LIST})
    spans = EXPORTER.get_finished_spans()
    calls = [s for s in spans if s.name == "upstream.call"]
    assert (
        len(calls) == len(gateway.upstream.requests) == 1 + 1 + 3 + 1
    )  # token, Layer, Codat x3, Lago
    for span in calls:
        assert span.attributes is not None
        assert span.attributes["gateway.tenant"] == "demo"
        assert span.attributes["gateway.provider"] in ("LAYER", "CODAT", "LAGO")
        assert "authorization" not in str(span.attributes).lower()
    statuses = sorted(
        (s.attributes["gateway.provider"], s.attributes["http.response.status_code"])  # type: ignore[index]
        for s in calls
    )
    assert statuses.count(("CODAT", 503)) == 3
    fetches = [s for s in spans if s.name == "cache.fetch"]
    assert {s.attributes["gateway.cache_hit"] for s in fetches} == {False}  # type: ignore[index]
    requests = [s for s in spans if s.name == "graphql.request"]
    assert len(requests) == 1
    # Every upstream call happened inside the request's trace.
    assert {s.context.trace_id for s in calls} == {requests[0].context.trace_id}


async def test_loader_batches_get_a_span(gateway: GatewayClient) -> None:
    EXPORTER.clear()
    await gateway.query("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [GAVIN, GAVIN]})
    batches = [s for s in EXPORTER.get_finished_spans() if s.name == "loader.customers"]
    assert len(batches) == 1
    assert batches[0].attributes == {"gateway.tenant": "demo", "gateway.keys": 1}


async def test_the_request_id_goes_upstream_and_back(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": LIST}, headers={"x-request-id": "trace-me-42"}
    )
    assert response.headers["x-request-id"] == "trace-me-42"
    assert {r.headers.get("x-request-id") for r in gateway.upstream.requests} == {"trace-me-42"}


def test_log_lines_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging.config

    from gateway.observability.logs import request_id

    logging.config.dictConfig(logging_config())
    token = request_id.set("req-7")
    try:
        logging.getLogger("gateway.test").warning("provider %s failed", "LAGO")
    finally:
        request_id.reset(token)
        logging.config.dictConfig(
            {"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}}
        )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "provider LAGO failed"
    assert line["request_id"] == "req-7"
    assert line["level"] == "WARNING"
    assert RequestIdFilter().filter(logging.LogRecord("x", 20, "", 0, "m", None, None))


async def test_readyz_stays_ready_but_degraded_when_redis_is_down() -> None:
    """Every replica shares the Redis: a 503 on its outage would pull the whole fleet at once,
    while each one can still serve from its in-process cache."""
    # A Redis URL with nothing listening behind it.
    settings = Settings(cache=CacheSettings(url=f"redis://127.0.0.1:{free_port()}/0"))
    async with gateway_client(settings) as gateway:
        response = await gateway.http.get("/readyz")
        body = response.json()
        served = await gateway.http.post("/graphql", json={"query": LIST})
        alive = await gateway.http.get("/livez")
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["cache"]["backend"] == "redis"
    assert body["cache"]["reachable"] is False
    assert body["cache"]["degraded"] is True
    # Degraded, and what it is asked it still answers.
    assert "errors" not in served.json()
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}


async def test_readyz_reports_provider_breakers(gateway: GatewayClient) -> None:
    await gateway.http.post("/graphql", json={"query": LIST})
    body = (await gateway.http.get("/readyz")).json()
    assert body["status"] == "ready"
    assert body["providers"] == {"LAYER": "closed", "CODAT": "closed", "LAGO": "closed"}
    assert (await gateway.http.get("/healthz")).json() == {"status": "ok"}
