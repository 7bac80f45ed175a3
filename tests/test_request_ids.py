"""Every answer of every route carries `X-Request-Id`: the caller's when it is well formed."""

from __future__ import annotations

import pytest

from tests.support import GatewayClient

ROUTES = [
    ("GET", "/healthz", 200),
    ("GET", "/readyz", 200),
    ("GET", "/metrics", 200),
    ("POST", "/webhooks/nobody", 404),
    ("GET", "/webhooks/lago", 405),
    ("GET", "/no/such/route", 404),
    ("PUT", "/graphql", 405),
    ("GET", "/", 307),
]


@pytest.mark.parametrize(("method", "path", "status"), ROUTES)
async def test_every_route_answers_with_a_request_id(
    gateway: GatewayClient, method: str, path: str, status: int
) -> None:
    fresh = await gateway.http.request(method, path, follow_redirects=False)
    assert fresh.status_code == status
    assert len(fresh.headers["x-request-id"]) == 32
    kept = await gateway.http.request(
        method, path, headers={"X-Request-Id": "trace-42.a_b"}, follow_redirects=False
    )
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    forged = await gateway.http.request(
        method, path, headers={"X-Request-Id": "bad id\tinjected"}, follow_redirects=False
    )
    assert forged.headers["x-request-id"] != "bad id\tinjected"
    assert len(forged.headers["x-request-id"]) == 32


async def test_the_graphql_route_keeps_one_id_per_answer(gateway: GatewayClient) -> None:
    answer = await gateway.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "abc-1"}
    )
    assert answer.headers.get_list("x-request-id") == ["abc-1"]
