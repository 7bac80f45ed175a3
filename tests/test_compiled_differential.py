"""Compiled persisted operations answer byte for byte as graphql-core does (docs/compiled.md).

Two gateways over one sandbox, the same but for `performance.compile` ("all" against "off"),
get the same requests, persisted or free-form: status, body bytes, caching headers and the
upstream calls made must be the same. Each request is also classified on the compiling
gateway (its plan ran, or it went to graphql-core), and the classification is asserted: a
document the compiler refuses is never silently counted as an equal answer of the compiler.

The documents: (1) every query document in the test suite, docs/ and README.md that reads
`customers`, plain, with a provider failing and as a JWT caller narrowed to some accounts;
(2) documents hypothesis builds over the Customer selection space.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.customer import CustomerKey
from gateway.http.endpoint import GraphQLEndpoint
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.settings.model import AuthSettings, CacheSettings, PerformanceSettings, Settings
from resolvers.compiled import CompiledOperations
from resolvers.schema import build_schema
from sandbox import DEMO_ACCOUNT, Sandbox
from sandbox.faults import parse_fault
from tests.support import GatewayClient, gateway_client
from tests.test_frontend_access import identity_provider, settings_for

ROOT = Path(__file__).resolve().parents[1]
# Headers that must agree; X-Request-Id differs by design.
COMPARED_HEADERS = ("content-type", "cache-control", "etag", "vary")
# Fields the compiler leaves to graphql-core (resolvers/compiled/fields.py), on any type
# implementing Customer.
NOT_COMPILED = frozenset({"raw", "freshness", "sameAs"})


def compiler_of(gateway: GatewayClient) -> CompiledOperations | None:
    for route in gateway.app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLEndpoint):
            compiler = endpoint.compiler
            assert compiler is None or isinstance(compiler, CompiledOperations)
            return compiler
    raise AssertionError("no /graphql route")


@dataclass
class Pair:
    compiled: GatewayClient
    fallback: GatewayClient
    # Global ids of the first customers, once asked for (the hypothesis test's).
    ids: list[str] = field(default_factory=list)

    @property
    def compiler(self) -> CompiledOperations:
        compiler = compiler_of(self.compiled)
        assert compiler is not None
        return compiler

    async def both(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        failing: frozenset[str] = frozenset(),
        *,
        trace: bool = True,
        persisted: bool = True,
    ) -> tuple[bool, httpx.Response]:
        """Send the request to both, persisted (APQ) or free-form; assert they agree. True
        when the compiling gateway answered from a plan. `trace`: the answers carry the
        request's upstream calls and cache hits (`extensions.upstream`), compared with the
        rest. A free-form document is compiled on its second sighting, so it is sent to both
        once first, and the second answers are compared."""
        headers = {**(headers or {}), **({"x-gateway-trace": "upstream"} if trace else {})}
        sha = hashlib.sha256(query.encode()).hexdigest()
        body: dict[str, Any] = {"query": query, "variables": variables}
        if persisted:
            body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
        else:
            for gateway in (self.compiled, self.fallback):
                gateway.upstream.failing = set(failing)
                await gateway.http.post("/graphql", json=body, headers=headers)
        ran = self.compiler.ran
        responses = []
        calls = []
        for gateway in (self.compiled, self.fallback):
            gateway.upstream.reset()
            gateway.upstream.failing = set(failing)
            responses.append(await gateway.http.post("/graphql", json=body, headers=headers))
            calls.append(sorted((r.method, str(r.url)) for r in gateway.upstream.requests))
        compiled, fallback = responses
        assert calls[0] == calls[1], query
        assert compiled.status_code == fallback.status_code
        was_compiled = self.compiler.ran == ran + 1
        if not was_compiled and "freshness" in query:
            # Both ran on graphql-core; each gateway read its upstream at its own moment.
            assert _timeless(compiled.content) == _timeless(fallback.content), query
            return was_compiled, compiled
        assert compiled.content == fallback.content, query
        for name in COMPARED_HEADERS:
            assert compiled.headers.get(name) == fallback.headers.get(name), name
        return was_compiled, compiled


_MOMENTS = re.compile(
    rb'"(fetchedAt|ageSeconds|oldestAgeSeconds|oldestFetchedAt)":("[^"]*"|[0-9.e-]+)'
)


def _timeless(body: bytes) -> bytes:
    """`body` without the moments and ages `freshness` reports."""
    return _MOMENTS.sub(rb'"\1":0', body)


@contextlib.asynccontextmanager
async def pair(base: Settings | None = None, *, responses: bool = False) -> AsyncIterator[Pair]:
    """Two gateways on one sandbox: with and without compiled operations. The response cache
    is off unless `responses`: a hit would answer both without running anything."""
    sandbox = Sandbox()
    base = base or Settings()
    cache = base.cache.model_copy(update={"responses": responses})
    on, off = (
        base.model_copy(update={"performance": PerformanceSettings(compile=c), "cache": cache})
        for c in ("all", "off")
    )
    # One stopped clock: no cache entry of either gateway goes stale between their requests.
    now = time.time()
    clock = lambda: now  # noqa: E731
    async with (
        gateway_client(on, sandbox, clock=clock) as compiled,
        gateway_client(off, sandbox, clock=clock) as fallback,
    ):
        assert compiler_of(fallback) is None
        yield Pair(compiled, fallback)


def _strings() -> Iterator[str]:
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value
    for path in (*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"):
        yield from re.findall(r"```graphql\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def corpus() -> list[str]:
    """Every query document of the suite and the docs that reads `customers`."""
    found = set()
    for text in _strings():
        if "customers" not in text:
            continue
        try:
            document = parse(text)
        except GraphQLError:
            continue
        if any(
            isinstance(d, OperationDefinitionNode) and d.operation == OperationType.QUERY
            for d in document.definitions
        ):
            found.add(text)
    return sorted(found)


CORPUS = corpus()
# Values for the variables the corpus documents declare most often.
VARIABLES = {"first": 3, "n": 3, "size": 3, "after": None}


def _ran_or_refused(pair: Pair, query: str, ran: bool, response: httpx.Response) -> str:
    """ "compiled" or "refused"; a refusal is asserted as one: no plan, or a request that
    graphql-core refuses before any resolver (it never counts as the compiler's answer)."""
    if ran:
        return "compiled"
    request_error = "data" not in orjson.loads(response.content)
    assert request_error or _has_no_plan(pair, query), query
    return "refused"


def _has_no_plan(pair: Pair, query: str) -> bool:
    for route in pair.compiled.app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLEndpoint):
            limits = endpoint.settings.limits
            try:
                plan = pair.compiler.plan(endpoint.schema, endpoint.schema_id, query, None, limits)
            except GraphQLError:
                return True
            return plan is None
    return True


