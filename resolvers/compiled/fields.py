"""Where each field a compiled operation may select takes its value from.

One getter per (GraphQL type, field): applied to the value the compiled operation holds for an
object of that type (a domain customer for every type implementing `Customer`, the domain
value for a nested type, the federated page for `PageInfo`), it gives what the Strawberry type
built by `from_domain` would hold in that field. A customer field missing from `CUSTOMER` and
from its provider type's `domain_fields` is not compiled: the document falls back to
graphql-core. The differential test (tests/test_compiled_differential.py) selects every field
of the schema and checks each compiled one against graphql-core's answer.

Deliberately missing: `raw` (guarded by every field rule), `freshness` (computed per answer)
and `sameAs` (a resolver that reads more than the object). `totalCount` is the one resolver a
plan runs: the runner awaits the read's count before writing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

from graphql import GraphQLField, GraphQLObjectType

from gateway.ids import encode_id

Getter = Callable[[Any], Any]


def _same(*names: str) -> dict[str, Getter]:
    """Fields named as the domain attribute they show (snake_case to camelCase)."""
    return {_camel(n): attrgetter(n) for n in names}


def _renamed(**sources: str) -> dict[str, Getter]:
    """Fields showing a domain attribute (a dotted path) of another name."""
    return {field: attrgetter(path) for field, path in sources.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _first_email(c: Any) -> Any:
    return c.emails[0] if c.emails else None


# Every type implementing `Customer`, from the domain `Customer` (resolvers/types/customer.py
# `common_fields`).
CUSTOMER: Mapping[str, Getter] = {
    "id": lambda c: encode_id(c.key),
    **_renamed(provider="key.provider", providerId="key.native_id"),
    **_renamed(account="key.account", scope="key.account"),
    **_same("external_id", "display_name", "company_name", "legal_name", "person_name"),
    **_same("customer_type", "emails", "phones", "addresses", "contacts", "taxes", "tax_id"),
    **_same("registration_number", "integration_links", "tags", "metadata", "notes"),
    **_same("reference_number", "status", "currency", "timezone", "created_at", "updated_at"),
    **_same("source_modified_at"),
    "email": _first_email,
}

# The connection's own types: from what `customers` read (resolvers/query.py `CustomersRead`),
# its page's `Edge`s and the `FederatedPage` itself.
CONNECTION_FIELDS: Mapping[str, Mapping[str, Getter]] = {
    "CustomerConnection": {
        "edges": attrgetter("page.edges"),
        "pageInfo": attrgetter("page"),
        # Awaited by the runner (resolvers/compiled/operations.py) before the writer runs.
        "totalCount": attrgetter("total_count"),
    },
    "CustomerEdge": _same("cursor") | {"node": attrgetter("customer")},
    "PageInfo": _same("has_next_page", "has_previous_page", "start_cursor", "end_cursor"),
}


# The one field with a resolver of its own that a plan runs: `CustomersRead.count`.
COUNT = ("CustomerConnection", "totalCount")


def getter(kind: GraphQLObjectType, field_name: str, is_customer: bool) -> Getter | None:
    """Where `kind.field_name` takes its value from; None: not compiled.

    A type implementing `Customer`: its own fields from the provider type's `domain_fields`
    (resolvers/types/<name>.py, by Python name), the others from `CUSTOMER`. The connection's
    types from `CONNECTION_FIELDS`. Any other type with a `from_domain` (the values nested
    in a customer): each field shows its namesake attribute of the domain value, or the one
    its type's `domain_sources` names."""
    field = kind.fields[field_name]
    python_name = getattr(_definition(field), "python_name", None)
    origin = getattr(_definition(kind), "origin", None)
    if python_name is None or origin is None:
        return None
    if is_customer:
        own = getattr(origin, "domain_fields", None)
        if own is None:
            return None
        found: Getter | None = own.get(python_name)
        return found if found is not None else CUSTOMER.get(field_name)
    if kind.name in CONNECTION_FIELDS:
        return CONNECTION_FIELDS[kind.name].get(field_name)
    if not hasattr(origin, "from_domain"):
        return None
    sources: Mapping[str, str] = getattr(origin, "domain_sources", {})
    return attrgetter(sources.get(python_name, python_name))


def _definition(thing: GraphQLObjectType | GraphQLField) -> Any:
    return (thing.extensions or {}).get("strawberry-definition")


__all__ = ["CONNECTION_FIELDS", "COUNT", "CUSTOMER", "Getter", "getter"]
