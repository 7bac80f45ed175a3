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
from gateway.providers.lago import LAGO
from gateway.providers.lago.client import LagoSource
from sandbox import DEMO_ACCOUNT, Sandbox
from tests.providers.fakes import answering, client
from tests.support import CountingTransport, demo_sources, sandbox_tenant, upstream

EXAMPLE = "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba"


def lago_source(http: httpx.AsyncClient) -> LagoSource:
    tenant = sandbox_tenant("t", str(http.base_url))
    assert tenant.lago
    return LagoSource(upstream(http, LAGO), tenant.lago)


async def test_sends_the_key_as_a_bearer_token(sandbox: Sandbox) -> None:
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        assert await lago_source(http).get(EXAMPLE) is not None
    assert counting.requests[0].headers["authorization"] == f"Bearer {DEMO_ACCOUNT.lago_api_key}"
    assert counting.requests[0].url.path == f"/lago/api/v1/customers/{EXAMPLE}"


async def test_a_wrong_key_is_upstream_auth(sandbox_http: httpx.AsyncClient) -> None:
    tenant = sandbox_tenant("t", str(sandbox_http.base_url))
    assert tenant.lago
    wrong = tenant.lago.model_copy(update={"api_key": SecretStr("wrong")})
    with pytest.raises(UpstreamAuthError):
        await LagoSource(upstream(sandbox_http, LAGO), wrong).get(EXAMPLE)


async def test_pages_to_the_last_page_newest_first(sandbox_http: httpx.AsyncClient) -> None:
    source = demo_sources(sandbox_http)[LAGO]
    created, token = [], None
    while True:
        page = await source.list_page(EMPTY_FILTER, token)
        created.extend(c.created_at for c in page.items)
        if page.next_token is None:
            break
        token = page.next_token
    assert len(created) == 261
    assert created == sorted(created, reverse=True)


async def test_external_ids_with_slashes_are_addressable(sandbox: Sandbox) -> None:
    customers = sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
    customers[1]["external_id"] = "acct/42 #1"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sb.invalid"
    ) as http:
        customer = await lago_source(http).get_by_external_id("acct/42 #1")
    assert customer is not None
    assert customer.external_id == "acct/42 #1"


async def test_unknown_customer_is_none(sandbox_http: httpx.AsyncClient) -> None:
    assert await demo_sources(sandbox_http)[LAGO].get("no-such-customer") is None


async def test_not_found_body_is_none() -> None:
    body = {"status": 404, "error": "Not Found", "code": "customer_not_found"}
    async with client(answering(404, body)) as http:
        assert await lago_source(http).get(EXAMPLE) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (400, {"status": 400, "error": "BadRequest: param is missing"}, None, UpstreamRejected),
        (401, {"status": 401, "error": "Unauthorized"}, None, UpstreamAuthError),
        (
            403,
            {"status": 403, "error": "Forbidden", "code": "read_action_not_allowed_for_customer"},
            None,
            UpstreamAuthError,
        ),
        (
            422,
            {
                "status": 422,
                "error": "Unprocessable Entity",
                "code": "validation_errors",
                "error_details": {"per_page": ["value_is_invalid"]},
            },
            None,
            UpstreamRejected,
        ),
        (
            429,
            {"status": 429, "error": "Too Many Requests"},
            {"X-RateLimit-Reset": "3"},
            UpstreamRateLimited,
        ),
        (500, {"status": 500, "error": "Internal Server Error"}, None, UpstreamUnavailable),
        (200, {"customer": ["x"]}, None, UpstreamBadResponse),
        # The envelope fits; the record in it does not: it alone is unreadable.
        (200, {"customer": {"lago_id": "x"}}, None, RecordUnreadable),
    ],
)
async def test_error_bodies_map_to_typed_errors(
    status: int, body: object, headers: dict[str, str] | None, error: type[Exception]
) -> None:
    async with client(answering(status, body, headers)) as http:
        with pytest.raises(error) as caught:
            await lago_source(http).get(EXAMPLE)
    if isinstance(caught.value, UpstreamRateLimited):
        # Lago says when to come back in X-RateLimit-Reset.
        assert caught.value.retry_after == 3.0


async def test_list_validation_errors_are_rejected() -> None:
    body = {"status": 422, "error": "Unprocessable Entity", "code": "validation_errors"}
    async with client(answering(422, body)) as http:
        with pytest.raises(UpstreamRejected):
            await lago_source(http).list_page(EMPTY_FILTER, None)
