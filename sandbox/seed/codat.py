"""Generated Codat customers, as the provider's wire JSON."""

from __future__ import annotations

from sandbox.seed.generator import JSON, Generator, Identity, iso
from sandbox.seed.words import CITIES, COUNTRY_NAMES, CURRENCIES


def codat_customers(gen: Generator, identities: list[Identity], count: int) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 5 + 1: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        company = ident.company if ident else gen.company()
        domain = gen.domain(company)
        addresses = []
        for _ in range(gen.rng.randrange(0, 4)):
            city, region, country, postcode = ident.city if ident else gen.pick(CITIES)
            addresses.append(
                {
                    "type": gen.pick(["Billing", "Delivery", "Unknown"]),
                    "line1": gen.street(),
                    "line2": gen.pick([None, "", "Suite 4", "Floor 2"]),
                    "city": city,
                    "region": region,
                    "country": COUNTRY_NAMES[country],
                    "postalCode": postcode,
                }
            )
        contacts = []
        for _ in range(gen.rng.randrange(0, 3)):
            c_first, c_last = gen.person()
            city, region, country, postcode = gen.pick(CITIES)
            contacts.append(
                {
                    "name": f"{c_first} {c_last}",
                    "email": gen.email(c_first, c_last, domain),
                    "phone": [
                        {
                            "number": gen.phone(),
                            "type": gen.pick(["Primary", "Landline", "Mobile", "Fax", "Unknown"]),
                        }
                        for _ in range(gen.rng.randrange(0, 3))
                    ],
                    "address": {
                        "type": gen.pick(["Billing", "Delivery"]),
                        "line1": gen.street(),
                        "line2": None,
                        "city": city,
                        "region": region,
                        "country": COUNTRY_NAMES[country],
                        "postalCode": postcode,
                    },
                    "status": gen.pick(["Active", "Active", "Archived", "Unknown"]),
                    "modifiedDate": iso(gen.moment()),
                }
            )
        modified = gen.moment()
        # Ids are opaque source-platform strings: mostly GUIDs, some numbers, a few with
        # characters Codat's query language reserves.
        native_id = gen.uuid() if n % 4 else (f"{n + 1000}" if n % 8 else f"C&R-{n:03d}")
        customer: JSON = {
            "id": native_id,
            "customerName": company,
            "contactName": f"{first} {last}",
            "emailAddress": ident.email
            if ident
            else (gen.email(first, last, domain) if gen.chance(0.9) else None),
            "defaultCurrency": gen.pick([*CURRENCIES, "XXX"]),
            "phone": gen.phone() if gen.chance(0.7) else None,
            "addresses": addresses,
            "contacts": contacts,
            "registrationNumber": f"{gen.rng.randrange(10000000, 99999999)}"
            if gen.chance(0.7)
            else None,
            "taxNumber": ident.tax_number
            if ident
            else (f"GB{gen.rng.randrange(100000000, 999999999)}" if gen.chance(0.6) else None),
            "status": gen.pick(["Active"] * 7 + ["Archived", "Archived", "Unknown"]),
            "metadata": {"isDeleted": gen.chance(0.05)},
            "modifiedDate": iso(modified),
            # Codat passes on the source's clock: zone-less local time, an offset, or UTC.
            "sourceModifiedDate": gen.pick(
                [
                    modified.strftime("%Y-%m-%dT%H:%M:%S"),
                    modified.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                    iso(modified),
                ]
            ),
        }
        if gen.chance(0.15):
            customer["supplementalData"] = {
                "content": {
                    "customFields": {"accountManager": f"{first} {last}", "priority": n % 3}
                }
            }
        customers.append(customer)
    return customers


__all__ = ["codat_customers"]