async def test_the_corpus_is_large_enough_to_mean_something() -> None:
    assert len(CORPUS) >= 50


async def test_every_corpus_document_answers_the_same_compiled_or_not() -> None:
    outcomes: dict[str, int] = {"compiled": 0, "refused": 0}
    async with pair() as gateways:
        for query in CORPUS:
            for failing in (frozenset(), frozenset({"/codat/"})):
                ran, response = await gateways.both(query, VARIABLES, failing=failing)
                outcomes[_ran_or_refused(gateways, query, ran, response)] += 1
    # Most of the suite's `customers` documents are within the compiler's reach.
    assert outcomes["compiled"] >= 40, outcomes


async def test_every_corpus_document_sent_free_form_answers_the_same() -> None:
    """The executed path: documents sent as text, not persisted, run from plans too."""
    compiled = 0
    async with pair() as gateways:
        for query in CORPUS:
            ran, response = await gateways.both(query, VARIABLES, persisted=False)
            compiled += _ran_or_refused(gateways, query, ran, response) == "compiled"
    assert compiled >= 40


async def test_a_free_form_document_is_compiled_on_its_second_sighting_only() -> None:
    """A flood of distinct documents costs no compiling: a document is compiled the second
    time it is seen (within the last MAX_SIGHTINGS seen), never on its first."""
    async with pair() as gateways:
        for n in range(30):
            await gateways.compiled.query(
                f"{{ customers(first: {n % 5 + 1}, after: null) "
                f"{{ edges {{ cursor }} }} a{n}: __typename }}"
            )
        assert (gateways.compiler.compiled, gateways.compiler.refused) == (0, 0)
        query = "{ customers(first: 2) { edges { node { id } } } }"
        for _ in range(3):
            await gateways.compiled.query(query)
        assert (gateways.compiler.compiled, gateways.compiler.ran) == (1, 2)


