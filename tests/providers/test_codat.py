from __future__ import annotations

import base64

import httpx
import pytest
from pydantic import SecretStr

from gateway.domain.customer import CustomerStatus
from gateway.domain.filter import EMPTY_FILTER
from gateway.errors import (
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from gateway.providers.codat import CODAT
from gateway.providers.codat.client import CodatSource
from sandbox import CODAT_API_KEY, Sandbox
from sandbox.codat import error_body
from tests.providers.fakes import answering, client
from tests.support import CountingTransport, demo_sources, sandbox_tenant, upstream


def codat_source(http: httpx.AsyncClient) -> CodatSource:
    tenant = sandbox_tenant("t", str(http.base_url))
    assert tenant.codat
    return CodatSource(upstream(http, CODAT), tenant.codat)


async def test_sends_the_key_alone_base64_encoded(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        assert await codat_source(http).get("71") is not None
    expected = "Basic " + base64.b64encode(CODAT_API_KEY.encode()).decode()
    assert counting.requests[0].headers["authorization"] == expected


async def test_a_wrong_key_is_upstream_auth(sandbox_http: httpx.AsyncClient) -> None:
    tenant = sandbox_tenant("t", str(sandbox_http.base_url))
    assert tenant.codat
    wrong = tenant.codat.model_copy(update={"api_key": SecretStr("wrong")})
    with pytest.raises(UpstreamAuthError):
        await CodatSource(upstream(sandbox_http, CODAT), wrong).get("71")


async def test_pages_to_the_last_page(sandbox_http: httpx.AsyncClient) -> None:
    source = demo_sources(sandbox_http)[CODAT]
    sizes, token = [], None
    while True:
        page = await source.list_page(EMPTY_FILTER, token)
        sizes.append(len(page.items))
        if page.next_token is None:
            break
        token = page.next_token
    assert sizes == [100, 100, 61]


async def test_ids_with_reserved_characters_are_read(sandbox_http: httpx.AsyncClient) -> None:
    customer = await demo_sources(sandbox_http)[CODAT].get("C&R-000")
    assert customer is not None
    assert customer.key.native_id == "C&R-000"


async def test_deleted_at_source_reads_as_deleted(sandbox_http: httpx.AsyncClient) -> None:
    source = demo_sources(sandbox_http)[CODAT]
    page = await source.list_page(EMPTY_FILTER, None)
    deleted = [c for c in page.items if c.status is CustomerStatus.DELETED]
    assert deleted
    assert all(c.raw["metadata"]["isDeleted"] is True for c in deleted)


async def test_unknown_customer_is_none_and_there_are_no_external_ids(
    sandbox_http: httpx.AsyncClient,
) -> None:
    source = demo_sources(sandbox_http)[CODAT]
    assert await source.get("no-such-customer") is None
    assert await source.get_by_external_id("71") is None


async def test_an_unknown_company_on_a_list_is_rejected(sandbox_http: httpx.AsyncClient) -> None:
    tenant = sandbox_tenant("t", str(sandbox_http.base_url))
    assert tenant.codat
    other = tenant.codat.model_copy(update={"company_id": "no-such-company"})
    with pytest.raises(UpstreamRejected):
        await CodatSource(upstream(sandbox_http, CODAT), other).list_page(EMPTY_FILTER, None)


async def test_not_found_body_is_none() -> None:
    async with client(answering(404, error_body(404, "Customer not found"))) as http:
        assert await codat_source(http).get("71") is None


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (400, None, UpstreamRejected),
        (401, None, UpstreamAuthError),
        (402, None, UpstreamRejected),
        (403, None, UpstreamAuthError),
        # The customers dataset was never read or is still syncing: it will come.
        (409, None, UpstreamUnavailable),
        (429, {"Retry-After": "7200"}, UpstreamRateLimited),
        (500, None, UpstreamUnavailable),
        (503, None, UpstreamUnavailable),
    ],
)
async def test_error_message_bodies_map_to_typed_errors(
    status: int, headers: dict[str, str] | None, error: type[Exception]
) -> None:
    body = error_body(status, "Something secret went wrong")
    async with client(answering(status, body, headers)) as http:
        with pytest.raises(error) as caught:
            await codat_source(http).get("71")
    assert "secret" not in str(caught.value)
    if isinstance(caught.value, UpstreamRateLimited):
        assert caught.value.retry_after == 7200.0


@pytest.mark.parametrize("body", [b"{truncated", b"<html></html>", b'{"results": "nope"}'])
async def test_unreadable_list_bodies_are_bad_responses(body: bytes) -> None:
    async with client(answering(200, body)) as http:
        with pytest.raises(UpstreamBadResponse):
            await codat_source(http).list_page(EMPTY_FILTER, None)
