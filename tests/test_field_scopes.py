"""`[auth.field_scopes]`: a field the caller lacks a scope for is null with a FORBIDDEN error at
each place it appears, the rest of the answer intact; scoped fields are nullable in the schema
served; a refused root field calls no provider; a rule naming no field stops the start.

The schema runs with a `Context` built here, holding the scopes under test, over the demo
tenant that `gateway_client` connects to the in-process sandbox (its upstream calls counted)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query

from gateway.app import create_app
from gateway.context import Context
from gateway.errors import ConfigError
from gateway.http.errors import format_error
from gateway.settings.load import load_settings
from gateway.settings.model import AuthSettings, LimitSettings, Settings
from gateway.tenants import Tenant
from resolvers.schema import build_schema
from sandbox import DEMO_TENANT
from tests.support import CountingTransport, gateway_client, on_sandbox

TAXES = {"Customer.taxes": ("billing:read",)}
PAGE = """{
  customers(first: 6) {
    edges { node { id provider displayName taxes { code rate } } }
    pageInfo { hasNextPage }
  }
}"""


@dataclass
class Run:
    """One execution's answer, its errors as clients see them, the calls it made and the cost
    limit's estimate."""

    data: Any
    errors: list[dict[str, Any]]
    calls: int
    cost: dict[str, Any]


@dataclass
class ScopedGateway:
    settings: Settings
    upstream: CountingTransport
    tenant: Tenant

    async def run(self, query: str, scopes: frozenset[str] | None) -> Run:
        schema = build_schema(self.settings)
        self.upstream.reset()
        context = Context(self.tenant, self.settings, "test", scopes=scopes)
        result = await schema.execute(query, context_value=context)
        errors = [format_error(e, "test") for e in result.errors or ()]
        cost = (result.extensions or {}).get("cost", {})
        return Run(result.data, errors, len(self.upstream.requests), cost)


@contextlib.asynccontextmanager
async def scoped(
    field_scopes: Mapping[str, tuple[str, ...]], limits: LimitSettings | None = None
) -> AsyncIterator[ScopedGateway]:
    settings = Settings(
        auth=AuthSettings(field_scopes=field_scopes), limits=limits or LimitSettings()
    )
    async with gateway_client(settings) as gateway:
        tenant = gateway.app.state.tenants.tenants[DEMO_TENANT]
        yield ScopedGateway(settings, gateway.upstream, tenant)


def providers_of(data: Any) -> list[str]:
    return [e["node"]["provider"] for e in data["customers"]["edges"]]


async def test_a_caller_without_the_scope_gets_null_and_one_error_per_place() -> None:
    async with scoped(TAXES) as gateway:
        allowed = await gateway.run(PAGE, frozenset({"billing:read"}))
        refused = await gateway.run(PAGE, frozenset({"other"}))
    edges = refused.data["customers"]["edges"]
    # A page across the three providers: every customer still there, only its taxes null.
    assert set(providers_of(refused.data)) == {"LAYER", "CODAT", "LAGO"}
    assert len(edges) == 6
    assert all(e["node"]["taxes"] is None for e in edges)
    for got, full in zip(edges, allowed.data["customers"]["edges"], strict=True):
        assert {**full["node"], "taxes": None} == got["node"]
    assert refused.data["customers"]["pageInfo"] == allowed.data["customers"]["pageInfo"]
    assert sorted(e["path"] for e in refused.errors) == [
        ["customers", "edges", i, "node", "taxes"] for i in range(6)
    ]
    first = refused.errors[0]
    type_name = f"{edges[0]['node']['provider'].title()}Customer"
    assert first["message"] == (
        f"{type_name}.taxes requires the scope billing:read, which the caller does not hold"
    )
    assert first["extensions"] == {
        "code": "FORBIDDEN",
        "field": f"{type_name}.taxes",
        "missingScopes": ["billing:read"],
    }
    assert {e["extensions"]["code"] for e in refused.errors} == {"FORBIDDEN"}


async def test_a_caller_with_the_scope_gets_the_field() -> None:
    async with scoped(TAXES) as gateway:
        run = await gateway.run(PAGE, frozenset({"billing:read", "other"}))
    assert run.errors == []
    nodes = [e["node"] for e in run.data["customers"]["edges"]]
    assert all(isinstance(n["taxes"], list) for n in nodes)
    assert any(n["taxes"] for n in nodes), "the sandbox's page should hold some taxes"


