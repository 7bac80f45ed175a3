"""Push-down is only ever a superset: whatever the gateway's filter keeps, the provider's own
filter (as the simulators implement the documented semantics) keeps too."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from gateway.domain.customer import CustomerStatus
from gateway.domain.filter import CustomerFilter
from gateway.providers.codat.mapping import to_domain as codat_domain
from gateway.providers.codat.query import filter_query
from gateway.providers.codat.wire import CodatCustomer
from gateway.providers.lago.mapping import to_domain as lago_domain
from gateway.providers.lago.wire import LagoCustomer
from gateway.providers.layer.mapping import to_domain as layer_domain
from gateway.providers.layer.wire import LayerCustomer
from sandbox import DEMO_ACCOUNT, Sandbox
from sandbox.codat_query import compile_query
from sandbox.lago import _matches as lago_matches
from sandbox.layer import _matches as layer_matches

DATA = Sandbox().data
CODAT = DATA.codat_companies[DEMO_ACCOUNT.codat_company_id]
LAGO = DATA.lago_organizations[DEMO_ACCOUNT.lago_api_key]
LAYER = DATA.layer_businesses[DEMO_ACCOUNT.layer_business_id]

# Words that occur in the data, mixed with arbitrary text, in any case.
WORDS = ["acme", "an", "ø", "Hooli", "gmbh", ".test", "O'Neil", "shared", "@", "é", "Zoë"]
text = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=6)).map(
    lambda s: s.upper() if len(s) % 2 else s
)
filters = st.builds(
    CustomerFilter,
    search=st.none() | text,
    name=st.none() | text,
    email=st.none() | st.sampled_from([c.get("emailAddress") or "x@y.z" for c in CODAT[:20]]),
    statuses=st.none() | st.frozensets(st.sampled_from(list(CustomerStatus)), min_size=1),
    modified_since=st.none()
    | st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
)


@settings(max_examples=300, deadline=None)
@given(filters, st.sampled_from(CODAT))
def test_codat_query_keeps_whatever_the_filter_keeps(
    filter: CustomerFilter, record: dict[str, object]
) -> None:
    customer = codat_domain(CodatCustomer.model_validate(record), "c", record)
    query = filter_query(filter)
    if filter.matches(customer) and query is not None:
        assert compile_query(query)(record), (query, record["id"])


@settings(max_examples=300, deadline=None)
@given(filters, st.sampled_from(LAGO))
def test_lago_search_term_keeps_whatever_the_filter_keeps(
    filter: CustomerFilter, record: dict[str, object]
) -> None:
    customer = lago_domain(LagoCustomer.model_validate(record), "o", record)
    term = filter.email or filter.name or filter.search
    if filter.matches(customer) and term:
        assert lago_matches(record, QueryParams({"search_term": term}))


@settings(max_examples=300, deadline=None)
@given(filters, st.sampled_from(LAYER))
def test_layer_name_contains_keeps_whatever_the_filter_keeps(
    filter: CustomerFilter, record: dict[str, object]
) -> None:
    customer = layer_domain(LayerCustomer.model_validate(record), "b", record)
    if filter.matches(customer) and filter.name:
        params = {"name_contains": filter.name, "include_archived": "true"}
        assert layer_matches(record, QueryParams(params))
