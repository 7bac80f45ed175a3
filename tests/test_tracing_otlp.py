"""Traces: the caller's W3C trace context is continued and carried to every provider; spans
reach an OTLP/HTTP receiver (tests/otlp_receiver.py) from a real `serve` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from gateway.errors import ConfigError
from gateway.observability.tracing import span_exporters, tracer_provider
from sandbox import CODAT_API_KEY, DEMO_ACCOUNT, LAGO_WEBHOOK_HMAC_KEY, LAYER_CLIENT_SECRET
from tests.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.services import free_port, gateway_process
from tests.support import gateway_client

pytestmark = pytest.mark.timeout(120)

LIST = "{ customers(first: 6) { edges { node { provider } } } }"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
CREDENTIALS = (LAYER_CLIENT_SECRET, CODAT_API_KEY, DEMO_ACCOUNT.lago_api_key, LAGO_WEBHOOK_HMAC_KEY)
MALFORMED = (
    "not-a-traceparent",
    f"00-{'0' * 32}-{PARENT_ID}-01",  # the all-zero trace id is invalid
    f"00-{TRACE_ID}-{'0' * 16}-01",  # and so is the all-zero parent
    f"ff-{TRACE_ID}-{PARENT_ID}-01",  # version ff is forbidden
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",  # ids are lowercase hex
    f"00-{TRACE_ID}-{PARENT_ID}-01-extra",  # version 00 has exactly four fields
)


def upstream_traceparent(traceparent: str) -> tuple[str, str]:
    match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}", traceparent)
    assert match, traceparent
    return match[1], match[2]


async def test_every_provider_call_carries_the_callers_trace_and_tracestate() -> None:
    async with gateway_client() as gateway:
        response = await gateway.http.post(
            "/graphql",
            json={"query": LIST},
            headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE},
        )
        assert response.status_code == 200
        calls = gateway.upstream.requests
    # The token, Layer, Codat and Lago at least, each with the caller's trace id.
    assert {r.url.path.split("/")[1] for r in calls} >= {"layer", "layer-auth", "codat", "lago"}
    for request in calls:
        trace_id, _ = upstream_traceparent(request.headers["traceparent"])
        assert trace_id == TRACE_ID
        assert request.headers["tracestate"] == TRACESTATE


async def test_tracestate_split_over_header_lines_is_passed_on_whole() -> None:
    async with gateway_client() as gateway:
        headers = [
            ("traceparent", TRACEPARENT),
            *(("tracestate", m) for m in TRACESTATE.split(",")),
        ]
        response = await gateway.http.post("/graphql", json={"query": LIST}, headers=headers)
        assert response.status_code == 200
        assert gateway.upstream.requests
        assert {r.headers["tracestate"] for r in gateway.upstream.requests} == {TRACESTATE}


@pytest.mark.parametrize("traceparent", MALFORMED)
async def test_a_malformed_traceparent_is_ignored(traceparent: str) -> None:
    async with gateway_client() as gateway:
        response = await gateway.http.post(
            "/graphql",
            json={"query": LIST},
            headers={"traceparent": traceparent, "tracestate": TRACESTATE},
        )
        assert response.status_code == 200
        assert len(response.json()["data"]["customers"]["edges"]) == 6
        calls = gateway.upstream.requests
    assert calls
    for request in calls:
        # No trace to continue: a trace of the gateway's own when tracing is on, none when off,
        # and the caller's tracestate belongs to no trace at all.
        if "traceparent" in request.headers:
            trace_id, parent_id = upstream_traceparent(request.headers["traceparent"])
            assert TRACE_ID.lower() != trace_id
            assert parent_id != PARENT_ID
        assert "tracestate" not in request.headers


async def test_two_traceparents_are_no_parent() -> None:
    other = f"00-{'1' * 32}-{'2' * 16}-01"
    async with gateway_client() as gateway:
        headers = [("traceparent", TRACEPARENT), ("traceparent", other)]
        response = await gateway.http.post("/graphql", json={"query": LIST}, headers=headers)
        assert response.status_code == 200
        calls = gateway.upstream.requests
    assert calls
    for request in calls:
        if "traceparent" in request.headers:
            trace_id, _ = upstream_traceparent(request.headers["traceparent"])
            assert trace_id not in (TRACE_ID, "1" * 32)


async def test_a_malformed_tracestate_is_dropped_and_the_trace_kept() -> None:
    async with gateway_client() as gateway:
        headers = {"traceparent": TRACEPARENT, "tracestate": "not a tracestate!"}
        response = await gateway.http.post("/graphql", json={"query": LIST}, headers=headers)
        assert response.status_code == 200
        calls = gateway.upstream.requests
    assert calls
    for request in calls:
        assert upstream_traceparent(request.headers["traceparent"])[0] == TRACE_ID
        assert "tracestate" not in request.headers


def test_exporters_follow_otel_traces_exporter() -> None:
    # OTLP over HTTP/protobuf is the specification's default; console only when asked.
    assert [type(e) for e in span_exporters({})] == [OTLPSpanExporter]
    assert [type(e) for e in span_exporters({"OTEL_TRACES_EXPORTER": "console"})] == [
        ConsoleSpanExporter
    ]
    both = span_exporters({"OTEL_TRACES_EXPORTER": "otlp, console"})
    assert [type(e) for e in both] == [OTLPSpanExporter, ConsoleSpanExporter]
    assert span_exporters({"OTEL_TRACES_EXPORTER": "none"}) == []
    http = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
    assert [type(e) for e in span_exporters(http)] == [OTLPSpanExporter]


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "'grpc'"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "'http/json'"),
        ({"OTEL_TRACES_EXPORTER": "otlp,jaeger-thrift"}, "'jaeger-thrift'"),
    ],
)
def test_an_exporter_the_gateway_cannot_run_is_a_config_error(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        span_exporters(environ)


def test_the_service_is_named_customer_gateway_unless_otel_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    named = {}
    for service in (None, "billing-edge"):
        if service:
            monkeypatch.setenv("OTEL_SERVICE_NAME", service)
        provider = tracer_provider("customer-gateway")
        named[service] = provider.resource.attributes["service.name"]
        provider.shutdown()
    assert named == {None: "customer-gateway", "billing-edge": "billing-edge"}


def test_tracing_off_configures_no_provider_and_loads_no_exporter() -> None:
    check = (
        "import sys\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from gateway.app import create_app\n"
        "from gateway.settings.model import Settings\n"
        "create_app(Settings())\n"
        "assert not isinstance(trace.get_tracer_provider(), TracerProvider)\n"
        "assert 'opentelemetry.exporter.otlp.proto.http' not in sys.modules\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OTEL_"))}
    done = subprocess.run(  # noqa: S603 - this interpreter on a fixed script
        [sys.executable, "-c", check], env=environ, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()


def test_serve_refuses_an_otlp_protocol_it_cannot_speak() -> None:
    environ = {**os.environ, "GATEWAY_TRACING": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    done = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", "serve", "--port", str(free_port())],
        env=environ,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "http/protobuf only" in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    names = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        names.append(span.name)
    return names


def test_spans_reach_an_otlp_receiver_in_the_callers_trace() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with otlp_receiver() as receiver:
        env = {
            "GATEWAY_TRACING": "true",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # An hour between batches: what arrives, the shutdown's flush delivered.
            "OTEL_BSP_SCHEDULE_DELAY": "3600000",
            "OTEL_SERVICE_NAME": "",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test",
        }
        args = ["serve", "--port", str(port)]
        with gateway_process(args, f"{base}/healthz", env=env, secrets=CREDENTIALS):
            traced = httpx.post(
                f"{base}/graphql",
                json={"query": LIST},
                headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE},
                timeout=30,
            )
            untraced = httpx.post(
                f"{base}/graphql",
                json={"query": LIST},
                headers={"traceparent": MALFORMED[1], "Cache-Control": "no-cache"},
                timeout=30,
            )
            assert receiver.spans == []
        assert traced.status_code == untraced.status_code == 200
        spans = list(receiver.spans)
    assert receiver.refused == []

    requests = [s for s in spans if s.name == "graphql.request"]
    assert len(requests) == 2
    [request] = [s for s in requests if s.trace_id == TRACE_ID]
    assert request.parent_span_id == PARENT_ID
    assert request.trace_state == TRACESTATE
    assert request.kind == "SPAN_KIND_SERVER"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["gateway.tenant"] == "demo"
    # The malformed one started a trace of its own, a root.
    [fresh] = [s for s in requests if s is not request]
    assert fresh.trace_id not in (TRACE_ID, "0" * 32)
    assert fresh.parent_span_id == ""

    by_id = {s.span_id: s for s in spans}
    calls = [s for s in spans if s.name == "upstream.call" and s.trace_id == TRACE_ID]
    assert {c.attributes["gateway.provider"] for c in calls} == {"LAYER", "CODAT", "LAGO"}
    for call in calls:
        assert call.kind == "SPAN_KIND_CLIENT"
        assert call.trace_state == TRACESTATE
        assert "graphql.request" in ancestors(call, by_id)
    assert {s.name for s in spans if s.trace_id == TRACE_ID} >= {
        "graphql.request",
        "cache.fetch",
        "upstream.call",
    }

    for span in spans:
        assert span.resource["service.name"] == "customer-gateway"
        assert span.resource["deployment.environment.name"] == "test"
        assert span.scope == "customer-gateway"
        seen = repr(span.attributes) + repr(span.resource)
        for credential in CREDENTIALS:
            assert credential not in seen
        assert "bearer" not in seen.lower()
