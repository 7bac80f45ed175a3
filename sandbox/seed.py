"""Deterministic sandbox data: each provider's documented example customer, verbatim, then
generated customers with realistic variety, some of them the same real-world customer seen
through two or three providers (same email, external id or tax number).

Records are stored as each provider's wire JSON, so the simulators serve them as they are.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

JSON = dict[str, Any]

SEED = 20261122
GENERATED_PER_PROVIDER = 260
SHARED_IDENTITIES = 12
BASE_TIME = datetime(2024, 1, 8, 9, 30, tzinfo=UTC)

_FIRST = [
    "Ada",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Farah",
    "Gustav",
    "Hana",
    "Ivan",
    "Jürgen",
    "Kwame",
    "Lucía",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
    "Ugo",
    "Valentina",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Łukasz",
    "Ǫrn",
    "Ana-María",
    "O'Neil",
]
_LAST = [
    "Okafor",
    "Lindqvist",
    "Fernández",
    "Nakamura",
    "Kowalski",
    "Dubois",
    "Haddad",
    "Müller",
    "Rossi",
    "Smith",
    "García",
    "Ivanova",
    "Chen",
    "Van der Berg",
    "Ó Briain",
    "Andersen",
    "Papadopoulos",
    "Tanaka",
    "Novak",
    "Silva",
    "Kim",
    "Nguyễn",
    "Schröder",
    "Żółć",
]
_COMPANY_STEMS = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Pied Piper",
    "Vandelay",
    "Acme",
    "Aperture",
    "Massive Dynamic",
    "Blue Sun",
    "Oceanic",
    "Monarch",
    "Gringotts",
    "Wonka",
    "Sirius",
    "Nakatomi",
    "Bäckerei Köhler",
    "Café Lumière",
    "株式会社さくら",
    "Ångström Optics",
    "Łódź Textiles",
    "Øresund Logistics",
    "São Paulo Tintas",
    "Ελληνική Ναυτιλία",
]
_COMPANY_SUFFIX = ["Ltd", "Inc.", "GmbH", "SAS", "LLC", "BV", "AB", "S.A.", "plc", "KK"]
_CITIES = [
    ("London", "England", "GB", "EC1A 1BB"),
    ("Paris", "Île-de-France", "FR", "75001"),
    ("Berlin", "Berlin", "DE", "10115"),
    ("Austin", "TX", "US", "73301"),
    ("Toronto", "ON", "CA", "M5H 2N2"),
    ("Madrid", "Madrid", "ES", "28001"),
    ("Tokyo", "Tokyo", "JP", "100-0001"),
    ("São Paulo", "SP", "BR", "01000-000"),
    ("Sydney", "NSW", "AU", "2000"),
    ("Phoenix", "AZ", "US", "85001"),
]
_COUNTRY_NAMES = {
    "GB": "United Kingdom",
    "FR": "France",
    "DE": "Germany",
    "US": "USA",
    "CA": "Canada",
    "ES": "Spain",
    "JP": "Japan",
    "BR": "Brazil",
    "AU": "Australia",
}
_CURRENCIES = ["USD", "EUR", "GBP", "CAD", "JPY", "BRL", "AUD"]
_TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/Chicago",
    "America/Los_Angeles",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
]
_STREETS = [
    "High Street",
    "Rue de Rivoli",
    "Unter den Linden",
    "Congress Ave",
    "King St W",
    "Gran Vía",
    "Chiyoda",
    "Avenida Paulista",
    "George St",
    "Main St",
]


@dataclass
class SandboxData:
    """Every simulated account, as wire JSON. Mutations go through the sandbox apps."""

    layer_businesses: dict[str, list[JSON]] = field(default_factory=dict)
    codat_companies: dict[str, list[JSON]] = field(default_factory=dict)
    # Lago keys are organisation-scoped: one customer list per API key.
    lago_organizations: dict[str, list[JSON]] = field(default_factory=dict)


def example(name: str) -> JSON:
    """A provider's documented example customer, byte-for-byte from its documentation."""
    text = resources.files("sandbox.examples").joinpath(f"{name}_customer.json")
    loaded: JSON = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True)
class _Identity:
    """A real-world customer that several providers know."""

    company: str
    person_first: str
    person_last: str
    email: str
    external_id: str
    tax_number: str
    city: tuple[str, str, str, str]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def moment(self, spread_days: int = 700) -> datetime:
        return BASE_TIME + timedelta(seconds=self.rng.randrange(spread_days * 86400))

    def person(self) -> tuple[str, str]:
        return self.pick(_FIRST), self.pick(_LAST)

    def company(self) -> str:
        return f"{self.pick(_COMPANY_STEMS)} {self.pick(_COMPANY_SUFFIX)}"

    def email(self, first: str, last: str, domain: str) -> str:
        local = "".join(
            c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
        )
        return f"{local or 'contact'}{self.rng.randrange(100)}@{domain}"

    def domain(self, company: str) -> str:
        stem = "".join(c for c in company.lower() if c.isascii() and c.isalnum())
        return f"{stem or 'example'}.test"

    def phone(self) -> str:
        r = self.rng.randrange
        return f"+{r(1, 99)} {r(100, 999)} {r(1000000, 9999999)}"

    def street(self) -> str:
        return f"{self.rng.randrange(1, 999)} {self.pick(_STREETS)}"


