from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from gateway.domain.filter import EMPTY_FILTER
from gateway.errors import (
    RecordUnreadable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from gateway.providers.layer import LAYER
from gateway.providers.layer.auth import EXPIRY_MARGIN_SECONDS, LayerTokens
from gateway.providers.layer.client import LayerSource
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.providers.fakes import answering, client
from tests.support import CountingTransport, demo_sources, sandbox_tenant, upstream

EXAMPLE_ID = "4f7c1b16-e057-4ec0-8b20-50308ba5b9ea"


def layer_source(http: httpx.AsyncClient, tokens: LayerTokens | None = None) -> LayerSource:
    tenant = sandbox_tenant("t", str(http.base_url))
    assert tenant.layer
    return LayerSource(upstream(http), tenant.layer, tokens or LayerTokens())


@pytest.fixture
def counting(sandbox: Sandbox) -> CountingTransport:
    return CountingTransport(httpx.ASGITransport(sandbox.app))


async def test_token_is_fetched_once_and_reused(counting: CountingTransport) -> None:
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        source = layer_source(http)
        for _ in range(3):
            assert await source.get(EXAMPLE_ID) is not None
    token_calls = counting.calls("/oauth2/token")
    assert len(token_calls) == 1
    assert token_calls[0].headers["authorization"].startswith("Basic ")
    assert b"grant_type=client_credentials" in token_calls[0].content
    api_calls = counting.calls("/customers/")
    assert all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


async def test_a_401_refreshes_the_token_once(
    sandbox: Sandbox, counting: CountingTransport
) -> None:
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        source = layer_source(http)
        await source.get(EXAMPLE_ID)
        sandbox.layer.revoke_all_tokens()
        customer = await source.get(EXAMPLE_ID)
    assert customer is not None
    assert customer.display_name == "Acme, Inc."
    assert len(counting.calls("/oauth2/token")) == 2
    assert len(counting.calls(f"/customers/{EXAMPLE_ID}")) == 3


async def test_a_token_is_renewed_before_it_expires(counting: CountingTransport) -> None:
    now = [1000.0]
    tokens = LayerTokens(clock=lambda: now[0])
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        source = layer_source(http, tokens)
        await source.get(EXAMPLE_ID)
        now[0] += 3600 - EXPIRY_MARGIN_SECONDS - 1
        await source.get(EXAMPLE_ID)
        assert len(counting.calls("/oauth2/token")) == 1
        now[0] += 2
        await source.get(EXAMPLE_ID)
    assert len(counting.calls("/oauth2/token")) == 2


async def test_refused_credentials_are_upstream_auth(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sb.invalid"
    ) as http:
        tenant = sandbox_tenant("t", str(http.base_url))
        assert tenant.layer
        wrong = tenant.layer.model_copy(update={"client_secret": SecretStr("nope")})
        with pytest.raises(UpstreamAuthError) as caught:
            await LayerSource(upstream(http), wrong, LayerTokens()).get(EXAMPLE_ID)
    assert caught.value.provider is LAYER
    assert "nope" not in str(caught.value)


async def test_pages_to_the_last_page(counting: CountingTransport) -> None:
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        source = demo_sources(http)[LAYER]
        sizes, token = [], None
        while True:
            page = await source.list_page(EMPTY_FILTER, token)
            sizes.append(len(page.items))
            if page.next_token is None:
                break
            token = page.next_token
    assert sizes == [100, 100, 61]
    assert len(counting.calls("/customers")) == 3


async def test_unknown_customer_is_none(sandbox_http: httpx.AsyncClient) -> None:
    source = demo_sources(sandbox_http)[LAYER]
    assert await source.get("00000000-0000-4000-8000-000000000000") is None
    assert await source.get_by_external_id("no-such-external-id") is None


async def test_get_by_external_id(sandbox_http: httpx.AsyncClient) -> None:
    customer = await demo_sources(sandbox_http)[LAYER].get_by_external_id("customer-1")
    assert customer is not None
    assert customer.key.native_id == EXAMPLE_ID


async def test_an_unknown_business_on_a_list_is_rejected(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sb.invalid"
    ) as http:
        tenant = sandbox_tenant("t", str(http.base_url))
        assert tenant.layer
        other = tenant.layer.model_copy(update={"business_id": "not-a-business"})
        with pytest.raises(UpstreamRejected):
            await LayerSource(upstream(http), other, LayerTokens()).list_page(EMPTY_FILTER, None)
    assert DEMO_ACCOUNT.layer_business_id != "not-a-business"


NOT_FOUND = {
    "errors": [
        {
            "type": "NotFound",
            "description": "Customer not found",
            "error_enum": "SpecifiedIdNotFound",
            "meta": {},
        }
    ]
}
BAD_REQUEST = {
    "errors": [
        {
            "type": "BadRequest",
            "description": "Invalid",
            "error_enum": "SpecifiedBadRequest",
            "meta": {},
        }
    ]
}
SERVER_ERROR = {"errors": [{"type": "InternalServerError", "description": "Something broke"}]}


async def test_not_found_body_is_none() -> None:
    async with client(answering(404, NOT_FOUND)) as http:
        assert await layer_source(http).get(EXAMPLE_ID) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (400, BAD_REQUEST, None, UpstreamRejected),
        (429, {"errors": [{"type": "TooManyRequests"}]}, {"Retry-After": "1"}, UpstreamRateLimited),
        (500, SERVER_ERROR, None, UpstreamUnavailable),
        (503, b"<html>maintenance</html>", None, UpstreamUnavailable),
        (200, b"<html>not json</html>", None, UpstreamBadResponse),
        (200, {"data": "no object"}, None, UpstreamBadResponse),
        # The envelope fits; the record in it does not: it alone is unreadable.
        (200, {"data": {"no_id": True}}, None, RecordUnreadable),
        (200, {"unexpected": []}, None, UpstreamBadResponse),
    ],
)
async def test_error_bodies_map_to_typed_errors(
    status: int, body: object, headers: dict[str, str] | None, error: type[Exception]
) -> None:
    async with client(answering(status, body, headers)) as http:
        with pytest.raises(error) as caught:
            await layer_source(http).get(EXAMPLE_ID)
    if isinstance(caught.value, UpstreamRateLimited):
        assert caught.value.retry_after == 1.0
    # No upstream text reaches the message.
    assert "broke" not in str(caught.value)
    assert "html" not in str(caught.value)
