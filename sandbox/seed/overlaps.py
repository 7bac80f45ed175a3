"""The same real-world customers in two or three providers, with evidence `sameAs` can find.

The shared identities (sandbox/seed/generator.py) already carry one email to all three
providers, one external id to Layer and Lago and one tax number to Codat and Lago. This adds,
without drawing from the seeded random source (so every other record stays as it was): a
registration number to Codat and Lago, written differently in each; the tax number and email
written differently in one of them for some identities; a Lago integration link (Xero, whose
contact ids Codat passes on as its own) naming the Codat record; and, for one identity, a
Layer email of its own, so its Layer and Codat records share no evidence while both are linked
to its Lago record (links are not transitive).
"""

from __future__ import annotations

import uuid

from sandbox.seed.generator import JSON, Identity

# The identity whose Layer record keeps an email of its own (no Layer-Codat evidence).
UNLINKED_LAYER_EMAIL = 5
_NAMESPACE = uuid.UUID("6f1d3c52-64a1-4b5e-9a49-0c7e2d1b8f30")


def registration_number(identity: Identity) -> str:
    """The identity's company registration number, as Codat keeps it (eight digits)."""
    return f"{int(identity.tax_number[2:]) % 10**8:08d}"


def add_overlaps(
    identities: list[Identity], layer: list[JSON], codat: list[JSON], lago: list[JSON]
) -> None:
    """Writes the evidence into the identities' records (those the account has) in place."""
    for n, identity in enumerate(identities):
        layer_record = _find(layer, "external_id", identity.external_id)
        codat_record = _find(codat, "taxNumber", identity.tax_number)
        lago_record = _find(lago, "external_id", identity.external_id)
        registration = registration_number(identity)
        if codat_record is not None:
            codat_record["registrationNumber"] = registration
            if n % 4 == 3:
                # Emails match case-insensitively.
                codat_record["emailAddress"] = identity.email.capitalize()
        if lago_record is not None:
            # The same number as Codat's once spaces are ignored.
            lago_record["legal_number"] = (
                f"{registration[:2]} {registration[2:5]} {registration[5:]}"
            )
            if n % 2 == 1:
                tax = identity.tax_number
                lago_record["tax_identification_number"] = f"{tax[:2].lower()} {tax[2:5]} {tax[5:]}"
            if n % 2 == 0 and codat_record is not None:
                _link_to_xero(lago_record, str(codat_record["id"]), identity)
        if layer_record is not None and n == UNLINKED_LAYER_EMAIL:
            layer_record["email"] = f"accounts.payable@{identity.email.partition('@')[2]}"


def _find(records: list[JSON], field: str, value: str) -> JSON | None:
    return next((r for r in records if r.get(field) == value), None)


def _link_to_xero(lago_record: JSON, contact_id: str, identity: Identity) -> None:
    links = [i for i in lago_record.get("integration_customers") or [] if i.get("type") != "xero"]
    links.append(
        {
            "lago_id": str(uuid.uuid5(_NAMESPACE, identity.external_id)),
            "type": "xero",
            "integration_code": "xero-1",
            "external_customer_id": contact_id,
            "sync_with_provider": True,
        }
    )
    lago_record["integration_customers"] = links


__all__ = ["UNLINKED_LAYER_EMAIL", "add_overlaps", "registration_number"]
