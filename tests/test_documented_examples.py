"""Every value of each provider's documented example customer is readable through typed fields.

The examples are served verbatim by the sandbox and read back through the real adapters.
"""

from __future__ import annotations

import json
import re

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import DEMO_ACCOUNT
from sandbox.seed import example
from tests.support import VENDOR, GatewayClient

LAYER_QUERY = """
query($id: ID!) { customer(id: $id) {
  __typename id provider providerId account scope externalId displayName companyName legalName
  personName { fullName firstName lastName } customerType email emails
  phones { number type e164 extension }
  addresses { type line1 line2 city region postalCode country countryCode formatted raw }
  notes status
  tags { id key value dimensionDisplayName valueDisplayName dimensionId definitionId
         createdAt updatedAt deletedAt archivedAt }
  ... on LayerCustomer {
    objectType individualName layerCompanyName layerEmail mobilePhone officePhone addressString
    layerStatus memo layerMetadata transactionTags { key value }
  }
} }
"""

CODAT_QUERY = """
query($id: ID!) { customer(id: $id) {
  __typename providerId displayName companyName personName { fullName } email emails
  phones { number }
  currency registrationNumber taxId status updatedAt sourceModifiedAt addresses { type }
  contacts { name email phones { number type } status modifiedAt
             address { type line1 line2 city region country postalCode countryCode } }
  ... on CodatCustomer {
    customerName contactName emailAddress defaultCurrency phone codatStatus isDeleted
    supplementalData modifiedDate sourceModifiedDate
  }
} }
"""

LAGO_QUERY = """
query($id: ID!) { customer(id: $id) {
  __typename providerId externalId displayName companyName legalName registrationNumber taxId
  personName { fullName firstName lastName } customerType email emails
  phones { number type e164 extension }
  currency timezone createdAt updatedAt referenceNumber status
  addresses { type line1 line2 city region postalCode country countryCode }
  taxes { providerInternalId name code description rate appliedToOrganization createdAt }
  metadata { providerInternalId key value displayInInvoice createdAt }
  integrationLinks { system kind code externalId providerInternalId syncWithProvider subsidiaryId }
  ... on LagoCustomer {
    lagoId sequentialId slug name firstname lastname legalNumber lagoEmail lagoCustomerType phone
    url logoUrl taxIdentificationNumber timezoneOverride applicableTimezone netPaymentTerm
    finalizeZeroAmountInvoice
    billingAddress { addressLine1 addressLine2 city state zipcode country }
    shippingAddress { addressLine1 addressLine2 city state zipcode country }
    billingConfiguration {
      invoiceGracePeriod paymentProvider paymentProviderCode providerCustomerId sync
      syncWithProvider documentLocale providerPaymentMethods
    }
  }
} }
"""


def _reference_json(name: str, pattern: str) -> object:
    text = (VENDOR / "reference" / name).read_text(encoding="utf-8")
    match = re.search(pattern, text, re.S)
    assert match, f"no JSON example found in {name}"
    return json.loads(match.group(1))


def test_sandbox_serves_the_documented_examples_verbatim() -> None:
    layer = _reference_json("layer-customer-object.md", r"```json Response[^\n]*\n(.*?)```")
    codat = _reference_json("codat-customers-data-model.md", r"```json\n(.*?)```")
    lago_text = (VENDOR / "reference" / "lago-customer-object.txt").read_text(encoding="utf-8")
    lago, _ = json.JSONDecoder().raw_decode(lago_text)
    assert example("layer") == layer["data"]  # type: ignore[index]
    assert example("codat") == codat["results"][0]  # type: ignore[index]
    assert example("lago") == lago


