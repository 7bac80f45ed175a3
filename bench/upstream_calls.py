"""Upstream calls per query, cold and warm, for a mixed workload on the sandbox.

Run: python3 -m bench.upstream_calls

Every figure comes from the gateway's own accounting (`X-Gateway-Trace: upstream`), for one
in-process gateway over the in-process sandbox. "Cold" is the first run of the workload on an
empty cache; "warm" the same workload again at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gateway.app import create_app
from gateway.domain.customer import CustomerKey, Provider
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.load import tenant_settings
from gateway.settings.model import Settings
from sandbox import DEMO_ACCOUNT, DEMO_TENANT, Sandbox, tenant_config

TRACE = {"x-gateway-trace": "upstream"}
NESTED = """{ customers(first: 20) { edges { node {
  displayName emails phones { number type } addresses { type city country }
  contacts { name phones { number } } tags { key value } taxes { code rate }
  integrationLinks { system externalId } metadata { key value } } } } }"""


def workload(sandbox: Sandbox) -> list[tuple[str, str, dict[str, Any]]]:
    layer = [c["id"] for c in sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]]
    codat = [c["id"] for c in sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id]]
    lago = [c["external_id"] for c in sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]]

    def ids(provider: Provider, scope: str, natives: list[str]) -> list[str]:
        return [encode_id(CustomerKey(provider, scope, n)) for n in natives]

    mixed = (
        ids(LAYER, DEMO_ACCOUNT.layer_business_id, layer[150:160])
        + ids(CODAT, DEMO_ACCOUNT.codat_company_id, codat[150:180])
        + ids(LAGO, DEMO_ACCOUNT.lago_organization_id, lago[150:160])
    )
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { displayName } } }"
    one = "query($id: ID!) { customer(id: $id) { displayName email } }"
    return [
        ("list, 20, all providers", "{ customers(first: 20) { edges { cursor } } }", {}),
        (
            "list, 50, search",
            '{ customers(first: 50, filter: {search: "an"}) { edges { cursor } } }',
            {},
        ),
        ("list, nested fields", NESTED, {}),
        ("nodes, 50 mixed ids", nodes, {"ids": mixed}),
        (
            "customer by id (Lago)",
            one,
            {"id": ids(LAGO, DEMO_ACCOUNT.lago_organization_id, [lago[200]])[0]},
        ),
        (
            "customer by id (Codat)",
            one,
            {"id": ids(CODAT, DEMO_ACCOUNT.codat_company_id, [codat[201]])[0]},
        ),
        (
            "by external id (Layer)",
            '{ customerByExternalId(provider: LAYER, externalId: "customer-1") { id } }',
            {},
        ),
        (
            "list, ACTIVE, Codat+Lago",
            "{ customers(first: 30, providers: [CODAT, LAGO], filter: {status: [ACTIVE]}) "
            "{ edges { cursor } } }",
            {},
        ),
    ]


async def run() -> list[tuple[str, dict[str, int], dict[str, int]]]:
    sandbox = Sandbox()
    # The demo tenant, on the in-process sandbox: reached only through the ASGI transport.
    tenant = tenant_settings(tenant_config(DEMO_TENANT, "http://sandbox.invalid"))
    app = create_app(
        Settings(tenants=(tenant,)), upstream_transport=httpx.ASGITransport(sandbox.app)
    )
    rows = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://gateway.test"
        ) as http,
    ):
        queries = workload(sandbox)
        results: dict[str, list[dict[str, int]]] = {name: [] for name, _, _ in queries}
        for _ in ("cold", "warm"):
            for name, query, variables in queries:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=TRACE
                )
                body = response.json()
                assert "errors" not in body, (name, body)
                results[name].append(body["extensions"]["upstream"])
        for name, (cold, warm) in results.items():
            rows.append((name, cold, warm))
    return rows


def naive_calls(name: str, variables: dict[str, Any]) -> str:
    """What an N+1, uncached resolver would spend: one call per id for `nodes`."""
    if name.startswith("nodes"):
        return str(len(variables["ids"]))
    return "-"


def main() -> None:
    rows = asyncio.run(run())
    queries = {name: variables for name, _, variables in workload(Sandbox())}
    print(
        f"{'query':34} {'cold calls':>10} {'warm calls':>10} {'N+1 calls':>10} {'warm hit %':>10}"
    )
    totals = {"cold": 0, "warm": 0, "hits": 0, "lookups": 0, "cold_hits": 0, "cold_lookups": 0}
    for name, cold, warm in rows:
        lookups = warm["cacheHits"] + warm["cacheMisses"]
        ratio = 100 * warm["cacheHits"] / lookups if lookups else 100.0
        naive = naive_calls(name, queries[name])
        print(f"{name:34} {cold['calls']:>10} {warm['calls']:>10} {naive:>10} {ratio:>9.0f}%")
        totals["cold"] += cold["calls"]
        totals["warm"] += warm["calls"]
        totals["hits"] += warm["cacheHits"]
        totals["lookups"] += lookups
        totals["cold_hits"] += cold["cacheHits"]
        totals["cold_lookups"] += cold["cacheHits"] + cold["cacheMisses"]
    n = len(rows)
    print()
    print(f"upstream calls per query: cold {totals['cold'] / n:.2f}, warm {totals['warm'] / n:.2f}")
    cold_ratio = 100 * totals["cold_hits"] / totals["cold_lookups"]
    warm_ratio = 100 * totals["hits"] / totals["lookups"]
    print(
        f"cache hit ratio: cold run {cold_ratio:.0f}% (entries primed by earlier queries), "
        f"warm run {warm_ratio:.0f}%"
    )


if __name__ == "__main__":
    main()
