"""Generated Layer customers, as the provider's wire JSON."""

from __future__ import annotations

from sandbox.seed.generator import JSON, Generator, Identity, iso
from sandbox.seed.words import CITIES


def layer_customers(gen: Generator, identities: list[Identity], count: int) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 3: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        is_company = ident is not None or gen.chance(0.6)
        company = (ident.company if ident else gen.company()) if is_company else None
        city, region, _country, postcode = ident.city if ident else gen.pick(CITIES)
        email = ident.email if ident else gen.email(first, last, gen.domain(company or "mail"))
        tags = [
            {
                "id": gen.uuid(),
                "key": key,
                "value": value,
                "dimension_display_name": key.title(),
                "value_display_name": value.replace("-", " ").title(),
                "dimension_id": gen.uuid(),
                "definition_id": gen.uuid(),
                "created_at": iso(gen.moment(), micro=True),
                "updated_at": iso(gen.moment(), micro=True),
                "deleted_at": None,
                "archived_at": iso(gen.moment(), micro=True) if gen.chance(0.1) else None,
            }
            for key, value in gen.rng.sample(
                [
                    ("department", "sales"),
                    ("region", "emea"),
                    ("segment", "smb"),
                    ("channel", "partner"),
                    ("tier", "gold"),
                ],
                k=gen.rng.randrange(0, 4),
            )
        ]
        customers.append(
            {
                "type": "CustomerData",
                "id": gen.uuid(),
                "external_id": ident.external_id
                if ident
                else (f"lyr-{n:04d}" if gen.chance(0.8) else None),
                "individual_name": f"{first} {last}" if gen.chance(0.9) or not company else None,
                "company_name": company,
                "email": email if gen.chance(0.95) else None,
                "mobile_phone": gen.phone() if gen.chance(0.6) else None,
                "office_phone": gen.phone() if gen.chance(0.5) else None,
                "address_string": f"{gen.street()}, {city}, {region} {postcode}"
                if gen.chance(0.85)
                else None,
                "status": "ARCHIVED" if gen.chance(0.12) else "ACTIVE",
                "memo": gen.pick([None, "Net 30", "Prefers email invoices", "VIP — call first"]),
                "metadata": gen.pick(
                    [None, {}, {"crm_id": f"crm_{n}"}, {"source": "import", "batch": n % 7}]
                ),
                "reference_number": f"C-{1000 + n}" if gen.chance(0.7) else None,
                "transaction_tags": tags,
            }
        )
    return customers


__all__ = ["layer_customers"]