async def test_no_scopes_on_the_context_means_every_scope() -> None:
    async with scoped(TAXES) as gateway:
        run = await gateway.run(PAGE, None)
    assert run.errors == []
    assert all(isinstance(e["node"]["taxes"], list) for e in run.data["customers"]["edges"])


async def test_a_field_needing_two_scopes_is_refused_to_a_caller_holding_one() -> None:
    async with scoped({"Customer.taxes": ("billing:read", "tax:read")}) as gateway:
        one = await gateway.run(PAGE, frozenset({"billing:read"}))
        both = await gateway.run(PAGE, frozenset({"billing:read", "tax:read"}))
    assert len(one.errors) == 6
    assert one.errors[0]["extensions"]["missingScopes"] == ["tax:read"]
    assert all(e["node"]["taxes"] is None for e in one.data["customers"]["edges"])
    assert both.errors == []


async def test_a_concrete_type_rule_reaches_that_type_only() -> None:
    query = """{
      customers(first: 6) { edges { node {
        provider taxes { code }
        ... on LagoCustomer { billingConfiguration { invoiceGracePeriod } }
      } } }
    }"""
    rules = {"LagoCustomer.taxes": ("lago:read",), "LagoCustomer.billingConfiguration": ("x",)}
    async with scoped(rules) as gateway:
        run = await gateway.run(query, frozenset())
    nodes = [e["node"] for e in run.data["customers"]["edges"]]
    lago = [i for i, n in enumerate(nodes) if n["provider"] == "LAGO"]
    assert lago
    assert len(lago) < len(nodes)
    for i, node in enumerate(nodes):
        if i in lago:
            assert node["taxes"] is None
            assert node["billingConfiguration"] is None
        else:
            assert isinstance(node["taxes"], list)
    paths = sorted(tuple(e["path"]) for e in run.errors)
    assert paths == sorted(
        ("customers", "edges", i, "node", name)
        for i in lago
        for name in ("taxes", "billingConfiguration")
    )


async def test_a_refused_root_field_calls_no_provider() -> None:
    query = '{ customers(first: 3) { edges { node { id } } } node(id: "x") { id } }'
    rules = {"Query.customers": ("customers:list",), "Query.node": ("customers:read",)}
    async with scoped(rules) as gateway:
        refused = await gateway.run(query, frozenset({"other"}))
        allowed = await gateway.run(query, frozenset({"customers:list"}))
    assert refused.data == {"customers": None, "node": None}
    assert refused.calls == 0
    assert sorted(e["path"] for e in refused.errors) == [["customers"], ["node"]]
    assert {e["extensions"]["code"] for e in refused.errors} == {"FORBIDDEN"}
    # The same page, allowed, reads the providers.
    assert allowed.calls > 0
    assert len(allowed.data["customers"]["edges"]) == 3
    assert [e["path"] for e in allowed.errors] == [["node"]]


async def test_a_refused_root_field_costs_no_upstream_call() -> None:
    # Six `customers` pages of 100 over three providers cost 36 calls: over a limit of 10.
    pages = " ".join(
        f"p{i}: customers(first: 100) {{ edges {{ node {{ id }} }} }}" for i in range(6)
    )
    query = f'{{ {pages} node(id: "x") {{ id }} }}'
    rules = {"Query.customers": ("customers:list",)}
    async with scoped(rules, LimitSettings(max_upstream_calls=10)) as gateway:
        allowed = await gateway.run(query, frozenset({"customers:list"}))
        refused = await gateway.run(query, frozenset())
        unrestricted = await gateway.run(query, None)
    assert [e["extensions"]["code"] for e in allowed.errors] == ["QUERY_TOO_COSTLY"]
    assert [e["extensions"]["code"] for e in unrestricted.errors] == ["QUERY_TOO_COSTLY"]
    # Refused the pages, the caller is charged only the lookup `node` makes.
    assert refused.cost["estimated"]["upstreamCalls"] == 1
    assert refused.data == {**{f"p{i}": None for i in range(6)}, "node": None}
    codes = sorted(e["extensions"]["code"] for e in refused.errors)
    assert codes == ["BAD_USER_INPUT"] + ["FORBIDDEN"] * 6
    assert refused.calls == 0


def field_type(schema: Any, type_name: str, field: str) -> str:
    return str(schema._schema.type_map[type_name].fields[field].type)


