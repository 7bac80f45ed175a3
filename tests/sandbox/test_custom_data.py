"""Sandbox data of your own (`--data FILE`): checked at start-up, served beside the built-in data.

sandbox/examples/awkward_customers.json holds awkward real-world records in each provider's
wire format; each is served by the in-process sandbox and read back through GraphQL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, Sandbox
from sandbox.seed.custom import SandboxDataError, load_custom_records, parse_custom_records
from tests.services import free_port, gateway_process
from tests.support import GatewayClient, gateway_client
from tests.test_documented_examples import CODAT_QUERY, LAGO_QUERY, LAYER_QUERY

EXAMPLE = Path(__file__).resolve().parents[2] / "sandbox" / "examples" / "awkward_customers.json"
RECORDS = load_custom_records(EXAMPLE)
LONG = ("Ünïcödé-Ω-" * 500)[:5000]
LONG_AR = ("مرحبا بالعالم " * 400)[:5000]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON (Expecting property name enclosed in double quotes: line 1"),
        ("[]", "expected an object of provider lists, not JSON array"),
        ('{"stripe": []}', "unknown provider 'stripe' (known: codat, lago, layer)"),
        ('{"layer": {}}', "layer is not a list of customer records"),
        ('{"codat": [7]}', "codat[0] is not a JSON object"),
        ('{"layer": [{"email": "a@b.c"}]}', "layer[0] has no 'id' (a non-empty string)"),
        ('{"codat": [{"id": 71}]}', "codat[0] has no 'id' (a non-empty string)"),
        (
            '{"lago": [{"lago_id": "x", "external_id": ""}]}',
            "lago[0] has no 'external_id' (a non-empty string)",
        ),
        ('{"lago": [{"external_id": "e"}]}', "lago[0] has no 'lago_id' (a non-empty string)"),
        ('{"layer": [{"id": "a"}, {"id": "a"}]}', "layer[1] repeats id 'a'"),
    ],
)
def test_a_file_that_cannot_be_served_is_refused_naming_it(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SandboxDataError) as raised:
        load_custom_records(path)
    message = str(raised.value)
    assert message.startswith(f"sandbox data {path}: {problem}")
    assert "\n" not in message


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SandboxDataError, match=r"^sandbox data .*gone\.json: cannot be read"):
        load_custom_records(tmp_path / "gone.json")


def test_an_id_the_built_in_data_uses_is_refused() -> None:
    records = parse_custom_records({"codat": [{"id": "71"}]}, "mine.json")
    with pytest.raises(SandboxDataError) as raised:
        Sandbox(custom=records)
    assert str(raised.value) == (
        "sandbox data mine.json: codat[0] id '71' is already a built-in customer's"
    )


def test_records_go_to_the_demo_account_only_and_each_sandbox_has_its_own_copy() -> None:
    records = parse_custom_records({"layer": [{"id": "mine-1", "status": "ACTIVE"}]}, "m")
    first, second = Sandbox(custom=records), Sandbox(custom=records)
    demo = first.data.layer_businesses[DEMO_ACCOUNT.layer_business_id]
    assert demo[0] == {"id": "mine-1", "status": "ACTIVE"}
    assert all(
        c["id"] != "mine-1" for c in first.data.layer_businesses[SECOND_ACCOUNT.layer_business_id]
    )
    demo[0]["status"] = "ARCHIVED"
    assert second.data.layer_businesses[DEMO_ACCOUNT.layer_business_id][0]["status"] == "ACTIVE"
    assert records.records("layer")[0]["status"] == "ACTIVE"


def test_python_m_sandbox_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{"lago": [{"lago_id": "x"}]}')
    result = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "sandbox", "--port", "0", "--data", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"sandbox: sandbox data {path}: lago[0] has no 'external_id' (a non-empty string)\n"
    )


def test_serve_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path, "layer: []")
    result = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", "serve", "--port", "0", "--sandbox-data", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"sandbox: sandbox data {path}: not JSON (" in result.stderr


def test_serve_serves_the_file_beside_the_built_in_data() -> None:
    port = free_port()
    ready = f"http://127.0.0.1:{port}/healthz"
    args = ["serve", "--port", str(port), "--sandbox-data", str(EXAMPLE)]
    key = CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "awkward-rtl")
    query = "query($id: ID!) { customer(id: $id) { displayName emails } }"
    with gateway_process(args, ready):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query, "variables": {"id": encode_id(key)}},
            timeout=30,
        )
        built_in = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ customers(first: 3) { edges { node { provider } } } }"},
            timeout=30,
        )
    assert response.json() == {
        "data": {
            "customer": {
                "displayName": "مؤسسة النور 🌙",
                "emails": ["noa@example.ae", "billing@example.ae"],
            }
        }
    }
    providers = [e["node"]["provider"] for e in built_in.json()["data"]["customers"]["edges"]]
    assert providers == ["LAYER", "CODAT", "LAGO"]


@pytest.fixture
async def awkward() -> Any:
    async with gateway_client(sandbox=Sandbox(custom=RECORDS)) as client:
        yield client


CODAT_DATES = """query($id: ID!) { customer(id: $id) {
  updatedAt ... on CodatCustomer { syncedAt deletedInSource } } }"""
CODAT_RAW_ENUMS = """query($id: ID!) { customer(id: $id) {
  addresses { type providerType }
  contacts { status providerStatus phones { type providerType } } } }"""
LAGO_ERROR_DETAILS = """query($id: ID!) { customer(id: $id) {
  ... on LagoCustomer { errorDetails { lagoId errorCode details } } } }"""


async def read(gateway: GatewayClient, query: str, key: CustomerKey) -> dict[str, Any]:
    gateway.upstream.reset()
    body = await gateway.query(query, {"id": encode_id(key)})
    # One read of the record (Layer's token aside), whatever the provider's way of reading.
    reads = [r for r in gateway.upstream.requests if "oauth2" not in r.url.path]
    assert len(reads) == 1
    assert key.native_id in str(reads[0].url)
    return body


def layer_key(native_id: str) -> CustomerKey:
    return CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, native_id)


def codat_key(native_id: str) -> CustomerKey:
    return CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, native_id)


def lago_key(external_id: str) -> CustomerKey:
    return CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, external_id)


async def test_every_record_of_the_example_is_listed(awkward: GatewayClient) -> None:
    wanted = {
        *(r["id"] for r in RECORDS.records("layer")),
        *(r["id"] for r in RECORDS.records("codat")),
        *(r["external_id"] for r in RECORDS.records("lago")),
    }
    query = """query($after: String) { customers(first: 100, after: $after) {
      edges { node { providerId } } pageInfo { hasNextPage endCursor } } }"""
    seen: set[str] = set()
    after = None
    while True:
        body = await awkward.query(query, {"after": after})
        assert "errors" not in body
        page = body["data"]["customers"]
        seen.update(e["node"]["providerId"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert wanted <= seen


async def test_layer_rtl_emoji_nested_metadata(awkward: GatewayClient) -> None:
    body = await read(awkward, LAYER_QUERY, layer_key("a0000000-0000-4000-8000-000000000001"))
    assert "errors" not in body
    c = body["data"]["customer"]
    assert c["displayName"] == c["companyName"] == "شركة الأفق للتجارة 🏢"
    assert c["individualName"] == "דוד כהן"
    assert c["personName"] == {"fullName": "דוד כהן", "firstName": None, "lastName": None}
    assert c["email"] == "david@xn--mgbh0fb.xn--kgbechtv"
    assert [(p["number"], p["type"]) for p in c["phones"]] == [
        ("+972 50-123-4567", "MOBILE"),
        ("+966 11 234 5678 ext. 9", "OFFICE"),
    ]
    # E.164 only for numbers the numbering plan has: 50-123-4567 is no Israeli mobile range.
    assert [(p["e164"], p["extension"]) for p in c["phones"]] == [
        (None, None),
        ("+966112345678", "9"),
    ]
    # The one line stays as given; a Saudi line is not one the parser may split, and an
    # Arabic country name is not one pycountry resolves (docs/records.md).
    saudi = "شارع الملك فهد ١٢، الرياض ١٢٢١١، المملكة العربية السعودية"
    assert c["addresses"] == [
        {
            "type": "UNKNOWN",
            "line1": None,
            "line2": None,
            "city": None,
            "region": None,
            "postalCode": None,
            "country": None,
            "countryCode": None,
            "formatted": saudi,
            "raw": saudi,
        }
    ]
    assert c["memo"] == c["notes"] == "Prefers WhatsApp 📱 — ✅ signed NDA; 注意: 請求書は英語で"
    assert c["layerMetadata"] == {
        "crm": {"ids": [1, 2, 3], "owner": {"name": "Zoë 😀", "active": True}},
        "flags": [True, None, 1.5],
        "empty": {},
    }
    assert c["transactionTags"] == [
        {"key": "région", "value": "Île-de-France 🇫🇷"},
        {"key": "קטגוריה", "value": "לקוח VIP"},
    ]
    assert c["tags"][1]["createdAt"] is None


async def test_layer_long_nulls_and_new_enum_values(awkward: GatewayClient) -> None:
    long = await read(awkward, LAYER_QUERY, layer_key("a0000000-0000-4000-8000-000000000002"))
    c = long["data"]["customer"]
    assert (c["displayName"], c["memo"], c["addressString"]) == (LONG, LONG, LONG_AR)
    assert c["status"] == c["layerStatus"] == "ARCHIVED"

    nulls = await read(awkward, LAYER_QUERY, layer_key("a0000000-0000-4000-8000-000000000003"))
    c = nulls["data"]["customer"]
    assert "errors" not in nulls
    assert c["displayName"] is c["personName"] is c["email"] is c["objectType"] is None
    # Even the status Layer's schema requires may be null: UNKNOWN, with null as sent beside.
    assert (c["status"], c["layerStatus"]) == ("UNKNOWN", None)
    assert (c["emails"], c["phones"], c["addresses"], c["tags"]) == ([], [], [], [])
    assert c["transactionTags"] == []

    new = await read(awkward, LAYER_QUERY, layer_key("a0000000-0000-4000-8000-000000000004"))
    c = new["data"]["customer"]
    assert "errors" not in new
    assert c["objectType"] == "CustomerDataV2"
    # The new status reads as UNKNOWN with Layer's own string beside it.
    assert (c["status"], c["layerStatus"]) == ("UNKNOWN", "SUSPENDED")


async def test_codat_every_address_and_phone_type(awkward: GatewayClient) -> None:
    body = await read(awkward, CODAT_QUERY, codat_key("awkward-every-type"))
    assert "errors" not in body
    c = body["data"]["customer"]
    assert c["displayName"] == "株式会社サンプル 🍣"
    assert c["personName"] == {"fullName": "محمد عبد الله"}
    assert c["addresses"] == [{"type": "BILLING"}, {"type": "DELIVERY"}, {"type": "UNKNOWN"}]
    assert c["contacts"][0]["phones"] == [
        {"number": "+81 90-0000-0001", "type": "PRIMARY"},
        {"number": "+81 3-0000-0002", "type": "LANDLINE"},
        {"number": "+81 90-0000-0003", "type": "MOBILE"},
        {"number": "+81 3-0000-0004", "type": "FAX"},
        {"number": "+81 3-0000-0005", "type": "UNKNOWN"},
    ]
    assert c["contacts"][0]["address"] == {
        "type": "BILLING",
        "line1": "千代田区丸の内1-1",
        "line2": None,
        "city": "東京",
        "region": None,
        "country": "JP",
        "countryCode": "JP",
        "postalCode": "100-0005",
    }
    assert [k["status"] for k in c["contacts"]] == ["ACTIVE", "ARCHIVED"]
    assert c["supplementalData"] == {
        "legacy": {
            "tiers": [{"name": "gold", "since": 2019}],
            "notes": {"ja": "重要顧客", "emoji": "⭐⭐⭐"},
        }
    }
    # Codat's sync time is `syncedAt`; `updatedAt` is the source's own change time.
    assert c["modifiedDate"] == "2024-05-02T08:30:00+00:00"
    assert c["sourceModifiedDate"] == "2024-05-01T23:59:59+00:00"
    dates = await awkward.query(CODAT_DATES, {"id": encode_id(codat_key("awkward-every-type"))})
    assert dates["data"]["customer"] == {
        "updatedAt": "2024-05-01T23:59:59+00:00",
        "syncedAt": "2024-05-02T08:30:00+00:00",
        "deletedInSource": False,
    }


async def test_codat_new_enum_values_nulls_and_long_strings(awkward: GatewayClient) -> None:
    new = (await read(awkward, CODAT_QUERY, codat_key("awkward-new-enum")))["data"]["customer"]
    assert (new["status"], new["codatStatus"]) == ("UNKNOWN", "Suspended")
    assert new["addresses"] == [{"type": "UNKNOWN"}]
    assert new["contacts"][0]["phones"] == [{"number": "+33 1 23 45 67 89", "type": "UNKNOWN"}]
    assert new["contacts"][0]["status"] == "UNKNOWN"
    # The values Codat sent, beside the UNKNOWN they read as.
    raw = await awkward.query(CODAT_RAW_ENUMS, {"id": encode_id(codat_key("awkward-new-enum"))})
    assert raw["data"]["customer"] == {
        "addresses": [{"type": "UNKNOWN", "providerType": "Registered"}],
        "contacts": [
            {
                "status": "UNKNOWN",
                "providerStatus": "Dormant",
                "phones": [{"type": "UNKNOWN", "providerType": "Pager"}],
            }
        ],
    }

    body = await read(awkward, CODAT_QUERY, codat_key("awkward-nulls"))
    assert "errors" not in body
    nulls = body["data"]["customer"]
    assert nulls["displayName"] is nulls["updatedAt"] is nulls["supplementalData"] is None
    assert (nulls["addresses"], nulls["contacts"], nulls["phones"]) == ([], [], [])

    long = (await read(awkward, CODAT_QUERY, codat_key("awkward-long")))["data"]["customer"]
    assert (long["displayName"], long["contactName"]) == (LONG, LONG_AR)
    assert long["supplementalData"] == {"deep": {"a": {"b": {"c": {"d": [1, [2, [3]]]}}}}}


async def test_lago_rtl_several_taxes_metadata_and_integrations(awkward: GatewayClient) -> None:
    body = await read(awkward, LAGO_QUERY, lago_key("awkward-rtl"))
    assert "errors" not in body
    c = body["data"]["customer"]
    assert c["displayName"] == c["name"] == "مؤسسة النور 🌙"
    # A company is shown by its name, its legal name kept beside it (docs/records.md).
    assert c["companyName"] == "مؤسسة النور 🌙"
    assert c["legalName"] == "مؤسسة النور ذ.م.م"
    assert c["personName"] == {"fullName": "נועה לוי", "firstName": "נועה", "lastName": "לוי"}
    assert c["emails"] == ["noa@example.ae", "billing@example.ae"]
    assert c["addresses"] == [
        {
            "type": "BILLING",
            "line1": "شارع الشيخ زايد",
            "line2": "برج ٣، الطابق ٢٢",
            "city": "دبي",
            "region": "Dubai",
            "postalCode": None,
            "country": "AE",
            "countryCode": "AE",
        },
        {
            "type": "DELIVERY",
            "line1": "רחוב דיזנגוף 50",
            "line2": None,
            "city": "תל אביב",
            "region": None,
            "postalCode": "6433222",
            "country": "IL",
            "countryCode": "IL",
        },
    ]
    assert [(t["code"], t["rate"], t["description"]) for t in c["taxes"]] == [
        ("ae_vat", 5.0, "ضريبة القيمة المضافة"),
        ("dxb_tourism", 7.5, None),
        ("zero_rated", 0.0, None),
    ]
    assert [(m["key"], m["value"], m["displayInInvoice"]) for m in c["metadata"]] == [
        ("المنطقة", "الخليج 🌊", True),
        ("crm", None, False),
    ]
    links = [(x["system"], x["kind"], x["externalId"]) for x in c["integrationLinks"]]
    assert ("netsuite", "ACCOUNTING", "ns_1") in links
    assert ("salesforce", "CRM", "0015g00000XyZ") in links
    assert ("avalara", "TAX", "AVA-9") in links
    assert c["billingConfiguration"]["providerPaymentMethods"] == ["card", "link"]


async def test_lago_nulls_long_and_new_enum_values(awkward: GatewayClient) -> None:
    body = await read(awkward, LAGO_QUERY, lago_key("awkward-nulls"))
    assert "errors" not in body
    c = body["data"]["customer"]
    assert c["displayName"] is c["customerType"] is c["updatedAt"] is None
    assert (c["addresses"], c["taxes"], c["metadata"], c["integrationLinks"]) == ([], [], [], [])
    assert c["shippingAddress"] is c["billingConfiguration"] is None

    long = (await read(awkward, LAGO_QUERY, lago_key("awkward-long")))["data"]["customer"]
    # An individual is shown by their own first and last names (docs/records.md).
    assert (
        long["displayName"] == long["personName"]["fullName"] == f"{LONG[:2500]} {LONG_AR[:2500]}"
    )
    assert long["addresses"][0]["line1"] == LONG

    body = await read(awkward, LAGO_QUERY, lago_key("awkward-new-enum"))
    assert "errors" not in body
    new = body["data"]["customer"]
    # A type Lago adds later reads as OTHER, with Lago's own string beside it.
    assert (new["customerType"], new["lagoCustomerType"]) == ("OTHER", "government")
    assert new["finalizeZeroAmountInvoice"] == "never_heard_of_it"
    assert [(x["system"], x["kind"]) for x in new["integrationLinks"]] == [
        ("quickbooks_next", "OTHER")
    ]


async def test_lago_nested_error_details_cost_only_that_record(awkward: GatewayClient) -> None:
    body = await read(awkward, LAGO_ERROR_DETAILS, lago_key("awkward-error-details"))
    # Free-form `details` read back as JSON, value for value: nested objects and arrays too.
    assert "errors" not in body
    assert body["data"]["customer"]["errorDetails"] == [
        {
            "lagoId": "a1000000-0000-4000-8000-000000000001",
            "errorCode": "tax_error",
            "details": {
                "tax_error": "taxDateTooFarInFuture",
                "backtrace": ["app/services/taxes.rb:12", "app/jobs/sync.rb:40"],
                "context": {"attempt": 3, "provider": {"name": "anrok"}},
            },
        }
    ]


async def test_the_simulators_serve_records_with_nothing_but_identifiers() -> None:
    bare = {"layer": [{"id": "bare"}], "codat": [{"id": "bare"}]}
    records = parse_custom_records(
        {**bare, "lago": [{"lago_id": "bare", "external_id": "bare"}]}, "bare.json"
    )
    sandbox = Sandbox(custom=records)
    lago = {"authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        listed = await http.get("/lago/api/v1/customers?per_page=500&metadata[crm]=", headers=lago)
        one = await http.get("/lago/api/v1/customers/bare", headers=lago)
    assert listed.status_code == 200
    assert {"lago_id": "bare", "external_id": "bare"} in listed.json()["customers"]
    assert one.json() == {"customer": {"lago_id": "bare", "external_id": "bare"}}
