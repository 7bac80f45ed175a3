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
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
)

from gateway.context import Context
from gateway.errors import ConfigError, FieldForbidden
from resolvers.reads import EVERYTHING, READS

# The root type's name: Strawberry names it after the `Query` class.
ROOT = "Query"
# What a rule reaches: an object type and one of its fields' names.
Target = tuple[GraphQLObjectType, str]


def apply_field_scopes(schema: GraphQLSchema, field_scopes: Mapping[str, Sequence[str]]) -> None:
    """Guard the fields `field_scopes` names and make them nullable, in place. Every key is
    checked first: one `ConfigError` lists every key naming no field of the schema."""
    required = _covering(schema, _required_scopes(schema, field_scopes))
    for (owner, name), scopes in required.items():
        field = owner.fields[name]
        _make_nullable(field)
        for interface in owner.interfaces:
            if name in interface.fields:
                _make_nullable(interface.fields[name])
        field.resolve = _guarded(field.resolve, f"{owner.name}.{name}", scopes)
    _guard_arguments(schema, required)


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


def _reads(definition: Any) -> Any:
    """The `READS` metadata of a Strawberry field or input field (resolvers/reads.py)."""
    metadata = getattr(definition, "metadata", None) or {}
    return metadata.get(READS)


def _strawberry(field: GraphQLField | GraphQLInputField) -> Any:
    return (field.extensions or {}).get("strawberry-definition")


def _covering(
    schema: GraphQLSchema, required: dict[Target, frozenset[str]]
) -> dict[Target, frozenset[str]]:
    """`required`, with the fields that expose guarded data guarded too: a field reading
    others (`scope` reads `account`) requires their scopes on its type, and one reading
    everything (`raw`) every scope any rule of a type that is not the root requires."""
    covered = dict(required)
    everything = frozenset().union(
        *(scopes for (owner, _), scopes in required.items() if owner.name != ROOT)
    )
    for kind in schema.type_map.values():
        if not isinstance(kind, GraphQLObjectType) or kind.name.startswith("__"):
            continue
        for name, field in kind.fields.items():
            reads = _reads(_strawberry(field))
            if reads is None:
                continue
            if reads == EVERYTHING:
                extra = everything
            else:
                extra = frozenset().union(*(required.get((kind, r), frozenset()) for r in reads))
            if extra:
                covered[kind, name] = covered.get((kind, name), frozenset()) | extra
    return covered


# Root arguments that select customers by the value of a field: a caller who may not read the
# field may not ask which customers have a given value of it either.
_ARGUMENT_READS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("customerByExternalId", "externalId"): ("externalId",),
}
# `customers(orderBy:)`: the order tells how values compare.
_ORDER_READS: Mapping[str, tuple[str, ...]] = {
    "NAME": ("displayName",),
    "CREATED_AT": ("createdAt",),
    "UPDATED_AT": ("updatedAt",),
}


def _guard_arguments(schema: GraphQLSchema, required: dict[Target, frozenset[str]]) -> None:
    """Root fields whose arguments filter or order customers by guarded fields: refused
    (before any upstream call) when an argument used reads a field the caller may not."""
    customer_types = [
        t
        for t in schema.type_map.values()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Customer" for i in t.interfaces)
    ]

    def scopes_of(names: Sequence[str]) -> frozenset[str]:
        return frozenset().union(
            *(required.get((t, n), frozenset()) for t in customer_types for n in names)
        )

    root = schema.query_type
    if root is None:
        return
    for field_name, field in root.fields.items():
        checks: dict[str, Any] = {}
        for arg_name, argument in field.args.items():
            named = argument.type
            while hasattr(named, "of_type"):
                named = named.of_type
            if (field_name, arg_name) in _ARGUMENT_READS:
                needed = scopes_of(_ARGUMENT_READS[field_name, arg_name])
                if needed:
                    checks[arg_name] = needed
            elif isinstance(named, GraphQLInputObjectType) and named.name == "CustomerFilter":
                by_field = {
                    n: scopes_of(_reads(_strawberry(f)) or ()) for n, f in named.fields.items()
                }
                if any(by_field.values()):
                    checks[arg_name] = by_field
            elif isinstance(named, GraphQLInputObjectType) and named.name == "CustomerOrder":
                by_value = {v: scopes_of(r) for v, r in _ORDER_READS.items()}
                if any(by_value.values()):
                    checks[arg_name] = by_value
        if checks:
            # Refused, it is null with the rest of the answer intact: nullable, as a scoped field.
            _make_nullable(field)
            field.resolve = _arguments_guarded(field.resolve, field_name, checks)


def _arguments_guarded(
    resolve: GraphQLFieldResolver | None, field_name: str, checks: Mapping[str, Any]
) -> GraphQLFieldResolver:
    inner = resolve or default_field_resolver

    def resolve_checked(source: Any, info: GraphQLResolveInfo[Context], **arguments: Any) -> Any:
        held = info.context.scopes
        if held is not None:
            for arg_name, needed in checks.items():
                value = arguments.get(arg_name)
                if value is None:
                    continue
                for label, scopes in _argument_needs(arg_name, value, needed):
                    if not scopes <= held:
                        raise FieldForbidden(f"{field_name}({label})", scopes - held)
        return inner(source, info, **arguments)

    return resolve_checked


def _argument_needs(arg_name: str, value: Any, needed: Any) -> list[tuple[str, frozenset[str]]]:
    """The scopes each part of an argument's value needs: a plain argument's, each filter
    condition given, each ordering's field."""
    if isinstance(needed, frozenset):
        return [(arg_name, needed)]
    found = []
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, Mapping) and "field" in item:  # an ordering
            order = item["field"]
            key = str(getattr(order, "name", order))
            found.append((f"{arg_name}.field: {key}", needed.get(key, frozenset())))
        elif isinstance(item, Mapping):  # a filter: each condition given
            found.extend(
                (f"{arg_name}.{name}", needed.get(name, frozenset()))
                for name, condition in item.items()
                if condition is not None
            )
    return found


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
