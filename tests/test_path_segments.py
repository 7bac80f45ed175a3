"""A provider id a client sends is one URL path segment, never a step along the path.

httpx (like every URL normaliser) resolves "." and ".." segments, so an id of ".." made
`GET …/customers/..` reach another endpoint of the provider (found by an adversarial probe).
Such ids cannot name a customer: they read as null, with no upstream call.
"""

from __future__ import annotations

import pytest

from gateway.domain.customer import CustomerKey, Provider
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import DEMO_ACCOUNT
from tests.support import PROVIDERS, GatewayClient

SCOPES = {
    LAYER: DEMO_ACCOUNT.layer_business_id,
    CODAT: DEMO_ACCOUNT.codat_company_id,
    LAGO: DEMO_ACCOUNT.lago_organization_id,
}
TRACE = {"x-gateway-trace": "upstream"}


@pytest.mark.parametrize("native_id", [".", ".."])
@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_dot_segment_ids_read_as_null_without_a_call(
    gateway: GatewayClient, provider: Provider, native_id: str
) -> None:
    global_id = encode_id(CustomerKey(provider, SCOPES[provider], native_id))
    for query in (
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { nodes(ids: [$id]) { id } }",
    ):
        body = await gateway.query(query, {"id": global_id}, headers=TRACE)
        assert "errors" not in body, body
        assert body["data"] in ({"node": None}, {"nodes": [None]})
        assert body["extensions"]["upstream"]["calls"] == 0
    assert not [r for r in gateway.upstream.requests if not r.url.path.endswith("/token")]


@pytest.mark.parametrize("external_id", [".", ".."])
# Lago reads a customer by external id in the path (Layer sends it as a query parameter).
@pytest.mark.parametrize("provider", ["LAGO"])
async def test_dot_segment_external_ids_read_as_null_without_a_call(
    gateway: GatewayClient, provider: str, external_id: str
) -> None:
    body = await gateway.query(
        "query($p: Provider!, $e: String!) { customerByExternalId(provider: $p, externalId: $e)"
        " { id } }",
        {"p": provider, "e": external_id},
        headers=TRACE,
    )
    assert body["data"] == {"customerByExternalId": None}
    assert body["extensions"]["upstream"]["calls"] == 0
