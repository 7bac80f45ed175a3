"""Persisted operations run from their compiled plan, when they have one.

`CompiledOperations.execute` finds (or compiles, once) the plan of a document's operation and
runs it: the same checks graphql-core's path makes before any resolver (variables coerce, the
cost limit), the same read (resolvers/query.py `read_customers`), then the plan's writer over
the domain customers. It answers None whenever graphql-core must run the operation instead:
no plan (the compiler does not handle the document, or it does not parse, validate or pass
the document limits), variables or arguments that do not coerce, a cost over the limits, or a
value the writer cannot write exactly (`Unrepresentable`, after the read: the read's partial
errors are taken back, and graphql-core reads again). Usage::

    operations = CompiledOperations()
    result = await operations.execute(schema, schema_id, query, name, variables, context)
    if result is None:
        result = await schema.execute(...)
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLNonNull,
    get_argument_values,
    get_operation_ast,
    get_variable_values,
    located_error,
    specified_rules,
)
from strawberry.extensions import ParserCache
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments

from gateway.context import Context
from gateway.federation import FederatedPage
from gateway.settings.model import LimitSettings
from resolvers.compiled.plan import Plan, RootField, Unrepresentable, compile_operation
from resolvers.limits.analyses import ANALYSES
from resolvers.limits.analysis import DocumentAnalysis
from resolvers.limits.cost import estimate, type_coverage
from resolvers.limits.refusals import cost_refusal, document_refusals
from resolvers.limits.validation import validate
from resolvers.query import CustomersRead, load_customer, read_customer, read_customers
from resolvers.schema import PARSER_CACHE_SIZE

log = logging.getLogger("gateway.compiled")
_PARSE = ParserCache(maxsize=PARSER_CACHE_SIZE).cached_parse_document
MAX_PLANS = 256
# Free-form documents seen once, remembered so the second sighting compiles (bounded).
MAX_SIGHTINGS = 1024
_RULES = tuple(specified_rules)


# What plans, refusals and sightings are kept by: schema id, document hash, operation name.
_Key = tuple[str, bytes, str | None]


def _key(schema_id: str, query: str, operation_name: str | None) -> _Key:
    return schema_id, hashlib.sha256(query.encode()).digest(), operation_name


@dataclass(frozen=True, slots=True)
class _Compiled:
    # What the plan was compiled against: another schema (a reload) or limits compile anew.
    schema: strawberry.Schema
    limits: LimitSettings
    plan: Plan | None
    analysis: DocumentAnalysis | None = None
    document: DocumentNode | None = None


class CompiledOperations:
    """Plans of operations, at most `max_plans` (least recently used out first), keyed by
    schema id, document hash and operation name; refusals are remembered too, as many again,
    apart, so documents the compiler refuses never push plans out.

    `compiled`, `refused`, `ran` and `fell_back` count what happened, for tests and
    benchmarks: plans made, documents refused, requests answered from a plan, and requests
    with a plan handed to graphql-core after all."""

    def __init__(self, max_plans: int = MAX_PLANS) -> None:
        self.max_plans = max_plans
        self._plans: OrderedDict[_Key, _Compiled] = OrderedDict()
        self._refusals: OrderedDict[_Key, _Compiled] = OrderedDict()
        # Free-form documents seen once and not compiled yet: a client's documents repeat,
        # a flood of distinct ones (or a probe) must not cost a compile each on top of
        # graphql-core's own parse and validation.
        self._sighted: OrderedDict[_Key, None] = OrderedDict()
        self.compiled = 0
        self.refused = 0
        self.ran = 0
        self.fell_back = 0

    def plan(
        self,
        schema: strawberry.Schema,
        schema_id: str,
        query: str,
        operation_name: str | None,
        limits: LimitSettings,
    ) -> Plan | None:
        """The plan of `query`'s operation `operation_name` on `schema`, or None."""
        key = _key(schema_id, query, operation_name)
        return self._entry(key, schema, query, operation_name, limits).plan

    async def execute(
        self,
        schema: strawberry.Schema,
        schema_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
        *,
        persisted: bool = True,
    ) -> ExecutionResult | None:
        """The operation's result from its plan, or None: graphql-core must run it. A
        free-form document (`persisted` false) is compiled the second time it is seen."""
        limits = context.settings.limits
        key = _key(schema_id, query, operation_name)
        if not persisted and self._first_sighting(key):
            return None
        entry = self._entry(key, schema, query, operation_name, limits)
        if entry.plan is None or entry.analysis is None:
            return None
        result = await self._run(entry, entry.plan, variables, operation_name, context)
        if result is None:
            self.fell_back += 1
        else:
            self.ran += 1
        return result

    def _first_sighting(self, key: _Key) -> bool:
        if key in self._plans or key in self._refusals:
            return False
        if key in self._sighted:
            del self._sighted[key]
            return False
        self._sighted[key] = None
        if len(self._sighted) > MAX_SIGHTINGS:
            self._sighted.popitem(last=False)
        return True

    def _entry(
        self,
        key: _Key,
        schema: strawberry.Schema,
        query: str,
        operation_name: str | None,
        limits: LimitSettings,
    ) -> _Compiled:
        for kept in (self._plans, self._refusals):
            entry = kept.get(key)
            if entry is not None and entry.schema is schema and entry.limits is limits:
                kept.move_to_end(key)
                return entry
        entry = _compile(schema, query, operation_name, limits)
        # Refusals are kept apart: documents the compiler does not take must not push the
        # plans of those it does out of their bound.
        kept = self._plans if entry.plan is not None else self._refusals
        if entry.plan is None:
            self.refused += 1
        else:
            self.compiled += 1
        kept[key] = entry
        if len(kept) > self.max_plans:
            kept.popitem(last=False)
        return entry

    async def _run(
        self,
        entry: _Compiled,
        plan: Plan,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> ExecutionResult | None:
        graphql_schema = entry.schema._schema
        coerced = get_variable_values(
            graphql_schema, plan.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            return None
        limits = context.settings.limits
        assert entry.analysis is not None
        cost = estimate(
            entry.analysis,
            graphql_schema,
            variables,
            operation_name,
            limits.default_page_size,
            limits.max_filter_scan_pages,
            context.streams,
        )
        if cost is not None and cost_refusal(cost, limits) is not None:
            return None
        extensions = {} if cost is None else {"cost": _cost_extension(cost, limits)}
        data: dict[str, Any] = {}
        errors: list[GraphQLError] = []
        for key, value in plan.root:
            if isinstance(value, str):
                data[key] = value
                continue
            arguments = _arguments(entry.schema, value, coerced)
            if arguments is None:
                return None
            reported = len(context.partial_errors)
            try:
                read = await _read(context, value, arguments)
            except Exception as exc:  # noqa: BLE001 - reported as graphql-core reports it
                errors.append(located_error(exc, list(value.nodes), [key]))
                if isinstance(value.field.type, GraphQLNonNull):
                    # A null in a non-null root field nulls the whole answer.
                    return ExecutionResult(data=None, errors=errors, extensions=extensions)
                data[key] = None
                continue
            if value.count is not None:
                read = await _counted(read, value, errors)
            try:
                data[key] = value.write(read)
            except Unrepresentable:
                del context.partial_errors[reported:]
                return None
        return ExecutionResult(data=data, errors=errors or None, extensions=extensions)


@dataclass(frozen=True, slots=True)
class _Counted:
    """A `customers` read with its `totalCount` (None when counting failed)."""

    page: FederatedPage
    total_count: int | None


async def _counted(read: CustomersRead, root: RootField, errors: list[GraphQLError]) -> _Counted:
    """`totalCount` as its resolver gives it: an error located at the field, value null."""
    assert root.count is not None
    key, nodes = root.count
    try:
        total: int | None = await read.count()
    except Exception as exc:  # noqa: BLE001 - reported as graphql-core reports it
        errors.append(located_error(exc, list(nodes), [root.key, key]))
        total = None
    return _Counted(read.page, total)


async def _read(context: Context, root: RootField, arguments: dict[str, Any]) -> Any:
    """What the root field's resolver reads (resolvers/query.py), before it maps it."""
    if root.name == "customers":
        return await read_customers(context, (root.key,), **arguments)
    if root.name == "customer":
        return await read_customer(context, **arguments)
    return await load_customer(context, arguments["id"])


def _compile(
    schema: strawberry.Schema, query: str, operation_name: str | None, limits: LimitSettings
) -> _Compiled:
    """Parse, analyse and validate `query` as the schema's extensions would, then compile."""
    graphql_schema = schema._schema
    try:
        # The schema's own parser cache: the same document object graphql-core's path gets,
        # so its analysis (keyed by the document) is not done a second time.
        document = _PARSE(query, max_tokens=limits.max_tokens)
    except GraphQLError:
        return _Compiled(schema, limits, None)
    analysis = ANALYSES.of(document, type_coverage(graphql_schema))
    if analysis.cyclic or document_refusals(analysis, limits):
        return _Compiled(schema, limits, None)
    if validate(graphql_schema, document, _RULES):
        return _Compiled(schema, limits, None)
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return _Compiled(schema, limits, None)
    try:
        plan = compile_operation(graphql_schema, document, operation)
    except Exception:
        # A compiler defect must cost the plan, never the answer: graphql-core runs it.
        log.exception("the compiler failed on a document; graphql-core runs it")
        return _Compiled(schema, limits, None)
    return _Compiled(schema, limits, plan, analysis, document)


def _arguments(schema: strawberry.Schema, root: RootField, coerced: Any) -> dict[str, Any] | None:
    """The root field's arguments as its Strawberry resolver receives them, or None when they
    do not coerce (graphql-core then reports it)."""
    definition = (root.field.extensions or {})["strawberry-definition"]
    try:
        values = get_argument_values(root.field, root.nodes[0], coerced)
        return convert_arguments(
            values,
            definition.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )
    except Exception:  # noqa: BLE001 - graphql-core reports arguments that do not coerce
        return None


def _cost_extension(cost: Any, limits: LimitSettings) -> dict[str, Any]:
    # resolvers/limits/extension.py `DocumentLimits.get_results`, for `X-Gateway-Cost: report`.
    return {
        "estimated": {"fields": cost.fields, "upstreamCalls": cost.upstream_calls},
        "limits": {"fields": limits.max_fields, "upstreamCalls": limits.max_upstream_calls},
    }


__all__ = ["MAX_PLANS", "CompiledOperations"]
