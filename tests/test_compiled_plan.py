"""Which documents get a compiled plan (resolvers/compiled/), asserted one by one: everything
the compiler does not handle must have none, so graphql-core runs it."""

from __future__ import annotations

import pytest

from gateway.settings.model import AuthSettings, Settings
from resolvers.compiled import CompiledOperations
from resolvers.schema import build_schema

LIMITS = Settings().limits
SCHEMA = build_schema()
PAGE = "edges { cursor node { id displayName } } pageInfo { hasNextPage }"


def planned(query: str, operation: str | None = None, schema: object = SCHEMA) -> bool:
    compiler = CompiledOperations()
    plan = compiler.plan(schema, "", query, operation, LIMITS)  # type: ignore[arg-type]
    return plan is not None


@pytest.mark.parametrize(
    "query",
    [
        f"{{ customers(first: 2) {{ {PAGE} }} }}",
        f"query($n: Int) {{ __typename page: customers(first: $n) {{ {PAGE} totalCount }} }}",
        '{ customer(id: "x") { id ... on LagoCustomer { slug billingAddress { city } } } }',
        '{ node(id: "x") { id ...F } } fragment F on CodatCustomer { syncedAt taxes { rate } }',
        "{ customers { edges { node { addresses { raw } contacts { phones { e164 } } } } } }",
    ],
)
def test_documents_within_reach_are_compiled(query: str) -> None:
    assert planned(query)


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ('{ nodes(ids: ["x"]) { id } }', "another root field"),
        ('{ customerByExternalId(provider: LAGO, externalId: "e") { id } }', "another root field"),
        ("{ a: customers { edges { cursor } } b: customers { edges { cursor } } }", "two reads"),
        ("{ customers { edges { node { id sameAs { evidence } } } } }", "a resolver"),
        ("{ customers { edges { node { freshness { ageSeconds } } } } }", "computed per answer"),
        ("{ customers { edges { node { raw } } } }", "raw"),
        ("{ customers { a: totalCount b: totalCount } }", "two counts"),
        ("query($s: Boolean!) { customers { edges @skip(if: $s) { cursor } } }", "a directive"),
        ("{ customers { edges { nope } } }", "does not validate"),
        ("{ customers { edges { cursor }", "does not parse"),
        ("subscription { customerChanged { kind } }", "not a query"),
        ("{ customers { edges { node { ...A } } } } fragment A on Customer { ...A }", "a cycle"),
        ("{ __schema { queryType { name } } }", "introspection"),
        ('query Q { __typename __type(name: "Customer") { name } }', "introspection"),
        ("{ customers(first: 1) { edges { cursor } } __schema { types { name } } }", "both"),
    ],
)
def test_documents_out_of_reach_have_no_plan(query: str, why: str) -> None:
    assert not planned(query), why


def test_a_field_a_scope_rule_guards_has_no_plan_but_its_neighbours_do() -> None:
    rules = Settings(auth=AuthSettings(field_scopes={"LagoCustomer.slug": ("billing",)}))
    schema = build_schema(rules)
    assert not planned(
        "{ customers { edges { node { ... on LagoCustomer { slug } } } } }", None, schema
    )
    assert planned(
        "{ customers { edges { node { ... on LagoCustomer { lagoId } } } } }", None, schema
    )


def test_the_operation_named_is_the_one_compiled() -> None:
    query = 'query One { customers { edges { cursor } } } query Two { nodes(ids: ["x"]) { id } }'
    assert planned(query, "One")
    assert not planned(query, "Two")


def test_plans_are_kept_per_document_and_bounded() -> None:
    compiler = CompiledOperations(max_plans=2)
    for first in (1, 2, 3, 1):
        compiler.plan(SCHEMA, "", f"{{ customers(first: {first}) {{ {PAGE} }} }}", None, LIMITS)
    assert (compiler.compiled, compiler.refused) == (4, 0)
    compiler.plan(SCHEMA, "", f"{{ customers(first: 1) {{ {PAGE} }} }}", None, LIMITS)
    assert compiler.compiled == 4


def test_refused_documents_do_not_push_plans_out() -> None:
    """Review finding 6: refusals shared the plans' bound, so distinct documents the
    compiler refuses recompiled the ones it keeps."""
    compiler = CompiledOperations(max_plans=2)
    kept = f"{{ customers(first: 1) {{ {PAGE} }} }}"
    compiler.plan(SCHEMA, "", kept, None, LIMITS)
    for n in range(5):
        compiler.plan(SCHEMA, "", f"{{ customers {{ nope{n} }} }}", None, LIMITS)
    compiler.plan(SCHEMA, "", kept, None, LIMITS)
    assert (compiler.compiled, compiler.refused) == (1, 5)
