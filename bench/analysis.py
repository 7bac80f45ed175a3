"""What the gateway spends on a document before it runs it, for the worst documents its
limits admit, against graphql-core's own floor, measured in one run.

Run: python3 -m bench.analysis [--rounds 40]

Builds, with the default limits (15,000 characters, 2,000 tokens, depth 8, 15 aliases, 5,000
expanded selections, graphql-core's field-merging work bounded by resolvers.limits.validation), the
largest admitted document of each shape that stresses the analysis or graphql-core's
validation: nested fragments doubling up to the selection bound, fragments side by side,
one field repeated, the root field repeated, and every field of the schema under 15 aliases.
Each is grown until the gateway refuses it and the last admitted size is kept. Then, in
interleaved rounds and without the parser or validation caches, it times what the gateway
runs per request: parse (with the token limit), the analysis and its limits, validation,
and the cost estimate. The floor, timed in the same rounds, is parse + validation of a flat
plain document of the same number of tokens (distinct aliases of `__typename`). Prints
medians with the 10th-90th percentile spread, and whether the gateway's own analysis of every
admitted document, and the whole of parse, analysis and validation of the worst, take under
10 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    Lexer,
    Source,
    TokenKind,
    parse,
    specified_rules,
)
from strawberry.schema.schema import validate_document

from gateway.settings.model import Settings
from resolvers.limits.analysis import analyse
from resolvers.limits.cost import estimate, type_coverage
from resolvers.limits.refusals import document_refusals
from resolvers.limits.validation import budgeted
from resolvers.schema import build_schema

TARGET_MS = 10.0
SETTINGS = Settings()
LIMITS = SETTINGS.limits
RULES = budgeted(tuple(specified_rules))
PLAIN_RULES = tuple(specified_rules)


@dataclass
class Timings:
    parse: list[float] = field(default_factory=list)
    limits: list[float] = field(default_factory=list)
    validate: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)


def tokens(query: str) -> int:
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def admitted(schema: GraphQLSchema, query: str) -> bool:
    """Whether the gateway would execute `query`: within every limit and valid."""
    if len(query) > LIMITS.max_document_chars:
        return False
    try:
        document = parse(query, max_tokens=LIMITS.max_tokens)
    except GraphQLError:
        return False
    analysis = analyse(document, covers=type_coverage(schema))
    if document_refusals(analysis, LIMITS):
        return False
    if validate_document(schema, document, RULES):
        return False
    cost = estimate(analysis, schema, None, None, LIMITS.default_page_size)
    return cost is not None and (
        cost.fields <= LIMITS.max_fields and cost.upstream_calls <= LIMITS.max_upstream_calls
    )


def largest(schema: GraphQLSchema, build: Callable[[int], str], high: int = 4096) -> str:
    """`build(n)` for the largest n the gateway admits (admission is monotone in n)."""
    low = 1
    assert admitted(schema, build(low)), build(low)
    while low < high:
        middle = (low + high + 1) // 2
        if admitted(schema, build(middle)):
            low = middle
        else:
            high = middle - 1
    return build(low)


def named(kind: GraphQLType) -> GraphQLType:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def every_field(kind: GraphQLType, depth: int) -> str:
    """Every argument-free field of `kind`, nested objects down to `depth`."""
    kind = named(kind)
    if not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
        return ""
    parts = []
    for name, definition in kind.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in definition.args.values()):
            continue
        inner = named(definition.type)
        if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType):
            if depth > 0:
                parts.append(f"{name} {{ {every_field(inner, depth - 1)} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def candidates(schema: GraphQLSchema) -> dict[str, str]:
    customer = schema.get_type("Customer")
    assert customer is not None
    leaves = "id displayName email status provider externalId"

    def doubling(levels: int) -> str:
        fragments = [f"fragment F0 on Customer {{ {leaves} contacts {{ name }} }}"]
        fragments += [
            f"fragment F{i} on Customer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)
        ]
        page = f"customers(first: 1) {{ edges {{ node {{ ...F{levels - 1} }} }} }}"
        return "\n".join([f"{{ {page} }}", *fragments])

    def side_by_side(count: int) -> str:
        fragments = "\n".join(f"fragment S{i} on Customer {{ {leaves} }}" for i in range(count))
        spreads = " ".join(f"...S{i}" for i in range(count))
        return f"{{ customers(first: 1) {{ edges {{ node {{ {spreads} }} }} }} }}\n{fragments}"

    def repeated_field(count: int) -> str:
        return "{ customers(first: 1) { edges { node { " + "id " * count + "} } } }"

    def repeated_root(count: int) -> str:
        page = "customers(first: 1) { edges { cursor node { id displayName } } }"
        return "{ " + " ".join([page] * count) + " }"

    def wide(count: int) -> str:
        body = every_field(customer, 3)
        pages = [f"a{i}: customers(first: 1) {{ edges {{ node {{ ...W }} }} }}" for i in range(15)]
        return "{ " + " ".join(pages[:count]) + f" }}\nfragment W on Customer {{ {body} }}"

    return {
        "nested fragments, doubling": largest(schema, doubling, 16),
        "fragments side by side": largest(schema, side_by_side, 400),
        "one field repeated": largest(schema, repeated_field, 2000),
        "root field repeated": largest(schema, repeated_root, 400),
        "every field, 15 aliases": largest(schema, wide, 15),
    }


def flat(token_count: int) -> str:
    """A plain document of about `token_count` tokens: distinct aliases of __typename."""
    return "{ " + " ".join(f"a{i}: __typename" for i in range((token_count - 2) // 3)) + " }"


def gateway_work(schema: GraphQLSchema, query: str) -> tuple[float, float, float]:
    """One uncached pass of what the gateway runs before execution, in seconds per stage."""
    started = time.perf_counter()
    document = parse(query, max_tokens=LIMITS.max_tokens)
    parsed = time.perf_counter()
    analysis = analyse(document, covers=type_coverage(schema))
    refusals = document_refusals(analysis, LIMITS)
    limited = time.perf_counter()
    errors = validate_document(schema, document, RULES)
    validated = time.perf_counter()
    cost = estimate(analysis, schema, None, None, LIMITS.default_page_size)
    costed = time.perf_counter()
    assert not refusals, refusals
    assert not errors, errors
    assert cost is not None
    return parsed - started, (limited - parsed) + (costed - validated), validated - limited


def refusal_work(schema: GraphQLSchema, query: str) -> tuple[float, float, float]:
    """Parse and analysis of a document the limits refuse (validation never runs)."""
    started = time.perf_counter()
    document = parse(query, max_tokens=LIMITS.max_tokens)
    parsed = time.perf_counter()
    refusals = document_refusals(analyse(document, covers=type_coverage(schema)), LIMITS)
    assert refusals
    return parsed - started, time.perf_counter() - parsed, 0.0


def issue_document(levels: int = 20) -> str:
    """The document of issue 10: each fragment spreads the previous one twice."""
    fragments = ["fragment F0 on Customer { id displayName }"]
    fragments += [
        f"fragment F{i} on Customer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)
    ]
    page = f"customers(first: 1) {{ edges {{ node {{ ...F{levels - 1} }} }} }}"
    return "\n".join([f"{{ {page} }}", *fragments])


def floor_work(schema: GraphQLSchema, query: str) -> tuple[float, float, float]:
    started = time.perf_counter()
    document: DocumentNode = parse(query)
    parsed = time.perf_counter()
    validate_document(schema, document, PLAIN_RULES)
    return parsed - started, 0.0, time.perf_counter() - parsed


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p10, p90 = ms[len(ms) // 10], ms[(len(ms) * 9) // 10]
    return f"{statistics.median(ms):7.2f} [{p10:6.2f}-{p90:6.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    schema = build_schema(SETTINGS)._schema
    documents = candidates(schema)
    worst_tokens = max(tokens(q) for q in documents.values())
    cases: dict[str, tuple[str, Callable[[GraphQLSchema, str], tuple[float, float, float]]]] = {
        f"floor: flat plain, {worst_tokens} tokens": (flat(worst_tokens), floor_work),
        **{name: (query, gateway_work) for name, query in documents.items()},
        "refused: issue 10's 20 fragments": (issue_document(), refusal_work),
    }
    timings = {name: Timings() for name in cases}
    for _ in range(args.rounds):
        for name, (query, work) in cases.items():
            gc.collect()
            stages = work(schema, query)
            timing = timings[name]
            timing.parse.append(stages[0])
            timing.limits.append(stages[1])
            timing.validate.append(stages[2])
            timing.total.append(sum(stages))

    print(f"{args.rounds} interleaved rounds, no caches; ms: median [p10-p90]\n")
    header = f"{'document':34} {'chars':>6} {'tokens':>6} {'sel.':>5}"
    header += f"  {'parse':>22}  {'limits+cost':>22}  {'validate':>22}  {'total':>22}"
    print(header)
    floor_total = statistics.median(timings[next(iter(cases))].total)
    for name, (query, _) in cases.items():
        selections = analyse(parse(query), covers=type_coverage(schema)).selections
        timing = timings[name]
        print(
            f"{name:34} {len(query):6} {tokens(query):6} {selections:5}  {summary(timing.parse)}"
            f"  {summary(timing.limits)}  {summary(timing.validate)}  {summary(timing.total)}"
        )
    gateway_cases = list(documents)
    worst = max(gateway_cases, key=lambda n: statistics.median(timings[n].total))
    worst_total = statistics.median(timings[worst].total) * 1000
    worst_limits = statistics.median(timings[worst].limits) * 1000
    print(
        f"\nworst admitted document: {worst}: {worst_total:.2f} ms in all "
        f"({worst_total / (floor_total * 1000):.2f} x the floor), of which the gateway's own "
        f"analysis, limits and cost {worst_limits:.2f} ms"
    )
    slowest_analysis = max(statistics.median(timings[n].limits) for n in gateway_cases) * 1000
    verdict = "under" if slowest_analysis < TARGET_MS else "NOT under"
    print(
        f"the gateway's analysis (limits and cost) of every admitted document: {verdict} "
        f"{TARGET_MS:.0f} ms (slowest {slowest_analysis:.2f} ms)"
    )
    verdict = "under" if worst_total < TARGET_MS else "NOT under"
    print(
        f"with parse and graphql-core's validation, the worst admitted document: {verdict} "
        f"{TARGET_MS:.0f} ms (the floor alone: {floor_total * 1000:.2f} ms)"
    )


if __name__ == "__main__":
    main()
