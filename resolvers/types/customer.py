"""The `Customer` interface, and which provider type a domain customer becomes.

Common, normalised fields sit on the interface; each provider's type (resolvers/types/<name>.py)
adds every field only its provider has, typed, so nothing the provider sent is out of reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, Protocol

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context, PartialError
from gateway.domain import customer as domain
from gateway.domain.freshness import Freshness as DomainFreshness
from gateway.ids import encode_id
from resolvers.reads import EVERYTHING, READS
from resolvers.types.enums import CustomerStatus, CustomerType, LinkEvidence, Provider
from resolvers.types.freshness import Freshness
from resolvers.types.nested import (
    Address,
    Contact,
    IntegrationLink,
    MetadataEntry,
    PersonName,
    Phone,
    Tag,
    Tax,
)


async def _same_as(root: CustomerInterface, info: Info[Context, None]) -> list[CustomerLink]:
    found = await info.context.links.same_as(root.domain_customer)
    path = tuple(info.path.as_list())
    info.context.partial_errors.extend(PartialError(e, path) for e in found.errors)
    return [
        CustomerLink(
            customer=customer_from_domain(link.keys.customer, link.keys.freshness),
            evidence=list(link.evidence),
        )
        for link in found.links
    ]


@strawberry.interface(description="An object with a stable global id.")
class Node:
    id: strawberry.ID


@strawberry.interface(name="Customer", description="A customer as one of the providers keeps it.")
class CustomerInterface(Node):
    provider: Provider
    provider_id: str = strawberry.field(
        description="The id the provider addresses the customer by (Layer id, Codat id, "
        "Lago external_id)."
    )
    account: str = strawberry.field(
        description="The provider account the customer belongs to: Layer business id, Codat "
        "company id or the configured Lago organisation."
    )
    scope: str = strawberry.field(
        # The same data as `account`: a field rule on `account` covers it (resolvers/scopes.py).
        metadata={READS: ("account",)},
        description="The provider account: the same as `account`.",
        deprecation_reason="Renamed to `account`, which means the same.",
    )
    external_id: str | None = strawberry.field(
        description="Your own id for the customer (Layer, Lago); Codat has none."
    )
    display_name: str | None = strawberry.field(
        description="One rule for every provider (docs/records.md): a person by their own "
        "name; a company, or a customer of unknown type, by its company name, then legal "
        "name, then contact person."
    )
    company_name: str | None
    legal_name: str | None
    person_name: PersonName | None
    customer_type: CustomerType | None
    email: str | None = strawberry.field(description="The first of `emails`.")
    emails: list[str]
    phones: list[Phone]
    addresses: list[Address]
    contacts: list[Contact]
    taxes: list[Tax]
    tax_id: str | None
    registration_number: str | None
    integration_links: list[IntegrationLink]
    tags: list[Tag]
    metadata: list[MetadataEntry]
    notes: str | None
    reference_number: str | None
    status: CustomerStatus
    currency: str | None = strawberry.field(description="ISO 4217; null when unknown.")
    timezone: str | None = strawberry.field(description="The IANA zone in effect.")
    created_at: datetime | None
    updated_at: datetime | None = strawberry.field(
        description="When the record last changed, by the source's own clock where the "
        "provider passes it on (Codat: `sourceModifiedDate`, else when Codat saw the change; "
        "Codat's sync time is `CodatCustomer.syncedAt`)."
    )
    source_modified_at: datetime | None = strawberry.field(
        description="When the source system last changed the record. Codat passes on the "
        "source's clock, which may have no zone."
    )
    raw: JSON | None = strawberry.field(
        # The provider's whole record: every field rule covers it.
        metadata={READS: EVERYTHING},
        description="The provider's payload exactly as received. Prefer typed fields; this is "
        "for debugging and for fields a provider adds before the schema does.",
    )
    freshness: Freshness = strawberry.field(
        description="How old this customer's data is and where this answer got it: the "
        "provider now, the cache, a stale entry or a webhook. A document selecting it is "
        "never answered from the whole-response cache."
    )
    # The domain record behind the fields, for the fields that compute from it (`sameAs`).
    domain_customer: strawberry.Private[domain.Customer]

    same_as: list[CustomerLink] = strawberry.field(
        resolver=_same_as,
        # Its evidence says two records share these values: a rule on one covers it.
        metadata={
            READS: ("externalId", "integrationLinks", "taxId", "registrationNumber", "email")
        },
        description="The same customer in the other providers and accounts you can see "
        "(docs/links.md): records with an explicit reference (equal external ids, an "
        "integration link naming the other's id) or an equal tax id, registration number or "
        "email, never a similar name. Links are symmetric and each carries its own evidence; "
        "records of one provider are linked only by an explicit id. The first `sameAs` of a "
        "request lists each account once (cached pages), whatever the number of customers.",
    )


@strawberry.type(description="Another record of the same customer, and why it is taken for one.")
class CustomerLink:
    customer: CustomerInterface
    evidence: list[LinkEvidence] = strawberry.field(
        description="Every kind of evidence that holds between the two records (of those the "
        "tenant accepts), in the enum's order."
    )


def common_fields(c: domain.Customer) -> dict[str, Any]:
    return {
        "id": strawberry.ID(encode_id(c.key)),
        "provider": c.key.provider,
        "provider_id": c.key.native_id,
        "account": c.key.account,
        "scope": c.key.account,
        "external_id": c.external_id,
        "display_name": c.display_name,
        "company_name": c.company_name,
        "legal_name": c.legal_name,
        "person_name": PersonName.from_domain(c.person_name) if c.person_name else None,
        "customer_type": c.customer_type,
        "email": c.emails[0] if c.emails else None,
        "emails": list(c.emails),
        "phones": [Phone.from_domain(p) for p in c.phones],
        "addresses": [Address.from_domain(a) for a in c.addresses],
        "contacts": [Contact.from_domain(x) for x in c.contacts],
        "taxes": [Tax.from_domain(t) for t in c.taxes],
        "tax_id": c.tax_id,
        "registration_number": c.registration_number,
        "integration_links": [IntegrationLink.from_domain(i) for i in c.integration_links],
        "tags": [Tag.from_domain(t) for t in c.tags],
        "metadata": [MetadataEntry.from_domain(m) for m in c.metadata],
        "notes": c.notes,
        "reference_number": c.reference_number,
        "status": c.status,
        "currency": c.currency,
        "timezone": c.timezone,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "source_modified_at": c.source_modified_at,
        "raw": c.raw,
        "freshness": Freshness.from_domain(c.freshness),
        "domain_customer": c,
    }


class ProviderCustomerType(Protocol):
    """A provider's GraphQL customer type: the details class it shows, and how."""

    details: ClassVar[type]

    @classmethod
    def from_domain(cls, c: domain.Customer) -> CustomerInterface: ...


# Filled by `register_customer_types` when a schema is built; only ever added to, and each
# details class has one type, so schemas built one after another agree.
_BY_DETAILS: dict[type, Callable[[domain.Customer], CustomerInterface]] = {}


def register_customer_types(types: Iterable[type[ProviderCustomerType]]) -> None:
    for t in types:
        _BY_DETAILS[t.details] = t.from_domain


def customer_from_domain(
    c: domain.Customer, freshness: DomainFreshness | None = None
) -> CustomerInterface:
    """The provider's GraphQL type for `c`; `freshness`: this read's, when a listing carried
    it beside the customer (`Edge.freshness`) rather than in it."""
    customer = _BY_DETAILS[type(c.details)](c)
    if freshness is not None:
        customer.freshness = Freshness.from_domain(freshness)
    return customer


__all__ = [
    "CustomerInterface",
    "CustomerLink",
    "Node",
    "ProviderCustomerType",
    "common_fields",
    "customer_from_domain",
    "register_customer_types",
]
