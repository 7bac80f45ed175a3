"""A fourth provider, defined only in tests/toy/, added through create_app's public extension
point: listed, read by id, batched, cached and updated by a webhook along the same paths as
Layer, Codat and Lago, with no gateway module changed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr

from gateway.app import create_app
from gateway.errors import ConfigError
from gateway.providers.registry import Registry, default_connectors
from gateway.settings.load import load_settings
from gateway.settings.model import CacheSettings, Settings, TenantSettings
from resolvers.schema import CUSTOMER_TYPES, build_schema
from tests.support import CountingTransport
from tests.toy.connector import ToyConnection, ToyConnector, toy_signature
from tests.toy.graphql import ToyCustomer
from tests.toy.simulator import API_KEY, ToyShop

SECRET = "toy-webhook-secret"
TOYS = {"t1": "Teddy", "t2": "Robot", "t3": "Kite"}
LIST = """query($after: String) {
  customers(first: 2, after: $after) {
    edges {
      node { __typename provider providerId displayName ... on ToyCustomer { toyName shopId } }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on ToyCustomer { toyName } } }"


@dataclass
class Rig:
    http: httpx.AsyncClient
    upstream: CountingTransport
    shop: ToyShop

    async def query(self, query: str, **variables: object) -> dict[str, object]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        assert "errors" not in body, body
        return body

    async def ids(self) -> list[str]:
        body = await self.query("{ customers(first: 10) { edges { node { id } } } }")
        return [e["node"]["id"] for e in body["data"]["customers"]["edges"]]  # type: ignore[index]

    async def deliver(
        self, event: dict[str, object], *, signature: str | None = None
    ) -> httpx.Response:
        body = orjson.dumps(event)
        headers = {
            "X-Toy-Signature": signature or toy_signature(SECRET, body),
            "X-Toy-Event": str(event["id"]),
            "Content-Type": "application/json",
        }
        return await self.http.post("/webhooks/toy", content=body, headers=headers)


def toy_tenant() -> TenantSettings:
    connection = ToyConnection(
        shop_id="shop-1",
        api_key=SecretStr(API_KEY),
        base_url="http://toys.invalid",
        webhook_secret=SecretStr(SECRET),
    )
    return TenantSettings(id="toys", allow_anonymous=True, toy=connection)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    shop = ToyShop(TOYS)
    upstream = CountingTransport(httpx.ASGITransport(shop.app))
    # The response cache off: the reads below show the upstream cache itself.
    settings = Settings(tenants=(toy_tenant(),), cache=CacheSettings(responses=False))
    app = create_app(
        settings,
        connectors=[*default_connectors(), ToyConnector()],
        customer_types=[*CUSTOMER_TYPES, ToyCustomer],
        upstream_transport=upstream,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Rig(http, upstream, shop)


async def test_the_fourth_provider_is_listed_and_paged_like_the_others(rig: Rig) -> None:
    first = await rig.query(LIST)
    page = first["data"]["customers"]  # type: ignore[index]
    assert [e["node"] for e in page["edges"]] == [
        {
            "__typename": "ToyCustomer",
            "provider": "TOY",
            "providerId": "t1",
            "displayName": "Teddy",
            "toyName": "Teddy",
            "shopId": "shop-1",
        },
        {
            "__typename": "ToyCustomer",
            "provider": "TOY",
            "providerId": "t2",
            "displayName": "Robot",
            "toyName": "Robot",
            "shopId": "shop-1",
        },
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await rig.query(LIST, after=page["pageInfo"]["endCursor"])
    rest = second["data"]["customers"]  # type: ignore[index]
    assert [e["node"]["providerId"] for e in rest["edges"]] == ["t3"]
    assert rest["pageInfo"]["hasNextPage"] is False
    # The provider argument takes the new provider's enum value too.
    only = await rig.query(
        "{ customers(providers: [TOY], first: 5) { edges { node { providerId } } } }"
    )
    assert len(only["data"]["customers"]["edges"]) == 3  # type: ignore[index]


async def test_the_fourth_provider_is_read_by_id_batched_and_cached(rig: Rig) -> None:
    ids = await rig.ids()
    one = await rig.query("query($id: ID!) { customer(id: $id) { displayName } }", id=ids[2])
    assert one["data"] == {"customer": {"displayName": "Kite"}}

    rig.upstream.reset()
    batch = await rig.query(NODES, ids=ids)
    assert batch["data"] == {"nodes": [{"toyName": n} for n in ("Teddy", "Robot", "Kite")]}
    # The loader grouped the three ids into one multi-id read.
    assert [r.url.params.get("ids") for r in rig.upstream.requests] == ["t1,t2,t3"]

    rig.upstream.reset()
    again = await rig.query(NODES, ids=ids)
    assert again == batch
    assert rig.upstream.requests == []  # served from the upstream cache


async def test_a_verified_webhook_of_the_fourth_provider_retires_its_cached_reads(rig: Rig) -> None:
    ids = await rig.ids()
    await rig.query(NODES, ids=ids)
    rig.shop.rename("t1", "Teddy Bear")
    stale = await rig.query(NODES, ids=ids)
    assert stale["data"]["nodes"][0] == {"toyName": "Teddy"}  # type: ignore[index]

    forged = await rig.deliver({"id": "evt-0"}, signature="0" * 64)
    assert forged.status_code == 401
    assert forged.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"

    delivered = await rig.deliver({"id": "evt-1"})
    assert delivered.json() == {"received": True, "action": "retired"}
    replayed = await rig.deliver({"id": "evt-1"})
    assert replayed.json() == {"received": True, "action": "duplicate"}

    rig.upstream.reset()
    fresh = await rig.query(NODES, ids=ids)
    assert fresh["data"]["nodes"][0] == {"toyName": "Teddy Bear"}  # type: ignore[index]
    assert len(rig.upstream.requests) == 1


def test_settings_validate_the_fourth_providers_table_with_its_own_model(tmp_path: Path) -> None:
    registry = Registry([*default_connectors(), ToyConnector()])
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[tenants]]\nid = "toys"\napi_keys = ["${KEY}"]\n'
        '[tenants.toy]\nshop_id = "s"\napi_key = "${TOY_KEY}"\nbase_url = "http://t"\n'
        "[limits.toy]\nconcurrency = 3\n"
    )
    env = {"KEY": "k", "TOY_KEY": "secret"}
    settings = load_settings(config, env, registry)
    (connection,) = settings.tenants[0].connections["toy"]
    assert isinstance(connection, ToyConnection)
    assert connection.api_key.get_secret_value() == "secret"
    assert registry.limits(settings)[ToyConnector.provider].concurrency == 3
    # Without the toy connector registered, its tables name no provider.
    with pytest.raises(ConfigError, match="no provider of that name"):
        load_settings(config, env)


async def test_an_app_without_the_fourth_provider_knows_nothing_of_it() -> None:
    assert "TOY" not in build_schema().as_str()
    app = create_app(Settings(tenants=(TenantSettings(id="t", allow_anonymous=True),)))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://gateway.test"
        ) as http,
    ):
        answer = await http.post("/webhooks/toy", content=b"{}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "WEBHOOK_UNKNOWN_PROVIDER"