async def test_persisted_mode_compiles_persisted_documents_only() -> None:
    # No response cache: its hit would answer the persisted request without running it.
    settings = Settings(
        performance=PerformanceSettings(compile="persisted"),
        cache=CacheSettings(responses=False),
    )
    query = "{ customers(first: 2) { edges { node { id } } } }"
    async with gateway_client(settings) as gateway:
        for _ in range(3):
            await gateway.query(query)
        compiler = compiler_of(gateway)
        assert compiler is not None
        assert (compiler.compiled, compiler.ran) == (0, 0)
        sha = hashlib.sha256(query.encode()).hexdigest()
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
        await gateway.http.post("/graphql", json={"query": query, "extensions": persisted})
        assert (compiler.compiled, compiler.ran) == (1, 1)


@pytest.mark.parametrize(
    "query",
    ["{ __schema { queryType { name } } }", 'query Q { __typename __type(name: "Node") { name } }'],
)
async def test_introspection_at_the_root_is_left_to_graphql_core(query: str) -> None:
    """The compiler refused these by raising (KeyError: introspection fields are not the
    root type's own), which the endpoint answered 500."""
    async with pair() as gateways:
        for persisted in (True, False, False):
            ran, response = await gateways.both(query, persisted=persisted)
            assert (ran, response.status_code) == (False, 200)
            assert "errors" not in response.json()
        assert gateways.compiler.refused == 1


async def test_a_failing_provider_gives_the_same_partial_answer() -> None:
    query = "query { customers(first: 4) { edges { node { id provider } } } }"
    async with pair() as gateways:
        ran, response = await gateways.both(query, failing=frozenset({"/lago/"}))
    body = orjson.loads(response.content)
    assert ran
    assert body["errors"][0]["path"] == ["customers"]
    assert {e["node"]["provider"] for e in body["data"]["customers"]["edges"]} == {
        "LAYER",
        "CODAT",
    }


@pytest.mark.parametrize("fault", ["lago=error:500", "codat=malformed", "layer=malformed:shape"])
async def test_a_sandbox_fault_gives_the_same_answer(fault: str) -> None:
    """The sandbox's own faults (`--sandbox-fault`), on both gateways' shared sandbox."""
    documents = [
        "{ customers(first: 5) { edges { cursor node { id provider status } } } }",
        "{ customers(first: 3) { totalCount pageInfo { hasNextPage } } }",
        "query($n: Int) { c: customers(first: $n) { edges { node { ...on LagoCustomer { slug } "
        "...on CodatCustomer { codatStatus } ...on LayerCustomer { memo } } } } }",
    ]
    provider, injected = parse_fault(fault)
    async with pair() as gateways:
        gateways.compiled.sandbox.faults.set(provider, injected)
        for query in documents:
            ran, response = await gateways.both(query, {"n": 4})
            assert ran, query
            codes = [e["extensions"]["code"] for e in orjson.loads(response.content)["errors"]]
            assert "UPSTREAM_BAD_RESPONSE" in codes or "UPSTREAM_UNAVAILABLE" in codes, codes


async def test_a_bad_argument_is_the_same_error_compiled() -> None:
    query = "query($n: Int) { __typename page: customers(first: $n) { edges { cursor } } }"
    async with pair() as gateways:
        ran, response = await gateways.both(query, {"n": 0})
        bad_cursor, cursor_response = await gateways.both(
            '{ customers(first: 1, after: "x") { edges { cursor } } }'
        )
    assert ran
    assert bad_cursor
    assert orjson.loads(response.content)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert orjson.loads(cursor_response.content)["data"] is None


async def test_jwt_account_views_answer_the_same() -> None:
    with identity_provider() as idp:
        async with pair(settings_for(idp)) as gateways:
            accounts = {"layer": [DEMO_ACCOUNT.layer_business_id], "lago": []}
            token = idp.token({"accounts": accounts})
            headers = {"authorization": f"Bearer {token}"}
            compiled = 0
            for query in CORPUS:
                ran, response = await gateways.both(query, VARIABLES, headers)
                compiled += _ran_or_refused(gateways, query, ran, response) == "compiled"
    assert compiled >= 40


async def test_total_count_is_counted_once_compiled() -> None:
    query = """query($p: [Provider!], $f: CustomerFilter) {
      customers(first: 2, providers: $p, filter: $f) { n: totalCount edges { cursor } }
    }"""
    async with pair() as gateways:
        known, counted = await gateways.both(query, {"p": ["LAGO", "CODAT"]})
        unknown, refused = await gateways.both(query, {"f": {"name": "a"}})
        twice, _ = await gateways.both("{ customers(first: 1) { a: totalCount b: totalCount } }")
    assert known
    assert unknown
    assert not twice
    assert orjson.loads(counted.content)["data"]["customers"]["n"] > 0
    error = orjson.loads(refused.content)["errors"][0]
    assert error["path"] == ["customers", "n"]
    assert error["extensions"]["code"] == "TOTAL_COUNT_UNKNOWN"


