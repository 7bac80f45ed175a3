"""GraphQL over HTTP: methods, media types, status codes, request errors and tenant auth."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from gateway.settings.model import Settings
from sandbox import SECOND_ACCOUNT
from tests.support import GatewayClient, gateway_client, sandbox_tenant

QUERY = "{ customers(first: 3) { edges { node { provider displayName } } } }"
GQL = "application/graphql-response+json"


async def test_post_returns_data_as_json(gateway: GatewayClient) -> None:
    response = await gateway.http.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    edges = response.json()["data"]["customers"]["edges"]
    assert [e["node"]["provider"] for e in edges] == ["LAYER", "CODAT", "LAGO"]
    assert response.headers["x-request-id"]


async def test_graphql_response_json_when_accepted(gateway: GatewayClient) -> None:
    response = await gateway.http.post("/graphql", json={"query": QUERY}, headers={"accept": GQL})
    assert response.status_code == 200
    assert response.headers["content-type"] == GQL


async def test_queries_over_get(gateway: GatewayClient) -> None:
    response = await gateway.http.get(
        "/graphql",
        params={
            "query": "query($n: Int) { customers(first: $n) { edges { cursor } } }",
            "variables": '{"n": 2}',
        },
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["customers"]["edges"]) == 2


async def test_mutations_are_refused_over_get(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/graphql", params={"query": "mutation { x }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert not gateway.upstream.requests


@pytest.mark.parametrize(
    ("query", "variables", "code", "status"),
    [
        ("{ customers(first: 2) { edges ", None, "GRAPHQL_PARSE_FAILED", 400),
        ("{ customers { nope } }", None, "GRAPHQL_VALIDATION_FAILED", 422),
        (
            "query($n: Int!) { customers(first: $n) { edges { cursor } } }",
            {"n": "two"},
            "BAD_USER_INPUT",
            422,
        ),
    ],
)
@pytest.mark.parametrize("accept", [GQL, "application/json"])
async def test_request_errors_have_no_data_and_a_code(
    gateway: GatewayClient,
    query: str,
    variables: dict[str, object] | None,
    code: str,
    status: int,
    accept: str,
) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": accept}
    )
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code
    assert not gateway.upstream.requests


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "BAD_REQUEST"),
        (b'[{"query": "{ __typename }"}]', "application/json", 422, "BATCHING_NOT_SUPPORTED"),
        (b'{"variables": {}}', "application/json", 422, "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": [1]}', "application/json", 422, "BAD_REQUEST"),
        (b"query=x", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            b'{"query": "' + b" " * (1024 * 1024) + b'{ __typename }"}',
            "application/json",
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ],
)
async def test_malformed_requests_are_refused_before_parsing(
    gateway: GatewayClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = await gateway.http.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert not gateway.upstream.requests


async def test_unacceptable_accept_header(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": QUERY}, headers={"accept": "application/xml"}
    )
    assert response.status_code == 406


async def test_graphiql_is_served_to_browsers(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql.min.js" in response.text
    assert "customers(first: $first)" in response.text
    assert "unpkg" not in response.text
    asset = await gateway.http.get("/graphiql-assets/graphiql.min.js")
    assert asset.status_code == 200


async def test_graphiql_is_off_in_production() -> None:
    async with gateway_client(Settings(mode="production")) as gateway:
        response = await gateway.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_request_ids_are_echoed_only_when_plain(gateway: GatewayClient) -> None:
    ok = await gateway.http.post(
        "/graphql", json={"query": QUERY}, headers={"x-request-id": "abc-123"}
    )
    assert ok.headers["x-request-id"] == "abc-123"
    forged = await gateway.http.post(
        "/graphql", json={"query": QUERY}, headers={"x-request-id": "a b\tevil=1"}
    )
    assert forged.headers["x-request-id"] != "a b\tevil=1"
    assert len(forged.headers["x-request-id"]) == 32


def keyed_settings() -> Settings:
    base = "http://sandbox.invalid"
    return Settings(
        tenants=(
            sandbox_tenant("alpha", base, allow_anonymous=False, api_keys=("alpha-key",)),
            sandbox_tenant(
                "beta", base, SECOND_ACCOUNT, allow_anonymous=False, api_keys=("beta-key",)
            ),
        )
    )


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", "Basic YWxwaGEta2V5", "Bearer "]
)
async def test_unknown_or_missing_keys_get_401_and_no_upstream_call(
    authorization: str | None,
) -> None:
    async with gateway_client(keyed_settings()) as gateway:
        headers = {"authorization": authorization} if authorization else {}
        response = await gateway.http.post("/graphql", json={"query": QUERY}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert not gateway.upstream.requests


async def test_each_key_reads_its_own_tenant() -> None:
    query = "{ customers(first: 30, providers: [LAGO]) { edges { node { account } } } }"
    async with gateway_client(keyed_settings()) as gateway:
        alpha = await gateway.query(query, headers={"authorization": "Bearer alpha-key"})
        beta = await gateway.query(query, headers={"authorization": "Bearer beta-key"})
    alpha_accounts = {e["node"]["account"] for e in alpha["data"]["customers"]["edges"]}
    beta_accounts = {e["node"]["account"] for e in beta["data"]["customers"]["edges"]}
    assert alpha_accounts == {"sandbox-demo-org"}
    assert beta_accounts == {"sandbox-second-org"}


async def test_a_failing_provider_costs_only_its_own_customers() -> None:
    tenant = sandbox_tenant("demo", "http://sandbox.invalid")
    assert tenant.lago
    broken = tenant.model_copy(
        update={"lago": tenant.lago.model_copy(update={"api_key": SecretStr("revoked-key")})}
    )
    async with gateway_client(Settings(tenants=(broken,))) as gateway:
        body = await gateway.query("{ customers(first: 6) { edges { node { provider } } } }")
    providers = [e["node"]["provider"] for e in body["data"]["customers"]["edges"]]
    assert providers == ["LAYER", "CODAT"] * 3
    assert body["errors"] == [
        {
            "message": "LAGO: the provider refused the configured credentials",
            "path": ["customers"],
            "extensions": {"code": "UPSTREAM_AUTH", "provider": "LAGO"},
        }
    ]
    assert "revoked-key" not in str(body)
