"""Compiled persisted operations (docs/compiled.md).

fields.py      where each compiled field takes its value from (the domain → GraphQL mapping)
plan.py        a document's operation compiled into a plan: its read and its writers
operations.py  plans cached per schema, document and operation, and run per request
"""

from resolvers.compiled.operations import CompiledOperations

__all__ = ["CompiledOperations"]
