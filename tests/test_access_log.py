"""One access-log line per request on every route, with the id the answer carries; what the
GraphQL route adds (tenant, operation, document hash, upstream calls, cache hits); the two
log formats; /readyz while draining."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.observability.logs import LogFormat, logging_config
from gateway.settings.model import CacheSettings, Settings
from tests.support import GatewayClient, gateway_client, sandbox_tenant

LIST = "query Listing { customers(first: 3) { edges { node { provider } } } }"
ROUTES = [
    ("POST", "/graphql", 200),
    ("GET", "/healthz", 200),
    ("GET", "/metrics", 200),
    ("POST", "/webhooks/x", 404),
    ("GET", "/no/such/route", 404),
    ("PUT", "/graphql", 405),
    ("GET", "/webhooks/lago", 405),
]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access"]


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        yield caplog


@pytest.mark.parametrize(("method", "path", "status"), ROUTES)
async def test_one_line_per_request_with_the_id_the_answer_carries(
    gateway: GatewayClient,
    access: pytest.LogCaptureFixture,
    method: str,
    path: str,
    status: int,
) -> None:
    body = {"query": LIST} if method == "POST" else None
    kept = await gateway.http.request(
        method, path, json=body, headers={"X-Request-Id": "caller-7.a_b"}
    )
    drawn = await gateway.http.request(
        method, path, json=body, headers={"X-Request-Id": "bad id\tinjected"}
    )
    lines = access_lines(access)
    assert kept.status_code == drawn.status_code == status
    assert kept.headers.get_list("x-request-id") == ["caller-7.a_b"]
    assert len(lines) == 2
    assert [r.request_id for r in lines] == [  # type: ignore[attr-defined]
        "caller-7.a_b",
        drawn.headers["x-request-id"],
    ]
    assert len(drawn.headers["x-request-id"]) == 32
    for record in lines:
        assert record.method == method  # type: ignore[attr-defined]
        assert record.path == path  # type: ignore[attr-defined]
        assert record.status == status  # type: ignore[attr-defined]
        assert record.duration_ms >= 0  # type: ignore[attr-defined]


async def test_a_graphql_line_names_tenant_operation_document_and_upstream_work(
    access: pytest.LogCaptureFixture,
) -> None:
    # Without the response cache, the second run reads the upstream cache.
    async with gateway_client(Settings(cache=CacheSettings(responses=False))) as gateway:
        await gateway.http.post("/graphql", json={"query": LIST, "operationName": "Listing"})
        calls = len(gateway.upstream.requests)
        await gateway.http.post("/graphql", json={"query": LIST, "operationName": "Listing"})
    first, second = (vars(r) for r in access_lines(access))
    digest = hashlib.sha256(LIST.encode()).hexdigest()
    assert first["tenant"] == second["tenant"] == "demo"
    assert first["operation"] == second["operation"] == "Listing"
    assert first["document_hash"] == second["document_hash"] == digest
    assert first["status"] == second["status"] == 200
    assert (first["upstream_calls"], first["cache_hits"], first["cache_misses"]) == (calls, 0, 3)
    assert (second["upstream_calls"], second["cache_hits"], second["cache_misses"]) == (0, 3, 0)


async def test_a_refused_caller_is_logged_without_the_key_it_sent(
    access: pytest.LogCaptureFixture,
) -> None:
    tenant = sandbox_tenant("acme", allow_anonymous=False, api_keys=("acme-key-1",))
    async with gateway_client(Settings(tenants=(tenant,))) as gateway:
        refused = await gateway.http.post(
            "/graphql", json={"query": LIST}, headers={"Authorization": "Bearer wrong-key-9"}
        )
        served = await gateway.http.post(
            "/graphql", json={"query": LIST}, headers={"Authorization": "Bearer acme-key-1"}
        )
    lines = [vars(r) for r in access_lines(access)]
    assert [refused.status_code, served.status_code] == [401, 200]
    assert [(line["tenant"], line["status"]) for line in lines] == [(None, 401), ("acme", 200)]
    assert lines[0]["operation"] is None
    assert lines[0]["upstream_calls"] == 0
    for line in lines:
        assert "wrong-key-9" not in str(line)
        assert "acme-key-1" not in str(line)


def formatted(log_format: LogFormat, **fields: Any) -> str:
    """One `gateway.access` record through the handler `serve` configures."""
    logging.config.dictConfig(logging_config(log_format=log_format))
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        logging.getLogger("gateway.access").info("POST /graphql 200", extra=fields)
    finally:
        logging.config.dictConfig(
            {"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}}
        )
    return stream.getvalue()


def test_json_lines_by_default() -> None:
    text = formatted("json", request_id="r-1", tenant="demo", status=200, duration_ms=1.5)
    line = json.loads(text)
    assert text.count("\n") == 1
    assert line["message"] == "POST /graphql 200"
    assert line["level"] == "INFO"
    assert line["logger"] == "gateway.access"
    assert (line["request_id"], line["tenant"], line["status"]) == ("r-1", "demo", 200)
    assert line["time"].endswith("+00:00")


def test_console_lines_on_request() -> None:
    text = formatted("console", request_id="r-2", tenant="demo", status=200, operation=None)
    assert text.count("\n") == 1
    assert " INFO    gateway.access POST /graphql 200 request_id=r-2 tenant=demo status=200\n" in (
        text
    )


async def test_readyz_is_503_while_the_process_drains(gateway: GatewayClient) -> None:
    ready = await gateway.http.get("/readyz")
    # What `serve` does on SIGTERM (gateway/cli.py), before it stops accepting connections.
    gateway.app.state.draining = True
    draining = await gateway.http.get("/readyz")
    alive = await gateway.http.get("/livez")
    assert ready.status_code == 200
    assert draining.status_code == 503
    assert draining.json() == {"status": "draining"}
    assert "x-request-id" in draining.headers
    # Still alive: a liveness probe must not restart a process finishing its requests.
    assert alive.status_code == 200