async def test_layer_example_value_by_value(gateway: GatewayClient) -> None:
    wire = example("layer")
    key = CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, wire["id"])
    body = await gateway.query(LAYER_QUERY, {"id": encode_id(key)})
    c = body["data"]["customer"]
    assert "errors" not in body
    assert c["__typename"] == "LayerCustomer"
    assert c["objectType"] == "CustomerData"
    assert c["providerId"] == "4f7c1b16-e057-4ec0-8b20-50308ba5b9ea"
    assert c["account"] == c["scope"] == DEMO_ACCOUNT.layer_business_id
    assert c["externalId"] == "customer-1"
    assert c["individualName"] == "John Doe"
    # Two Latin-script words: split into first and last name (docs/records.md).
    assert c["personName"] == {"fullName": "John Doe", "firstName": "John", "lastName": "Doe"}
    assert c["layerCompanyName"] == c["companyName"] == c["displayName"] == "Acme, Inc."
    assert c["customerType"] == "COMPANY"
    assert c["layerEmail"] == c["email"] == "john@hotmail.com"
    assert c["emails"] == ["john@hotmail.com"]
    assert c["mobilePhone"] == c["officePhone"] == "555-555-5555"
    # 555-555-5555 is no number of the US plan: kept as given, with no E.164.
    assert c["phones"] == [
        {"number": "555-555-5555", "type": "MOBILE", "e164": None, "extension": None},
        {"number": "555-555-5555", "type": "OFFICE", "e164": None, "extension": None},
    ]
    assert c["addressString"] == "123 Main St, Phoenix, AZ 85001"
    # The line parses as one US street address: structured, with the line kept.
    assert c["addresses"] == [
        {
            "type": "UNKNOWN",
            "line1": "123 Main St",
            "line2": None,
            "city": "Phoenix",
            "region": "AZ",
            "postalCode": "85001",
            "country": None,
            "countryCode": "US",
            "formatted": "123 Main St, Phoenix, AZ 85001",
            "raw": "123 Main St, Phoenix, AZ 85001",
        }
    ]
    # The example still uses the older name `notes` for the memo.
    assert c["memo"] == c["notes"] == "This is a note"
    assert c["layerStatus"] == "ACTIVE"
    assert c["status"] == "ACTIVE"
    assert c["layerMetadata"] is None
    assert c["tags"] == [
        {
            "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "key": "department",
            "value": "sales",
            "dimensionDisplayName": "Department",
            "valueDisplayName": "Sales Team",
            "dimensionId": "d1e2f3a4-b5c6-7890-abcd-ef1234567890",
            "definitionId": "f1e2d3c4-b5a6-7890-abcd-ef1234567890",
            "createdAt": "2024-02-27T02:16:40.389772+00:00",
            "updatedAt": "2024-02-27T02:16:40.389772+00:00",
            "deletedAt": None,
            "archivedAt": None,
        }
    ]
    assert c["transactionTags"] == [{"key": "department", "value": "sales"}]


async def test_codat_example_value_by_value(gateway: GatewayClient) -> None:
    key = CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, "71")
    body = await gateway.query(CODAT_QUERY, {"id": encode_id(key)})
    assert "errors" not in body
    c = body["data"]["customer"]
    assert c["__typename"] == "CodatCustomer"
    assert c["providerId"] == "71"
    assert c["customerName"] == c["displayName"] == c["companyName"] == "Wile E. Coyote"
    assert c["contactName"] == "Mr W.E. Coyote"
    assert c["personName"] == {"fullName": "Mr W.E. Coyote"}
    assert c["emailAddress"] == c["email"] == "w.coyote@warnerbros.com"
    assert c["defaultCurrency"] == c["currency"] == "USD"
    assert c["phone"] is None
    assert c["phones"] == []
    assert c["addresses"] == []
    assert c["contacts"] == [
        {
            "name": "Mr W.E. Coyote",
            "email": "w.coyote@warnerbros.com",
            "phones": [],
            "status": "ACTIVE",
            "modifiedAt": None,
            "address": {
                "type": "BILLING",
                "line1": "Coyote Bungalow",
                "line2": "",
                "city": "Mohave Valley",
                "region": "Arizona",
                "country": "USA",
                # Codat's example spells the key `postalcode`; the value still arrives.
                "postalCode": "86440",
                "countryCode": "US",
            },
        }
    ]
    assert c["registrationNumber"] == "12345"
    assert c["taxId"] == "1357924680123456"
    assert c["codatStatus"] == "Unknown"
    assert c["status"] == "UNKNOWN"
    assert c["isDeleted"] is None
    assert c["supplementalData"] is None
    assert c["modifiedDate"] is None
    assert c["updatedAt"] is None
    assert c["sourceModifiedDate"] is None
    assert c["sourceModifiedAt"] is None


