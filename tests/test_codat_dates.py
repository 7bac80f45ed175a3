"""Codat's dates told apart: the source's change time is `updatedAt` when Codat knows it,
Codat's own sync time is `syncedAt`, and what a null `sourceModifiedDate` can and cannot say
(see docs/records.md)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from sandbox import DEMO_ACCOUNT
from tests.support import GatewayClient

QUERY = """query($id: ID!) { customer(id: $id) { status updatedAt sourceModifiedAt
  ... on CodatCustomer { syncedAt deletedInSource modifiedDate sourceModifiedDate isDeleted } } }"""


async def read(gateway: GatewayClient, changes: dict[str, Any]) -> dict[str, Any]:
    record = gateway.sandbox.data.codat_companies[DEMO_ACCOUNT.codat_company_id][3]
    record.update(changes)
    key = CustomerKey(CODAT, DEMO_ACCOUNT.codat_company_id, record["id"])
    body = await gateway.query(QUERY, {"id": encode_id(key)})
    assert "errors" not in body
    customer: dict[str, Any] = body["data"]["customer"]
    return customer


async def test_updated_at_is_the_sources_change_time_and_synced_at_codats(
    gateway: GatewayClient,
) -> None:
    customer = await read(
        gateway,
        {
            "modifiedDate": "2024-05-02T09:30:00Z",
            "sourceModifiedDate": "2024-04-30T17:05:00+01:00",
            "metadata": {"isDeleted": False},
            "status": "Active",
        },
    )
    assert customer == {
        "status": "ACTIVE",
        "updatedAt": "2024-04-30T17:05:00+01:00",
        "sourceModifiedAt": "2024-04-30T17:05:00+01:00",
        "syncedAt": "2024-05-02T09:30:00+00:00",
        "deletedInSource": False,
        "modifiedDate": "2024-05-02T09:30:00+00:00",
        "sourceModifiedDate": "2024-04-30T17:05:00+01:00",
        "isDeleted": False,
    }


async def test_without_a_source_change_time_updated_at_is_when_codat_saw_the_change(
    gateway: GatewayClient,
) -> None:
    customer = await read(
        gateway,
        {"modifiedDate": "2024-05-02T09:30:00Z", "sourceModifiedDate": None, "metadata": None},
    )
    # Codat leaves sourceModifiedDate null for a record deleted in the source without a date,
    # but also for a voided one and on platforms that keep no modification dates: it cannot
    # tell which, so neither can we.
    assert customer["deletedInSource"] is None
    assert customer["updatedAt"] == customer["syncedAt"] == "2024-05-02T09:30:00+00:00"
    assert customer["sourceModifiedAt"] is None


@pytest.mark.parametrize("source_modified", [None, "2024-04-30T17:05:00"])
async def test_a_record_codat_marks_deleted_is_deleted_in_source(
    gateway: GatewayClient, source_modified: str | None
) -> None:
    customer = await read(
        gateway,
        {"sourceModifiedDate": source_modified, "metadata": {"isDeleted": True}},
    )
    assert (customer["status"], customer["deletedInSource"]) == ("DELETED", True)
