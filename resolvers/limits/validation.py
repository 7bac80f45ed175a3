"""graphql-core's validation as the gateway runs it: cached, and with a small overlap budget.

`OverlappingFieldsCanBeMergedRule` compares every pair of fields that land on the same
response name once fragments are spread, so its work grows with the square of the repeats:
120 copies of `customers(first: 1) { edges { node { id } } }`, 480 selections, took 0.6 s, and
190 one-field fragments spread side by side 0.5 s. graphql-core meters that work and aborts at
500,000 units; the gateway's copy of the rule aborts at `OVERLAP_BUDGET`, which the documents
clients write stay far below (30 fragments sharing four fields on one object spend ~6,200).
An aborted validation is the request error "Validation aborted." (GRAPHQL_VALIDATION_FAILED).
"""

from __future__ import annotations

from functools import _CacheInfo, lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, ValidationContext
from graphql.validation import OverlappingFieldsCanBeMergedRule
from strawberry.schema.schema import validate_document

OVERLAP_BUDGET = 10_000
VALIDATION_CACHE_SIZE = 256


class BudgetedOverlappingFieldsRule(OverlappingFieldsCanBeMergedRule):
    """graphql-core's field-merging rule, aborting after `OVERLAP_BUDGET` units of work."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET


Rules = tuple[type[ASTValidationRule], ...]


@lru_cache(maxsize=16)
def budgeted(rules: Rules) -> Rules:
    """`rules` with the field-merging rule swapped for the budgeted one; the same tuple object
    for the same rules, so the validation cache below keys on stable rules."""
    return tuple(
        BudgetedOverlappingFieldsRule if rule is OverlappingFieldsCanBeMergedRule else rule
        for rule in rules
    )


# Module level, like Strawberry's ValidationCache: shared by every request.
_cached_validate = lru_cache(maxsize=VALIDATION_CACHE_SIZE)(validate_document)


def validate(schema: GraphQLSchema, document: DocumentNode, rules: Rules) -> list[GraphQLError]:
    """Strawberry's validation (graphql-core's rules plus its own) with the budgeted rule,
    through an LRU cache keyed on the document and the rules."""
    return _cached_validate(schema, document, budgeted(rules))


def validation_cache_info() -> _CacheInfo:
    """Hits and misses of the validation cache (for tests and benchmarks)."""
    return _cached_validate.cache_info()


__all__ = [
    "OVERLAP_BUDGET",
    "VALIDATION_CACHE_SIZE",
    "BudgetedOverlappingFieldsRule",
    "budgeted",
    "validate",
    "validation_cache_info",
]