def _iso(moment: datetime, micro: bool = False) -> str:
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _identities(gen: _Generator) -> list[_Identity]:
    identities = []
    for i in range(SHARED_IDENTITIES):
        first, last = gen.person()
        company = f"{gen.pick(_COMPANY_STEMS)} Shared {i:02d} {gen.pick(_COMPANY_SUFFIX)}"
        identities.append(
            _Identity(
                company=company,
                person_first=first,
                person_last=last,
                email=f"billing{i:02d}@{gen.domain(company)}",
                external_id=f"shared-{i:03d}",
                tax_number=f"GB{gen.rng.randrange(100000000, 999999999)}",
                city=gen.pick(_CITIES),
            )
        )
    return identities


def layer_customers(gen: _Generator, identities: list[_Identity], count: int) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 3: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        is_company = ident is not None or gen.chance(0.6)
        company = (ident.company if ident else gen.company()) if is_company else None
        city, region, _country, postcode = ident.city if ident else gen.pick(_CITIES)
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
                "created_at": _iso(gen.moment(), micro=True),
                "updated_at": _iso(gen.moment(), micro=True),
                "deleted_at": None,
                "archived_at": _iso(gen.moment(), micro=True) if gen.chance(0.1) else None,
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


def codat_customers(gen: _Generator, identities: list[_Identity], count: int) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 5 + 1: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        company = ident.company if ident else gen.company()
        domain = gen.domain(company)
        addresses = []
        for _ in range(gen.rng.randrange(0, 4)):
            city, region, country, postcode = ident.city if ident else gen.pick(_CITIES)
            addresses.append(
                {
                    "type": gen.pick(["Billing", "Delivery", "Unknown"]),
                    "line1": gen.street(),
                    "line2": gen.pick([None, "", "Suite 4", "Floor 2"]),
                    "city": city,
                    "region": region,
                    "country": _COUNTRY_NAMES[country],
                    "postalCode": postcode,
                }
            )
        contacts = []
        for _ in range(gen.rng.randrange(0, 3)):
            c_first, c_last = gen.person()
            city, region, country, postcode = gen.pick(_CITIES)
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
                        "country": _COUNTRY_NAMES[country],
                        "postalCode": postcode,
                    },
                    "status": gen.pick(["Active", "Active", "Archived", "Unknown"]),
                    "modifiedDate": _iso(gen.moment()),
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
            "defaultCurrency": gen.pick([*_CURRENCIES, "XXX"]),
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
            "modifiedDate": _iso(modified),
            # Codat passes on the source's clock: zone-less local time, an offset, or UTC.
            "sourceModifiedDate": gen.pick(
                [
                    modified.strftime("%Y-%m-%dT%H:%M:%S"),
                    modified.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                    _iso(modified),
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


def lago_customers(
    gen: _Generator, identities: list[_Identity], count: int, start: int
) -> list[JSON]:
    customers: list[JSON] = []
    shared = {i * 7 + 2: ident for i, ident in enumerate(identities)}
    for n in range(count):
        ident = shared.get(n)
        first, last = (ident.person_first, ident.person_last) if ident else gen.person()
        is_company = ident is not None or gen.chance(0.6)
        company = (ident.company if ident else gen.company()) if is_company else None
        city, region, country, postcode = ident.city if ident else gen.pick(_CITIES)
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
            "currency": gen.pick(_CURRENCIES),
            "timezone": gen.pick([None, *_TIMEZONES]),
            "applicable_timezone": gen.pick(_TIMEZONES),
            "tax_identification_number": ident.tax_number
            if ident
            else (f"EU{gen.rng.randrange(100000000, 999999999)}" if gen.chance(0.5) else None),
            "net_payment_term": gen.pick([None, 0, 15, 30, 45]),
            "finalize_zero_amount_invoice": gen.pick(["inherit", "skip", "finalize"]),
            "skip_invoice_custom_sections": gen.chance(0.1),
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(days=gen.rng.randrange(0, 200))),
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
                    "created_at": _iso(created),
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
                    "created_at": _iso(created),
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
                    "created_at": _iso(created),
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


def build_sandbox_data(accounts: list[tuple[str, str, str]], seed: int = SEED) -> SandboxData:
    """Seed one (Layer business, Codat company, Lago key) account per entry of `accounts`.

    The first account gets the documented example customers; every account gets the shared
    identities and its own generated customers.
    """
    data = SandboxData()
    for index, (business_id, company_id, lago_key) in enumerate(accounts):
        gen = _Generator(seed + index)
        identities = _identities(gen)
        count = GENERATED_PER_PROVIDER if index == 0 else 40
        layer = layer_customers(gen, identities, count)
        codat = codat_customers(gen, identities, count)
        lago = lago_customers(gen, identities, count, start=2)
        if index == 0:
            layer.insert(0, example("layer"))
            codat.insert(0, example("codat"))
            lago.insert(0, example("lago"))
        data.layer_businesses[business_id] = layer
        data.codat_companies[company_id] = codat
        data.lago_organizations[lago_key] = lago
    return data


__all__ = ["GENERATED_PER_PROVIDER", "SandboxData", "build_sandbox_data", "example"]
