"""`[auth.field_scopes]`: fields only callers holding certain scopes may read.

A rule maps `Type.field` to the scopes it requires, all of them. An interface's rule
(`Customer.taxes`) applies to that field on every object type implementing the interface; an
object type's rule (`LagoCustomer.billingConfiguration`, `Query.customers`) to that type only;
where both apply, both sets are required. When the request's `Context.scopes` is not None and
lacks one of them, the field resolves to null with a `FieldForbidden` error (FORBIDDEN) at its
path, one per place it appears, before its resolver runs: a refused root field makes no
upstream call. Every other field keeps the resolver Strawberry gave it, untouched.

A refused field is null while the rest of the answer stays intact, so every scoped field is
nullable in the schema a deployment serves: its non-null wrapper is dropped on each object type
the rule reaches and on every interface of those types that declares the field (an
implementation may not be nullable where its interface is not). schema.graphql shows the
default schema, with no rule. Usage::

    apply_field_scopes(strawberry_schema._schema, settings.auth.field_scopes)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLFieldResolver,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
)

from gateway.context import Context
from gateway.errors import ConfigError, FieldForbidden

# The root type's name: Strawberry names it after the `Query` class.
ROOT = "Query"
# What a rule reaches: an object type and one of its fields' names.
Target = tuple[GraphQLObjectType, str]


def apply_field_scopes(schema: GraphQLSchema, field_scopes: Mapping[str, Sequence[str]]) -> None:
    """Guard the fields `field_scopes` names and make them nullable, in place. Every key is
    checked first: one `ConfigError` lists every key naming no field of the schema."""
    required = _required_scopes(schema, field_scopes)
    for (owner, name), scopes in required.items():
        field = owner.fields[name]
        _make_nullable(field)
        for interface in owner.interfaces:
            if name in interface.fields:
                _make_nullable(interface.fields[name])
        field.resolve = _guarded(field.resolve, f"{owner.name}.{name}", scopes)


def rules_id(field_scopes: Mapping[str, Sequence[str]]) -> str:
    """A short name for a set of rules: "" for none, else a digest that changes with them."""
    if not field_scopes:
        return ""
    canonical = sorted((key, sorted(scopes)) for key, scopes in field_scopes.items())
    return hashlib.sha256(repr(canonical).encode()).hexdigest()[:16]


def root_scopes(field_scopes: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """The scopes each root field's rule requires (`Query.customers` → customers), for the cost
    limit: a refused root field makes no upstream call, so it costs none."""
    return {
        key.removeprefix(f"{ROOT}."): frozenset(scopes)
        for key, scopes in field_scopes.items()
        if key.startswith(f"{ROOT}.")
    }


def _required_scopes(
    schema: GraphQLSchema, field_scopes: Mapping[str, Sequence[str]]
) -> dict[Target, frozenset[str]]:
    """Each object type's field a rule reaches, with every scope the rules reaching it
    require; raises `ConfigError` naming every key that names no field."""
    required: dict[Target, frozenset[str]] = {}
    problems: list[str] = []
    for key, scopes in field_scopes.items():
        problem = _key_problem(schema, key) or _scopes_problem(key, scopes)
        if problem is not None:
            problems.append(problem)
            continue
        type_name, name = key.split(".")
        kind = schema.type_map[type_name]
        owners = (
            schema.get_possible_types(kind) if isinstance(kind, GraphQLInterfaceType) else [kind]
        )
        for owner in owners:
            assert isinstance(owner, GraphQLObjectType)
            required[owner, name] = required.get((owner, name), frozenset()) | set(scopes)
    if problems:
        raise ConfigError("auth.field_scopes: " + "; ".join(problems))
    return required


def _key_problem(schema: GraphQLSchema, key: str) -> str | None:
    type_name, dot, name = key.partition(".")
    if not dot or not type_name or not name or "." in name:
        return f"{key!r} is not Type.field"
    kind = schema.type_map.get(type_name)
    if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
        types = sorted(
            n
            for n, t in schema.type_map.items()
            if isinstance(t, GraphQLObjectType | GraphQLInterfaceType) and not n.startswith("__")
        )
        return f"{key!r}: no type {type_name} with fields (types: {', '.join(types)})"
    if name not in kind.fields:
        return f"{key!r}: {type_name} has no field {name} (fields: {', '.join(kind.fields)})"
    return None


def _scopes_problem(key: str, scopes: Sequence[str]) -> str | None:
    if not scopes:
        return f"{key!r} requires no scope (leave it out instead)"
    # A JWT's `scope` claim is space-separated: such a scope could never be held.
    if any(not s or s != "".join(s.split()) for s in scopes):
        return f"{key!r}: a scope is empty or holds whitespace"
    return None


def _make_nullable(field: GraphQLField) -> None:
    if isinstance(field.type, GraphQLNonNull):
        field.type = field.type.of_type


def _guarded(
    resolve: GraphQLFieldResolver | None, label: str, required: frozenset[str]
) -> GraphQLFieldResolver:
    """`resolve` behind the scope check: refused, it never runs."""
    inner = resolve or default_field_resolver

    def resolve_scoped(source: Any, info: GraphQLResolveInfo[Context], **arguments: Any) -> Any:
        held = info.context.scopes
        if held is not None and not required <= held:
            raise FieldForbidden(label, required - held)
        return inner(source, info, **arguments)

    return resolve_scoped


__all__ = ["ROOT", "apply_field_scopes", "root_scopes", "rules_id"]
