"""Push-down is only ever a superset: whatever the gateway's filter keeps, the provider's own
filter (as the simulators implement the documented semantics) keeps too."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from gateway.domain.customer import CustomerStatus
from gateway.domain.filter import CustomerFilter, pushed_word
from gateway.providers.codat.mapping import to_domain as codat_domain
from gateway.providers.codat.query import filter_query
from gateway.providers.codat.wire import CodatCustomer
from gateway.providers.lago.client import search_term
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
word = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=6)).map(
    lambda s: s.upper() if len(s) % 2 else s
)
# Names as users type them: one word, or several across first, last, company and legal names
# ("Ada Lovelace" for a customer whose first name is Ada and last name Lovelace).
NAMES = [
    name
    for record in (*CODAT, *LAGO, *LAYER)
    for field in (
        "customerName",
        "contactName",
        "name",
        "firstname",
        "lastname",
        "legal_name",
        "individual_name",
        "company_name",
    )
    if isinstance(name := record.get(field), str) and name
]
phrase = st.lists(
    st.one_of(word, st.sampled_from(NAMES).map(lambda n: n.split()[-1] if n.split() else n)),
    min_size=2,
    max_size=3,
).map(" ".join)
text = st.one_of(word, phrase)
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
    term = search_term(filter)
    if filter.matches(customer) and term:
        assert lago_matches(record, QueryParams({"search_term": term}))


@settings(max_examples=300, deadline=None)
@given(filters, st.sampled_from(LAYER))
def test_layer_name_contains_keeps_whatever_the_filter_keeps(
    filter: CustomerFilter, record: dict[str, object]
) -> None:
    customer = layer_domain(LayerCustomer.model_validate(record), "b", record)
    if filter.matches(customer) and filter.name:
        params = {"name_contains": pushed_word(filter.name), "include_archived": "true"}
        assert layer_matches(record, QueryParams(params))


ADA = {
    **LAGO[0],
    "name": None,
    "legal_name": None,
    "firstname": "Ada",
    "lastname": "Lovelace",
    "customer_type": "individual",
}


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["Ada Lovelace", "lovelace ada", "ADA  LOVE", "Ada\tLovelace"]))
def test_a_name_across_first_and_last_names_is_found_everywhere(name: str) -> None:
    filter = CustomerFilter(name=name)
    customer = lago_domain(LagoCustomer.model_validate(ADA), "o", ADA)
    assert filter.matches(customer)
    assert lago_matches(ADA, QueryParams({"search_term": search_term(filter)}))
    assert CustomerFilter(search=name).matches(customer)
    assert not CustomerFilter(name="Ada Byron").matches(customer)


def test_every_word_must_be_found_somewhere() -> None:
    customer = lago_domain(LagoCustomer.model_validate(ADA), "o", ADA)
    assert CustomerFilter(name="Ada").matches(customer)
    assert not CustomerFilter(name="Ada Lovelace Byron").matches(customer)
    # The pushed word is the longest: the most selective one the provider can apply alone.
    assert pushed_word("Ada  Lovelace") == "Lovelace"
    assert pushed_word("  ") == "  "