async def test_the_cost_report_is_the_same_compiled() -> None:
    query = "query($n: Int) { customers(first: $n) { edges { node { id } } } }"
    async with pair() as gateways:
        ran, response = await gateways.both(query, {"n": 4}, {"x-gateway-cost": "report"})
    assert ran
    cost = orjson.loads(response.content)["extensions"]["cost"]
    assert cost["actual"]["upstreamCalls"] >= 3
    assert cost["estimated"]["upstreamCalls"] > 0


async def test_fields_a_scope_rule_guards_are_left_to_graphql_core() -> None:
    rules = AuthSettings(field_scopes={"Customer.taxes": ("billing",)})
    async with pair(Settings(auth=rules)) as gateways:
        guarded, _ = await gateways.both("{ customers { edges { node { id taxes { rate } } } } }")
        plain, _ = await gateways.both("{ customers { edges { node { id displayName } } } }")
        compiled = 0
        for query in CORPUS:
            ran, response = await gateways.both(query, VARIABLES)
            assert not (ran and "taxes" in query), query
            compiled += _ran_or_refused(gateways, query, ran, response) == "compiled"
    assert not guarded
    assert plain
    assert compiled >= 40


async def test_the_response_cache_stores_the_compiled_answer() -> None:
    query = "{ customers(first: 3) { edges { node { id displayName } } } }"
    async with pair(responses=True) as gateways:
        ran, first = await gateways.both(query, trace=False)
        hit, second = await gateways.both(query, trace=False)
    assert ran
    assert not hit
    assert second.headers["x-response-cache"] == "hit"
    assert second.content == first.content


async def test_a_document_is_compiled_once() -> None:
    query = "{ customers(first: 2) { edges { node { id } } } }"
    async with pair() as gateways:
        for _ in range(3):
            ran, _response = await gateways.both(query)
            assert ran
        assert gateways.compiler.compiled == 1


# Hypothesis: documents over the Customer selection space, built from the served schema.

SCHEMA: GraphQLSchema = build_schema()._schema
CONCRETE = ("LayerCustomer", "CodatCustomer", "LagoCustomer")


@dataclass
class Doc:
    """A generated document under construction: its fragments and whether it uses a field
    the compiler leaves to graphql-core."""

    fragments: list[str]
    # One document in five may select fields the compiler refuses.
    may_refuse: bool = False
    uses_not_compiled: bool = False
    aliases: int = 0
    # Response keys of `totalCount`: a plan runs one count, not two concurrently.
    counts: set[str] = field(default_factory=set)


def _named(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def selection(draw: Any, doc: Doc, kind: Any, depth: int) -> str:
    """A non-empty selection set on `kind`: a random subset of its fields (aliased,
    repeated, nested), with __typename, inline fragments and fragment spreads."""
    named = _named(kind)
    fields = [
        (name, definition)
        for name, definition in named.fields.items()
        if not definition.args and (depth > 0 or not hasattr(_named(definition.type), "fields"))
    ]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=8))
    parts = []
    is_customer = any(i.name == "Customer" for i in getattr(named, "interfaces", ())) or (
        named.name == "Customer"
    )
    for name, definition in chosen:
        if is_customer and name in NOT_COMPILED:
            if not doc.may_refuse:
                continue
            doc.uses_not_compiled = True
        alias = ""
        if draw(st.integers(0, 4)) == 0:
            doc.aliases += 1
            alias = f"a{doc.aliases}: "
        sub = _named(definition.type)
        inner = (
            " { " + selection(draw, doc, sub, depth - 1) + " }" if hasattr(sub, "fields") else ""
        )
        parts.append(alias + name + inner)
        if name == "totalCount":
            doc.counts.add(alias or name)
            doc.uses_not_compiled |= len(doc.counts) > 1
    if not parts or draw(st.booleans()):
        parts.append("__typename")
    if isinstance(named, GraphQLInterfaceType) and named.name == "Customer" and depth > 0:
        for concrete in draw(st.lists(st.sampled_from(CONCRETE), max_size=3, unique=True)):
            own = selection(draw, doc, SCHEMA.type_map[concrete], depth - 1)
            if draw(st.booleans()):
                parts.append(f"... on {concrete} {{ {own} }}")
            else:
                name = f"F{len(doc.fragments)}"
                doc.fragments.append(f"fragment {name} on {concrete} {{ {own} }}")
                parts.append(f"...{name}")
        if draw(st.booleans()):
            parts.append("... on Node { id }")
    return " ".join(parts)


