"""Records real providers send that their own schemas do not promise: free-form values read as
JSON, enum values added tomorrow read as UNKNOWN/OTHER with the raw string beside them, and a
record that still cannot be read costs only itself (RECORD_UNREADABLE), never its page."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.backward import list_customers_before
from gateway.domain.customer import Customer, CustomerKey, CustomerStatus
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.errors import RecordUnreadable
from gateway.federation import list_customers
from gateway.ids import encode_id
from gateway.providers.base import Page
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import DEMO_ACCOUNT
from tests.providers.fakes import ListingSource
from tests.support import GatewayClient

LAGO_DETAILS = """query($id: ID!) { customer(id: $id) { displayName ... on LagoCustomer {
  errorDetails { lagoId errorCode details } } } }"""
LIST = """query($providers: [Provider!]) { customers(providers: $providers, first: 5) {
  edges { node { providerId } } pageInfo { hasNextPage } } }"""
LINKS = """query { customers(providers: [LAGO], first: 2) { edges { node { providerId
  integrationLinks { system kind } } } } }"""
CUSTOMER = "query($id: ID!) { customer(id: $id) { providerId } }"


def without_locations(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "locations"} for e in errors]


def lago_customers(gateway: GatewayClient) -> list[dict[str, Any]]:
    """The demo organisation's customers in Lago's list order (newest first)."""
    customers = gateway.sandbox.data.lago_organizations[DEMO_ACCOUNT.lago_api_key]
    return sorted(customers, key=lambda c: (c["created_at"], c["lago_id"]), reverse=True)


def lago_id(external_id: str) -> str:
    return encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, external_id))


async def test_lago_error_details_with_nested_values_read_as_json(gateway: GatewayClient) -> None:
    customer = lago_customers(gateway)[0]
    # As Lago stores a failed tax sync: a backtrace array and a nested response object.
    details = {
        "tax_error": "taxDateTooFarInFuture",
        "backtrace": ["app/services/integrations/aggregator/taxes.rb:42", "app/jobs/sync.rb:7"],
        "response": {"status": 422, "errors": [{"field": "date", "code": "too_far"}]},
    }
    customer["error_details"] = [
        {"lago_id": "e1", "error_code": "tax_error", "details": details},
        {"lago_id": None, "error_code": "not_provided", "details": {}},
    ]
    body = await gateway.query(LAGO_DETAILS, {"id": lago_id(customer["external_id"])})
    assert "errors" not in body
    assert body["data"]["customer"]["errorDetails"] == [
        {"lagoId": "e1", "errorCode": "tax_error", "details": details},
        {"lagoId": None, "errorCode": "not_provided", "details": {}},
    ]


async def test_an_integration_link_of_a_null_or_new_type_costs_nothing(
    gateway: GatewayClient,
) -> None:
    first, second = lago_customers(gateway)[:2]
    first["integration_customers"] = [
        {"lago_id": "i1", "type": None, "integration_code": "x", "external_customer_id": "1"},
        {"lago_id": "i2", "type": "quickbooks", "integration_code": "qb"},
        {"lago_id": "i3", "type": "xero", "integration_code": "xero-1"},
    ]
    body = await gateway.query(LINKS)
    assert "errors" not in body
    edges = body["data"]["customers"]["edges"]
    assert [e["node"]["providerId"] for e in edges] == [first["external_id"], second["external_id"]]
    assert edges[0]["node"]["integrationLinks"][:3] == [
        {"system": None, "kind": "OTHER"},
        {"system": "quickbooks", "kind": "OTHER"},
        {"system": "xero", "kind": "ACCOUNTING"},
    ]


def unreadable(
    provider: str, provider_id: str | None, field: str, path: list[str]
) -> dict[str, Any]:
    return {
        "message": f"{provider}: a customer record could not be read",
        "path": path,
        "extensions": {
            "code": "RECORD_UNREADABLE",
            "provider": provider,
            "providerId": provider_id,
            "field": field,
        },
    }


async def test_an_unreadable_lago_record_is_left_out_of_its_page_with_one_error(
    gateway: GatewayClient,
) -> None:
    customers = lago_customers(gateway)
    customers[1]["sequential_id"] = "first"
    expected = [c["external_id"] for c in (customers[0], *customers[2:6])]
    for _ in range(2):
        body = await gateway.query(LIST, {"providers": ["LAGO"]})
        connection = body["data"]["customers"]
        assert [e["node"]["providerId"] for e in connection["edges"]] == expected
        assert connection["pageInfo"] == {"hasNextPage": True}
        assert body["errors"] == [
            unreadable("LAGO", customers[1]["external_id"], "sequential_id", ["customers"])
        ]
    # The page with the bad item was stored and served: read once, reported each time.
    assert len(gateway.upstream.calls("/lago/api/v1/customers")) == 1


async def test_an_unreadable_record_is_reported_once_across_pages(gateway: GatewayClient) -> None:
    customers = lago_customers(gateway)
    customers[2]["metadata"] = [{"key": None, "value": "x"}]
    seen: list[str] = []
    errors: list[Any] = []
    after = None
    query = """query($after: String) { customers(providers: [LAGO], first: 2, after: $after) {
      edges { node { providerId } } pageInfo { hasNextPage endCursor } } }"""
    for _ in range(3):
        body = await gateway.query(query, {"after": after})
        connection = body["data"]["customers"]
        seen += [e["node"]["providerId"] for e in connection["edges"]]
        errors += body.get("errors", [])
        after = connection["pageInfo"]["endCursor"]
    assert seen == [c["external_id"] for c in (*customers[:2], *customers[3:7])]
    assert errors == [
        unreadable("LAGO", customers[2]["external_id"], "metadata.0.key", ["customers"])
    ]


async def test_an_unreadable_record_read_by_id_is_null_with_its_error(
    gateway: GatewayClient,
) -> None:
    customer = lago_customers(gateway)[0]
    customer["taxes"] = [{"name": "VAT", "code": "vat", "rate": "twenty"}]
    for _ in range(2):
        body = await gateway.query(CUSTOMER, {"id": lago_id(customer["external_id"])})
        assert body["data"] == {"customer": None}
        assert without_locations(body["errors"]) == [
            unreadable("LAGO", customer["external_id"], "taxes.0.rate", ["customer"])
        ]
    assert len(gateway.upstream.calls("/lago/api/v1/customers/")) == 1


async def test_unreadable_codat_and_layer_records_cost_only_themselves(
    gateway: GatewayClient,
) -> None:
    codat = gateway.sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id]
    codat_bad = min(codat, key=lambda c: c["id"])
    codat_bad["modifiedDate"] = "last tuesday"
    layer = gateway.sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
    layer[0]["transaction_tags"] = "priority"
    body = await gateway.query(LIST, {"providers": ["LAYER", "CODAT"]})
    ids = [e["node"]["providerId"] for e in body["data"]["customers"]["edges"]]
    assert len(ids) == 5
    assert codat_bad["id"] not in ids
    assert layer[0]["id"] not in ids
    assert body["errors"] == [
        unreadable("LAYER", layer[0]["id"], "transaction_tags", ["customers"]),
        unreadable("CODAT", codat_bad["id"], "modifiedDate", ["customers"]),
    ]
    codat_id = encode_id(CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, codat_bad["id"]))
    layer_id = encode_id(CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, layer[0]["id"]))
    both = """query($a: ID!, $b: ID!) { a: customer(id: $a) { providerId }
      b: customer(id: $b) { providerId } }"""
    body = await gateway.query(both, {"a": codat_id, "b": layer_id})
    assert body["data"] == {"a": None, "b": None}
    assert sorted(without_locations(body["errors"]), key=lambda e: e["path"]) == [
        unreadable("CODAT", codat_bad["id"], "modifiedDate", ["a"]),
        unreadable("LAYER", layer[0]["id"], "transaction_tags", ["b"]),
    ]


def toy(n: int) -> Customer:
    return Customer(
        key=CustomerKey(LAGO, "org", f"c{n}"),
        **dict.fromkeys(
            ("external_id", "display_name", "company_name", "legal_name", "person_name"), None
        ),
        customer_type=None,
        **dict.fromkeys(
            ("emails", "phones", "addresses", "contacts", "taxes", "integration_links"), ()
        ),
        tax_id=None,
        registration_number=None,
        tags=(),
        metadata=(),
        notes=None,
        reference_number=None,
        status=CustomerStatus.ACTIVE,
        **dict.fromkeys(("currency", "timezone", "created_at", "updated_at"), None),
        source_modified_at=None,
        details=None,
    )


class PagesWithUnreadable(ListingSource):
    """Three pages; unreadable records first, between, and last on a page, and last of all."""

    PAGES = (("x", 0, 1, "x", 2, "x"), ("x", "x"), (3, 4, "x"))

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        self.calls += 1
        index = int(token or "0")
        items: list[Customer] = []
        unreadable: list[tuple[int, RecordUnreadable]] = []
        for n, slot in enumerate(self.PAGES[index]):
            if slot == "x":
                unreadable.append((len(items), RecordUnreadable(LAGO, f"p{index}-{n}", None)))
            else:
                items.append(toy(int(slot)))
        more = index + 1 < len(self.PAGES)
        return Page(tuple(items), str(index + 1) if more else None, tuple(unreadable))


@pytest.mark.parametrize("first", [1, 2, 3, 4, 5, 10])
async def test_every_unreadable_record_is_reported_exactly_once_at_any_page_size(
    first: int,
) -> None:
    source = PagesWithUnreadable()
    seen: list[str] = []
    reported: list[str | None] = []
    after: str | None = None
    while True:
        page = await list_customers([source], EMPTY_FILTER, first, after)
        seen += [e.customer.key.native_id for e in page.edges]
        reported += [e.provider_id for e in page.errors if isinstance(e, RecordUnreadable)]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == ["c0", "c1", "c2", "c3", "c4"]
    assert reported == ["p0-0", "p0-3", "p0-5", "p1-0", "p1-1", "p2-2"]


async def test_enum_values_added_tomorrow_read_as_unknown_with_the_value_as_sent(
    gateway: GatewayClient,
) -> None:
    codat = min(
        gateway.sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id], key=lambda c: c["id"]
    )
    codat["status"] = "Pending"
    codat["addresses"] = [{"type": "Shipping", "city": "Leeds"}, {"type": None, "city": "York"}]
    codat["contacts"] = [
        {"name": "Ada", "status": None, "phone": [{"number": "+44 1", "type": "Pager"}]}
    ]
    layer = gateway.sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id][0]
    layer["status"] = "MERGED"
    lago = lago_customers(gateway)[0]
    lago["customer_type"] = "partnership"
    query = """query { customers(first: 3) { edges { node { __typename status customerType
      addresses { type providerType }
      ... on LayerCustomer { layerStatus }
      ... on LagoCustomer { lagoCustomerType }
      ... on CodatCustomer { codatStatus contacts { status providerStatus
        phones { type providerType } } } } } } }"""
    body = await gateway.query(query)
    assert "errors" not in body
    layer_node, codat_node, lago_node = (e["node"] for e in body["data"]["customers"]["edges"])
    assert (layer_node["status"], layer_node["layerStatus"]) == ("UNKNOWN", "MERGED")
    assert (lago_node["customerType"], lago_node["lagoCustomerType"]) == ("OTHER", "partnership")
    assert (codat_node["status"], codat_node["codatStatus"]) == ("UNKNOWN", "Pending")
    assert codat_node["addresses"] == [
        {"type": "UNKNOWN", "providerType": "Shipping"},
        {"type": "UNKNOWN", "providerType": None},
    ]
    assert codat_node["contacts"] == [
        {
            "status": "UNKNOWN",
            "providerStatus": None,
            "phones": [{"type": "UNKNOWN", "providerType": "Pager"}],
        }
    ]


@pytest.mark.parametrize("provider", ["LAYER", "LAGO"])
async def test_an_unreadable_record_read_by_external_id_is_null_with_its_error(
    gateway: GatewayClient, provider: str
) -> None:
    if provider == "LAYER":
        record = gateway.sandbox.data.layer_businesses[DEMO_ACCOUNT.layer_business_id][0]
        record["transaction_tags"] = "priority"
        provider_id, field = record["id"], "transaction_tags"
    else:
        record = lago_customers(gateway)[0]
        record["sequential_id"] = None
        provider_id, field = record["external_id"], "sequential_id"
    query = """query($p: Provider!, $e: String!) {
      customerByExternalId(provider: $p, externalId: $e) { providerId } }"""
    body = await gateway.query(query, {"p": provider, "e": record["external_id"]})
    assert body["data"] == {"customerByExternalId": None}
    assert without_locations(body["errors"]) == [
        unreadable(provider, provider_id, field, ["customerByExternalId"])
    ]


@pytest.mark.parametrize("last", [1, 2, 3, 5, 10])
async def test_backwards_every_unreadable_record_is_reported_exactly_once(last: int) -> None:
    """Walking back from the end reports what walking forwards does: each record once, on
    the page that shows the customer after it (the end's own on the last page)."""
    source = PagesWithUnreadable()
    seen: list[str] = []
    reported: list[str | None] = []
    before: str | None = None
    while True:
        page = await list_customers_before([source], EMPTY_FILTER, last, before)
        seen = [e.customer.key.native_id for e in page.edges] + seen
        reported += [e.provider_id for e in page.errors if isinstance(e, RecordUnreadable)]
        if not page.has_previous_page:
            break
        before = page.start_cursor
    assert seen == ["c0", "c1", "c2", "c3", "c4"]
    assert sorted(p or "" for p in reported) == sorted(
        f"p{i}-{n}"
        for i, slots in enumerate(PagesWithUnreadable.PAGES)
        for n, slot in enumerate(slots)
        if slot == "x"
    )