def test_scoped_fields_are_nullable_in_the_schema_served() -> None:
    schema = build_schema(Settings(auth=AuthSettings(field_scopes=TAXES)))
    for name in ("Customer", "LayerCustomer", "CodatCustomer", "LagoCustomer"):
        assert field_type(schema, name, "taxes") == "[Tax!]"
        # Unscoped fields keep their types.
        assert field_type(schema, name, "emails") == "[String!]!"
    sdl = schema.as_str()
    assert "taxes: [Tax!]!" not in sdl
    assert sdl.count("taxes: [Tax!]\n") == 4


def test_introspection_shows_the_nullable_type() -> None:
    schema = build_schema(Settings(auth=AuthSettings(field_scopes=TAXES)))
    result = schema.execute_sync(get_introspection_query())
    assert result.data is not None
    types = {t["name"]: t for t in result.data["__schema"]["types"]}
    for name in ("Customer", "LayerCustomer", "CodatCustomer", "LagoCustomer"):
        taxes = next(f for f in types[name]["fields"] if f["name"] == "taxes")
        assert taxes["type"]["kind"] == "LIST"
        emails = next(f for f in types[name]["fields"] if f["name"] == "emails")
        assert emails["type"]["kind"] == "NON_NULL"


def test_a_concrete_rule_on_an_interface_field_makes_the_interface_nullable_too() -> None:
    schema = build_schema(Settings(auth=AuthSettings(field_scopes={"LagoCustomer.taxes": ("a",)})))
    assert field_type(schema, "LagoCustomer", "taxes") == "[Tax!]"
    # An implementation may not be nullable where its interface is non-null.
    assert field_type(schema, "Customer", "taxes") == "[Tax!]"
    # The other implementations stay non-null: that still satisfies the interface.
    assert field_type(schema, "LayerCustomer", "taxes") == "[Tax!]!"


def test_without_rules_the_schema_is_the_default() -> None:
    assert build_schema(Settings()).as_str() == build_schema().as_str()
    root = build_schema(Settings())._schema.type_map["Query"]
    scoped_root = build_schema(
        Settings(auth=AuthSettings(field_scopes={"Query.customers": ("a",)}))
    )._schema.type_map["Query"]
    assert str(root.fields["customers"].type) == "CustomerConnection!"
    assert str(scoped_root.fields["customers"].type) == "CustomerConnection"
    # Only the scoped field's resolver is wrapped.
    assert scoped_root.fields["node"].resolve.__name__ != "resolve_scoped"
    assert scoped_root.fields["customers"].resolve.__name__ == "resolve_scoped"


def test_rules_naming_no_field_are_all_refused_at_once() -> None:
    rules = {
        "Custmer.taxes": ("a",),
        "LagoCustomer.billingConfig": ("a",),
        "Customer.taxes": ("a",),
        "taxes": ("a",),
        "Query.customers": (),
    }
    with pytest.raises(ConfigError) as raised:
        build_schema(Settings(auth=AuthSettings(field_scopes=rules)))
    message = raised.value.message
    assert message.startswith("auth.field_scopes: 'Custmer.taxes': no type Custmer with fields")
    assert "(types: Address, BillingConfiguration, CodatCustomer," in message
    assert "'LagoCustomer.billingConfig': LagoCustomer has no field billingConfig (fields: id," in (
        message
    )
    assert "billingConfiguration" in message.split("billingConfig (fields:")[1]
    assert "'taxes' is not Type.field" in message
    assert "'Query.customers' requires no scope" in message
    assert "'Customer.taxes'" not in message


def test_a_bad_rule_stops_the_app_from_being_built() -> None:
    settings = Settings(auth=AuthSettings(field_scopes={"Customer.taxs": ("a",)}))
    with pytest.raises(ConfigError, match=re.escape("'Customer.taxs': Customer has no field taxs")):
        create_app(on_sandbox(settings))


def test_the_documented_table_loads_and_applies(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[auth.field_scopes]\n"
        '"Customer.taxes" = ["billing:read"]\n'
        '"LagoCustomer.billingConfiguration" = ["billing:read", "lago:read"]\n'
        '"Query.customers" = ["customers:list"]\n',
        encoding="utf-8",
    )
    schema = build_schema(load_settings(config))
    assert field_type(schema, "LagoCustomer", "billingConfiguration") == "BillingConfiguration"
    assert field_type(schema, "Query", "customers") == "CustomerConnection"
    assert field_type(schema, "CodatCustomer", "taxes") == "[Tax!]"