FILTERS = (
    None,
    "{ status: [ACTIVE] }",
    '{ name: "a" }',
    '{ search: "co" }',
    '{ email: "example" }',
)


@st.composite
def documents(draw: Any) -> tuple[str, dict[str, Any], bool, frozenset[str]]:
    doc = Doc([], may_refuse=draw(st.integers(0, 4)) == 0)
    if draw(st.integers(0, 2)) == 0:
        return one_customer(draw, doc)
    connection = SCHEMA.type_map["CustomerConnection"]
    assert isinstance(connection, GraphQLObjectType)
    body = selection(draw, doc, connection, 4)
    arguments = ["first: $n"]
    if (chosen := draw(st.sampled_from(FILTERS))) is not None:
        arguments.append(f"filter: {chosen}")
    providers = draw(st.sampled_from((None, "[LAGO]", "[LAYER, CODAT]")))
    if providers is not None:
        arguments.append(f"providers: {providers}")
    if draw(st.integers(0, 5)) == 0:
        arguments.append("orderBy: { field: NAME }")
    alias = draw(st.sampled_from(("", "page: ")))
    root = f"{alias}customers({', '.join(arguments)}) {{ {body} }}"
    if draw(st.booleans()):
        root = "__typename " + root
    query = " ".join([f"query Page($n: Int) {{ {root} }}", *doc.fragments])
    variables = {"n": draw(st.sampled_from((1, 2, 5, 20)))}
    failing = draw(st.sampled_from((frozenset(), frozenset({"/codat/"}))))
    return query, variables, not doc.uses_not_compiled, failing


# A customer id by its place among the first page's (resolved per example: `Pair.ids`), or
# one that does not decode, or one of an account the tenant does not have.
IDS = (0, 1, 2, 3, 4, 5, "bad", "elsewhere")


def one_customer(draw: Any, doc: Doc) -> tuple[str, dict[str, Any], bool, frozenset[str]]:
    """`customer(id:)` or `node(id:)`, selecting over Customer."""
    body = selection(draw, doc, SCHEMA.type_map["Customer"], 3)
    if draw(st.booleans()):
        max_age = draw(st.sampled_from(("", ", maxAge: 60", ", maxAge: -1")))
        root = f"customer(id: $id{max_age}) {{ {body} }}"
    else:
        root = f"node(id: $id) {{ id ... on Customer {{ {body} }} }}"
    alias = draw(st.sampled_from(("", "one: ")))
    query = " ".join([f"query One($id: ID!) {{ {alias}{root} }}", *doc.fragments])
    failing = draw(st.sampled_from((frozenset(), frozenset({"/lago/"}))))
    return query, {"id": draw(st.sampled_from(IDS))}, not doc.uses_not_compiled, failing


async def _resolve_ids(pair: Pair, variables: dict[str, Any]) -> dict[str, Any]:
    if "id" not in variables:
        return variables
    pick = variables["id"]
    if pick == "bad":
        return {"id": "not-a-global-id"}
    if pick == "elsewhere":
        return {"id": encode_id(CustomerKey(LAGO, "no-such-account", "c-1"))}
    if not pair.ids:
        query = "{ customers(first: 6) { edges { node { id } } } }"
        _, response = await pair.both(query)
        edges = orjson.loads(response.content)["data"]["customers"]["edges"]
        pair.ids.extend(e["node"]["id"] for e in edges)
    return {"id": pair.ids[pick]}


@pytest.fixture(scope="module")
def hypothesis_pair() -> Iterator[tuple[asyncio.AbstractEventLoop, Pair]]:
    """One pair of gateways for every example, on a loop of the test's own."""
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    gateways = loop.run_until_complete(stack.enter_async_context(pair()))
    try:
        yield loop, gateways
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents())
def test_generated_documents_answer_the_same(
    hypothesis_pair: tuple[asyncio.AbstractEventLoop, Pair],
    generated: tuple[str, dict[str, Any], bool, frozenset[str]],
) -> None:
    loop, gateways = hypothesis_pair
    query, variables, compilable, failing = generated
    variables = loop.run_until_complete(_resolve_ids(gateways, variables))
    ran, response = loop.run_until_complete(gateways.both(query, variables, failing=failing))
    refused_request = "data" not in orjson.loads(response.content)
    if compilable and not refused_request:
        assert ran, query
    else:
        assert not ran, query
        assert refused_request or _has_no_plan(gateways, query), query
