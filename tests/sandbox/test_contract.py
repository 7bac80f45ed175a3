"""Sandbox responses, and the adapters' requests, checked against the official OpenAPI files."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from gateway.domain.customer import CustomerStatus
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.federation import list_customers
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from sandbox import CODAT_API_KEY, DEMO_ACCOUNT, Sandbox
from tests.sandbox.contract import (
    CODAT_HOST,
    LAGO_HOST,
    as_spec_request,
    as_spec_response,
    codat_spec,
    lago_spec,
)
from tests.support import CountingTransport, demo_sources

LAGO_AUTH = {"Authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"}
CODAT_AUTH = {"Authorization": "Basic " + base64.b64encode(CODAT_API_KEY.encode()).decode()}
CODAT_CUSTOMERS = f"/codat/companies/{DEMO_ACCOUNT.codat_company_id}/data/customers"

pytestmark = pytest.mark.timeout(300)


def check_lago(response: httpx.Response) -> None:
    request = as_spec_request(response.request, "/lago", LAGO_HOST)
    lago_spec().validate_response(request, as_spec_response(response))


def check_codat(response: httpx.Response) -> None:
    request = as_spec_request(response.request, "/codat", CODAT_HOST)
    codat_spec().validate_response(request, as_spec_response(response))


LAGO_LISTS = [
    {"page": "1", "per_page": "100"},
    {"page": "3", "per_page": "100"},
    {"per_page": "7", "search_term": "acme"},
    {"countries[]": ["US", "FR"], "currencies[]": "USD"},
    {"customer_type": "individual", "has_tax_identification_number": "true"},
    {"account_type[]": "partner", "has_customer_type": "false"},
    {"metadata[segment]": "enterprise"},
    {"search_term": "no customer is called this"},
]


@pytest.mark.parametrize("params", LAGO_LISTS)
async def test_lago_lists_match_the_spec(
    sandbox_http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await sandbox_http.get("/lago/api/v1/customers", params=params, headers=LAGO_AUTH)
    assert response.status_code == 200
    check_lago(response)


async def test_every_lago_customer_read_matches_the_spec(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    customers = sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
    with_extras = [
        c for c in customers if "error_details" in c or "applicable_invoice_custom_sections" in c
    ]
    assert with_extras, "the seed should exercise the get-only fields"
    for customer in customers[:40] + with_extras:
        path = f"/lago/api/v1/customers/{customer['external_id']}"
        response = await sandbox_http.get(path, headers=LAGO_AUTH)
        if response.status_code == 429:
            # 50 requests a second, as Lago's cloud allows: wait as its headers say.
            await asyncio.sleep(float(response.headers["X-RateLimit-Reset"]))
            response = await sandbox_http.get(path, headers=LAGO_AUTH)
        assert response.status_code == 200
        check_lago(response)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/lago/api/v1/customers/no-such-customer", LAGO_AUTH, 404),
        ("/lago/api/v1/customers", {"Authorization": "Bearer wrong"}, 401),
        ("/lago/api/v1/customers/x", {}, 401),
    ],
)
async def test_lago_errors_match_the_spec(
    sandbox_http: httpx.AsyncClient, path: str, headers: dict[str, str], status: int
) -> None:
    response = await sandbox_http.get(path, headers=headers)
    assert response.status_code == status
    check_lago(response)


CODAT_LISTS = [
    {"page": "1", "pageSize": "100"},
    {"page": "3", "pageSize": "100"},
    {"pageSize": "5", "query": "status=Archived", "orderBy": "-modifiedDate"},
    {"query": "{customerName~acme||emailAddress~acme}&&metadata.isDeleted!=true"},
    {"query": "modifiedDate>=2025-01-01"},
    {"query": "id=no-such-id"},
]


@pytest.mark.parametrize("params", CODAT_LISTS)
async def test_codat_lists_match_the_spec(
    sandbox_http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await sandbox_http.get(CODAT_CUSTOMERS, params=params, headers=CODAT_AUTH)
    assert response.status_code == 200
    check_codat(response)


async def test_every_codat_customer_read_matches_the_spec(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    customers = sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id]
    for customer in customers[:40]:
        response = await sandbox_http.get(f"{CODAT_CUSTOMERS}/{customer['id']}", headers=CODAT_AUTH)
        assert response.status_code == 200
        check_codat(response)


@pytest.mark.parametrize(
    ("path", "params", "headers", "status"),
    [
        (f"{CODAT_CUSTOMERS}/no-such-customer", {}, CODAT_AUTH, 404),
        ("/codat/companies/no-such-company/data/customers", {}, CODAT_AUTH, 404),
        (CODAT_CUSTOMERS, {}, {"Authorization": "Basic d3Jvbmc="}, 401),
        (CODAT_CUSTOMERS, {"query": "status"}, CODAT_AUTH, 400),
        (CODAT_CUSTOMERS, {"query": "{status=Active"}, CODAT_AUTH, 400),
    ],
)
async def test_codat_errors_match_the_spec(
    sandbox_http: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    response = await sandbox_http.get(path, params=params, headers=headers)
    assert response.status_code == status
    check_codat(response)


async def test_adapter_requests_match_the_specs(sandbox: Sandbox) -> None:
    """What the gateway sends is what the providers document (paths, parameters, auth)."""
    counting = CountingTransport(httpx.ASGITransport(sandbox.app))
    async with httpx.AsyncClient(transport=counting, base_url="http://sb.invalid") as http:
        sources = demo_sources(http)
        everyone = list(sources.values())
        for filter in (
            EMPTY_FILTER,
            CustomerFilter(search="acme", statuses=frozenset({CustomerStatus.ACTIVE})),
            CustomerFilter(email="w.coyote@warnerbros.com"),
        ):
            await list_customers(everyone, filter, 150, None)
        await sources[CODAT].get("C&R-000")
        await sources[LAGO].get("5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba")
    lago = [r for r in counting.requests if r.url.path.startswith("/lago/")]
    codat = [r for r in counting.requests if r.url.path.startswith("/codat/")]
    assert len(lago) >= 4
    assert len(codat) >= 4
    for request in lago:
        lago_spec().validate_request(as_spec_request(request, "/lago", LAGO_HOST))
    for request in codat:
        codat_spec().validate_request(as_spec_request(request, "/codat", CODAT_HOST))
