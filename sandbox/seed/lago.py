"""Generated Lago customers, as the provider's wire JSON."""

from __future__ import annotations

from datetime import timedelta

from sandbox.seed.generator import JSON, Generator, Identity, iso
from sandbox.seed.words import CITIES, CURRENCIES, TIMEZONES


def lago_customers(
    gen: Generator, identities: list[Identity], count: int, start: int
) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 7 + 2: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        is_company = ident is not None or gen.chance(0.6)
        company = (ident.company if ident else gen.company()) if is_company else None
        city, region, country, postcode = ident.city if ident else gen.pick(CITIES)
        domain = gen.domain(company or "mail")
        email = ident.email if ident else gen.email(first, last, domain)
        if gen.chance(0.1):
            email = f"{email},accounts@{domain}"
        created = gen.moment()
        ship = gen.chance(0.4)
        sequential = start + n
        customer: JSON = {
            "lago_id": gen.uuid(),
            "sequential_id": sequential,
            "slug": f"LAG-1234-{sequential:03d}",
            "external_id": ident.external_id if ident else f"lago-{n:04d}",
            "billing_entity_code": gen.pick(["acme_corp", "acme_eu"]),
            "account_type": gen.pick(["customer"] * 9 + ["partner"]),
            "customer_type": ("company" if is_company else "individual")
            if gen.chance(0.9)
            else None,
            "name": company or f"{first} {last}",
            "firstname": first,
            "lastname": last,
            "legal_name": company if company and gen.chance(0.7) else None,
            "legal_number": "-".join(
                str(gen.rng.randrange(10**k, 10 ** (k + 1))) for k in (1, 2, 3)
            )
            if company
            else None,
            "email": email,
            "phone": gen.phone() if gen.chance(0.7) else None,
            "url": f"https://{domain}" if company else None,
            "logo_url": f"https://{domain}/logo.png" if company and gen.chance(0.3) else None,
            "address_line1": gen.street(),
            "address_line2": gen.pick([None, "Suite 200", "Apt 3"]),
            "city": city,
            "state": region,
            "zipcode": postcode,
            "country": country,
            "currency": gen.pick(CURRENCIES),
            "timezone": gen.pick([None, *TIMEZONES]),
            "applicable_timezone": gen.pick(TIMEZONES),
            "tax_identification_number": ident.tax_number
            if ident
            else (f"EU{gen.rng.randrange(100000000, 999999999)}" if gen.chance(0.5) else None),
            "net_payment_term": gen.pick([None, 0, 15, 30, 45]),
            "finalize_zero_amount_invoice": gen.pick(["inherit", "skip", "finalize"]),
            "skip_invoice_custom_sections": gen.chance(0.1),
            "created_at": iso(created),
            "updated_at": iso(created + timedelta(days=gen.rng.randrange(0, 200))),
            "billing_configuration": {
                "invoice_grace_period": gen.pick([0, 3, 7]),
                "payment_provider": gen.pick(["stripe", "adyen", "gocardless"]),
                "payment_provider_code": gen.pick(["stripe-eu-1", "adyen-us", "gc-uk"]),
                "provider_customer_id": f"cus_{gen.rng.randrange(10**8, 10**9)}",
                "sync": gen.chance(0.5),
                "sync_with_provider": gen.chance(0.5),
                "document_locale": gen.pick(["en", "fr", "de", "es"]),
                "provider_payment_methods": gen.pick([["card"], ["card", "sepa_debit"]]),
            }
            if gen.chance(0.8)
            else {"invoice_grace_period": 0, "document_locale": "en"},
            "shipping_address": {
                "address_line1": gen.street() if ship else None,
                "address_line2": None,
                "city": city if ship else None,
                "state": region if ship else None,
                "zipcode": postcode if ship else None,
                "country": country if ship else None,
            },
            "metadata": [
                {
                    "lago_id": gen.uuid(),
                    "key": key,
                    "value": value,
                    "display_in_invoice": gen.chance(0.5),
                    "created_at": iso(created),
                }
                for key, value in gen.rng.sample(
                    [("Purchase Order", f"PO-{n}"), ("crm", "hubspot"), ("segment", "enterprise")],
                    k=gen.rng.randrange(0, 3),
                )
            ],
            "integration_customers": [
                {
                    "lago_id": gen.uuid(),
                    "type": kind,
                    "integration_code": f"{kind}-1",
                    "external_customer_id": f"{kind[:2]}_{n}",
                    "sync_with_provider": gen.chance(0.5),
                    **({"subsidiary_id": "2"} if kind == "netsuite" else {}),
                }
                for kind in gen.rng.sample(
                    ["netsuite", "xero", "hubspot", "anrok"], k=gen.rng.randrange(0, 3)
                )
            ],
            "taxes": [
                {
                    "lago_id": gen.uuid(),
                    "name": name,
                    "code": code,
                    "description": None,
                    "rate": rate,
                    "applied_to_organization": False,
                    "created_at": iso(created),
                }
                for name, code, rate in gen.rng.sample(
                    [
                        ("TVA", "french_standard_vat", 20),
                        ("VAT", "uk_vat", 20),
                        ("GST", "au_gst", 10),
                        ("Reduced", "reduced_rate", 5.5),
                    ],
                    k=gen.rng.randrange(0, 3),
                )
            ],
        }
        if gen.chance(0.1):
            customer["applicable_invoice_custom_sections"] = [
                {
                    "lago_id": gen.uuid(),
                    "name": "EU Bank Details",
                    "code": "eu_bank_details",
                    "description": "Bank details for EU customers",
                    "details": "IBAN: FR76 3000 4000 0312 3456 7890 143",
                    "display_name": "Bank Details:",
                    "applied_to_organization": False,
                    "organization_id": gen.uuid(),
                    "created_at": iso(created),
                }
            ]
        if gen.chance(0.05):
            customer["error_details"] = [
                {
                    "lago_id": gen.uuid(),
                    "error_code": "tax_error",
                    "details": {"tax_error": "taxDateTooFarInFuture"},
                }
            ]
        customers.append(customer)
    return customers


__all__ = ["lago_customers"]