async def test_lago_example_value_by_value(gateway: GatewayClient) -> None:
    key = CustomerKey(
        LAGO, DEMO_ACCOUNT.lago_organization_id, "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba"
    )
    body = await gateway.query(LAGO_QUERY, {"id": encode_id(key)})
    assert "errors" not in body
    c = body["data"]["customer"]
    ts = "2022-04-29T08:59:51+00:00"
    assert c["__typename"] == "LagoCustomer"
    assert c["lagoId"] == "1a901a90-1a90-1a90-1a90-1a901a901a90"
    assert c["sequentialId"] == 1
    assert c["slug"] == c["referenceNumber"] == "LAG-1234-001"
    assert c["externalId"] == c["providerId"] == "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba"
    assert c["name"] == c["displayName"] == "Gavin Belson"
    assert c["firstname"] == "Gavin"
    assert c["lastname"] == "Belson"
    assert c["personName"] == {
        "fullName": "Gavin Belson",
        "firstName": "Gavin",
        "lastName": "Belson",
    }
    # A company's name is the name it is known by, Lago's `name`, before its legal name
    # (docs/records.md); Lago's own example puts a person's name there.
    assert c["companyName"] == "Gavin Belson"
    assert c["legalName"] == "Coleman-Blair"
    assert c["legalNumber"] == c["registrationNumber"] == "49-008-2965"
    assert c["lagoCustomerType"] == "company"
    assert c["customerType"] == "COMPANY"
    assert c["lagoEmail"] == c["email"] == "dinesh@piedpiper.test"
    assert c["emails"] == ["dinesh@piedpiper.test"]
    assert c["phone"] == "1-171-883-3711 x245"
    # Not a number of the US plan (the record's country): no E.164, so no extension either.
    assert c["phones"] == [
        {"number": "1-171-883-3711 x245", "type": "PRIMARY", "e164": None, "extension": None}
    ]
    assert c["url"] == "http://hooli.com"
    assert c["logoUrl"] == "http://hooli.com/logo.png"
    assert c["taxIdentificationNumber"] == c["taxId"] == "EU123456789"
    assert (
        c["timezoneOverride"] == c["applicableTimezone"] == c["timezone"] == "America/Los_Angeles"
    )
    assert c["currency"] == "USD"
    assert c["netPaymentTerm"] == 30
    assert c["finalizeZeroAmountInvoice"] == "inherit"
    assert c["createdAt"] == c["updatedAt"] == ts
    assert c["status"] == "ACTIVE"
    billing_address = {
        "addressLine1": "5230 Penfield Ave",
        "addressLine2": None,
        "city": "Woodland Hills",
        "state": "CA",
        "zipcode": "91364",
        "country": "US",
    }
    assert c["billingAddress"] == billing_address
    assert c["shippingAddress"] == billing_address
    common_address = {
        "line1": "5230 Penfield Ave",
        "line2": None,
        "city": "Woodland Hills",
        "region": "CA",
        "postalCode": "91364",
        "country": "US",
        "countryCode": "US",
    }
    assert c["addresses"] == [
        {"type": "BILLING", **common_address},
        {"type": "DELIVERY", **common_address},
    ]
    assert c["billingConfiguration"] == {
        "invoiceGracePeriod": 3,
        "paymentProvider": "stripe",
        "paymentProviderCode": "stripe-eu-1",
        "providerCustomerId": "cus_12345",
        "sync": True,
        "syncWithProvider": True,
        "documentLocale": "fr",
        "providerPaymentMethods": ["card", "sepa_debit"],
    }
    assert c["metadata"] == [
        {
            "providerInternalId": "1a901a90-1a90-1a90-1a90-1a901a901a90",
            "key": "Purchase Order",
            "value": "123456789",
            "displayInInvoice": True,
            "createdAt": ts,
        }
    ]
    assert c["integrationLinks"] == [
        {
            "system": "netsuite",
            "kind": "ACCOUNTING",
            "code": "netsuite-eu-1",
            "externalId": "cus_12345",
            "providerInternalId": "1a901a90-1a90-1a90-1a90-1a901a901a90",
            "syncWithProvider": True,
            "subsidiaryId": "2",
        },
        {
            "system": "stripe",
            "kind": "PAYMENT_PROVIDER",
            "code": "stripe-eu-1",
            "externalId": "cus_12345",
            "providerInternalId": None,
            "syncWithProvider": True,
            "subsidiaryId": None,
        },
    ]
    assert c["taxes"] == [
        {
            "providerInternalId": "1a901a90-1a90-1a90-1a90-1a901a901a90",
            "name": "TVA",
            "code": "french_standard_vat",
            "description": "French standard VAT",
            "rate": 20.0,
            "appliedToOrganization": True,
            "createdAt": "2023-07-06T14:35:58+00:00",
        }
    ]


async def test_raw_carries_the_payload_as_received(gateway: GatewayClient) -> None:
    key = CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, "71")
    body = await gateway.query(
        "query($id: ID!) { customer(id: $id) { raw } }", {"id": encode_id(key)}
    )
    assert body["data"]["customer"]["raw"] == example("codat")
