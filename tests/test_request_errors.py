"""Request errors exactly as the GraphQL-over-HTTP spec gives them, for every client.

../shared/specs/graphql-over-http/GraphQLOverHTTP.md, "Status Codes": a body that is not JSON or
a document that does not parse is 400; a request that is not a well-formed GraphQL-over-HTTP
request, fails validation, names no runnable operation or has variables that do not coerce is
422; an unsupported method is 405 with `Allow`. A legacy client (`Accept: application/json`)
gets the same statuses, with its own media type. Every such answer is a JSON GraphQL error
with a stable code, touches no provider and logs no traceback.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.services import free_port
from tests.support import GatewayClient

GQL = "application/graphql-response+json"
JSON = "application/json"
LIST = "customers(first: 1) { edges { cursor } }"

REQUEST_ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "operationName names no operation",
        {"query": f"query A {{ {LIST} }}", "operationName": "B"},
        422,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    (
        "several operations and no operationName",
        {"query": f"query A {{ {LIST} }} query B {{ {LIST} }}"},
        422,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    (
        "a document of fragments only",
        {"query": "fragment F on Query { __typename }"},
        422,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    (
        "an unknown fragment",
        {"query": "{ customers(first: 1) { ...Nope } }"},
        422,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    (
        "an unknown variable type",
        {"query": f"query($x: Foo) {{ {LIST} }}", "variables": {"x": 1}},
        422,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    (
        "an unused variable",
        {"query": f"query($x: Int) {{ {LIST} }}"},
        422,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    (
        "an unknown field",
        {"query": "{ customers { nope } }"},
        422,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    (
        "a variable that does not coerce",
        {
            "query": "query($n: Int!) { customers(first: $n) { edges { cursor } } }",
            "variables": {"n": "two"},
        },
        422,
        "BAD_USER_INPUT",
    ),
    (
        "a missing required variable",
        {"query": "query($n: Int!) { customers(first: $n) { edges { cursor } } }"},
        422,
        "BAD_USER_INPUT",
    ),
    (
        "a document that does not parse",
        {"query": "{ customers(first: 2) { edges "},
        400,
        "GRAPHQL_PARSE_FAILED",
    ),
    ("no query", {"variables": {}}, 422, "BAD_REQUEST"),
    (
        "variables that are not an object",
        {"query": "{ __typename }", "variables": [1]},
        422,
        "BAD_REQUEST",
    ),
    (
        "an operationName that is not a string",
        {"query": "{ __typename }", "operationName": 1},
        422,
        "BAD_REQUEST",
    ),
]


@pytest.mark.parametrize(
    ("case", "payload", "status", "code"), REQUEST_ERRORS, ids=[c[0] for c in REQUEST_ERRORS]
)
@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_request_errors_get_the_spec_status_and_a_code(
    gateway: GatewayClient,
    caplog: pytest.LogCaptureFixture,
    case: str,
    payload: dict[str, Any],
    status: int,
    code: str,
    accept: str,
) -> None:
    with caplog.at_level(logging.INFO):
        response = await gateway.http.post("/graphql", json=payload, headers={"accept": accept})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == accept
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]][:1] == [code]
    assert all(e["extensions"]["code"] != "INTERNAL_SERVER_ERROR" for e in body["errors"])
    assert not gateway.upstream.requests
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_an_operation_named_among_several_runs(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql",
        json={"query": f"query A {{ {LIST} }} query B {{ __typename }}", "operationName": "B"},
        headers={"accept": GQL},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert not gateway.upstream.requests


async def test_invalid_json_is_400(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql", content=b"{not json", headers={"content-type": JSON, "accept": GQL}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "PATCH"])
async def test_other_methods_get_405_with_allow(gateway: GatewayClient, method: str) -> None:
    response = await gateway.http.request(method, "/graphql", headers={"accept": GQL})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":
        assert response.headers["content-type"] == GQL
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert not gateway.upstream.requests


@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [
        (f"{GQL};q=0, {JSON}", 200, JSON),
        (f"{GQL}, {JSON};q=0.9", 200, GQL),
        (f"{JSON};q=1, {GQL};q=0.5", 200, JSON),
        (f"{JSON};q=0.5, {GQL};q=0.9", 200, GQL),
        (f"{JSON};q=0", 406, JSON),
        (f"{JSON};q=0, {GQL};q=0", 406, JSON),
        ("*/*;q=0", 406, JSON),
        (f"*/*, {JSON};q=0", 200, GQL),
        ("application/*", 200, JSON),
        (f"{JSON}; charset=utf-8; q=0.8", 200, JSON),
    ],
)
async def test_accept_weights_are_honoured(
    gateway: GatewayClient, accept: str, status: int, media_type: str
) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": accept}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == media_type
    if status == 406:
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def test_a_real_server_keeps_the_connection_and_logs_no_traceback() -> None:
    """Over uvicorn: every bad request is answered on the same kept-alive connection, and the
    process writes no traceback for any of them."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, f"{base}/healthz")
        with httpx.Client(base_url=base, limits=httpx.Limits(max_connections=1)) as http:
            peers = set()
            statuses = []
            for _case, payload, _status, _code in REQUEST_ERRORS:
                for accept in (GQL, JSON):
                    response = http.post("/graphql", json=payload, headers={"accept": accept})
                    statuses.append(response.status_code)
                    assert response.headers.get("connection") != "close"
                    stream = response.extensions["network_stream"]
                    peers.add(stream.get_extra_info("client_addr"))
            head = http.head("/graphql")
            assert head.status_code == 405
            peers.add(head.extensions["network_stream"].get_extra_info("client_addr"))
        assert len(peers) == 1
        assert statuses == [s for _c, _p, s, _k in REQUEST_ERRORS for _ in (GQL, JSON)]
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[1].decode()
    assert "Traceback" not in output
    assert '"level": "ERROR"' not in output


def _wait_until_ready(process: subprocess.Popen[bytes], url: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail("the gateway did not start")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("the gateway did not become ready")


@pytest.mark.parametrize(
    "params",
    [
        {"operationName": ""},
        {"documentId": ""},
        {"variables": "", "extensions": ""},
        {"operationName": "", "documentId": "", "variables": "", "extensions": ""},
    ],
)
async def test_empty_get_parameters_count_as_absent(
    gateway: GatewayClient, params: dict[str, str]
) -> None:
    """GraphQL-over-HTTP, GET: "Specifying the empty string for optional request parameters
    is equivalent to not specifying them at all.\""""
    response = await gateway.http.get(
        "/graphql", params={"query": "{ __typename }", **params}, headers={"accept": GQL}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_date_time_it_cannot_read_is_refused_without_the_parsers_internals(
    gateway: GatewayClient,
) -> None:
    query = '{ customers(first: 1, filter: {modifiedSince: "yesterday"}) { edges { cursor } } }'
    response = await gateway.http.post("/graphql", json={"query": query})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["message"] == 'Value cannot represent a DateTime: "yesterday".'
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
