"""What is wrong with a settings file, all of it at once, each problem at the place it is
written (`tenants.0.lago.api_key`, `limits.lago.concurrency`), never with a secret's value.

    try:
        settings = load_settings(path)
    except InvalidSettings as exc:
        for problem in exc.problems:
            print(problem)          # "limitz: unknown key 'limitz'; valid: auth, cache, ..."
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import ConfigError
from gateway.settings.model import Settings, WithProviderTables

Location = tuple[str | int, ...]
# Enough of a wrong choice to recognise it; never the rest of a long value.
_SHOWN_INPUT_CHARS = 40


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: where (dotted, as written in the file; "" for the file itself)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InvalidSettings(ConfigError):
    """Settings that cannot work, every problem found listed, one per line after the first."""

    def __init__(self, problems: Iterable[Problem], source: str = "settings") -> None:
        self.problems = tuple(problems)
        # What was read: the file's path, or "settings" (the environment alone).
        self.source = source
        if len(self.problems) == 1:
            report = f"{source}: {self.problems[0]}"
        else:
            listed = "\n".join(f"  {p}" for p in self.problems)
            report = f"{source}: {len(self.problems)} problems\n{listed}"
        super().__init__(report)


def dotted(location: Location) -> str:
    return ".".join(str(part) for part in location)


def tables(annotation: Any) -> tuple[Literal["one", "many", "map"], type[BaseModel]] | None:
    """The settings model a field holds, and how: one table (possibly optional), an array of
    tables, or tables by name; None for a plain value."""
    if get_origin(annotation) in (Union, types.UnionType):
        present = [a for a in get_args(annotation) if a is not type(None)]
        return tables(present[0]) if len(present) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "one", annotation
    args = get_args(annotation)
    if get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = tables(args[0])
        return ("many", inner[1]) if inner and inner[0] == "one" else None
    if get_origin(annotation) in (Mapping, dict) and len(args) == 2:
        inner = tables(args[1])
        return ("map", inner[1]) if inner and inner[0] == "one" else None
    return None


def without_unknown_keys(
    data: Any,
    model: type[BaseModel],
    where: Location,
    connections: Mapping[str, type[BaseModel]],
    problems: list[Problem],
) -> Any:
    """`data` without the keys `model` does not take, each noted with the valid choices. A
    section with provider tables (`[limits.lago]`) or connections (`[tenants.lago]`) takes the
    registered providers' names too (`connections`: provider key to its connection model)."""
    if not isinstance(data, dict):
        return data  # the model's validation says what it should be
    fields = model.model_fields
    by_provider = _provider_tables(model, connections)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        at = (*where, key)
        if key in fields:
            kept[key] = _walk(value, fields[key].annotation, at, connections, problems)
        elif by_provider is not None and key in by_provider:
            table = by_provider[key]
            if isinstance(value, list) and model.model_config.get("extra") == "allow":
                kept[key] = [
                    without_unknown_keys(v, table, (*at, i), connections, problems)
                    for i, v in enumerate(value)
                ]
            elif _claimed(value, model):
                # `accounts = "from_claims"` (gateway/settings/load.py): the account comes
                # from each caller's token, so the table is checked without it.
                rest = {k: v for k, v in value.items() if k != "accounts"}
                checked = without_unknown_keys(rest, table, at, connections, problems)
                kept[key] = {**checked, "accounts": value["accounts"]}
            else:
                kept[key] = without_unknown_keys(value, table, at, connections, problems)
        elif by_provider is not None and _is_table(value):
            known = ", ".join(sorted(connections))
            problems.append(
                Problem(dotted(at), f"no provider of that name is registered (known: {known})")
            )
        else:
            valid = ", ".join(sorted(k for k in fields if k not in _HIDDEN))
            if by_provider is not None:
                valid += f", or a provider table: {', '.join(sorted(connections))}"
            problems.append(Problem(dotted(at), f"unknown key {key!r}; valid: {valid}"))
    return kept


def _claimed(value: Any, model: type[BaseModel]) -> bool:
    """A tenant's provider table whose accounts come from tokens."""
    return (
        model.model_config.get("extra") == "allow"
        and isinstance(value, dict)
        and ("accounts" in value)
    )


def _is_table(value: Any) -> bool:
    """A table or an array of tables: what a provider's section is written as."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, dict) for v in value)
    return isinstance(value, dict)


# Written as `[limits.<provider>]`, never by this name.
_HIDDEN = frozenset({"providers"})


def _provider_tables(
    model: type[BaseModel], connections: Mapping[str, type[BaseModel]]
) -> Mapping[str, type[BaseModel]] | None:
    """The model of each provider's table in `model`, or None if it takes none."""
    if model.model_config.get("extra") == "allow":
        return connections  # a tenant: its other keys are its provider connections
    if issubclass(model, WithProviderTables):
        held = tables(model.model_fields["providers"].annotation)
        if held is not None:
            return dict.fromkeys(connections, held[1])
    return None


def _walk(
    value: Any,
    annotation: Any,
    at: Location,
    connections: Mapping[str, type[BaseModel]],
    problems: list[Problem],
) -> Any:
    held = tables(annotation)
    if held is None:
        return value
    kind, model = held
    if kind == "one":
        return without_unknown_keys(value, model, at, connections, problems)
    if kind == "many" and isinstance(value, list):
        return [
            without_unknown_keys(v, model, (*at, i), connections, problems)
            for i, v in enumerate(value)
        ]
    if kind == "map" and isinstance(value, dict):
        return {
            k: without_unknown_keys(v, model, (*at, k), connections, problems)
            for k, v in value.items()
        }
    return value


def validation_problems(exc: ValidationError, prefix: Location = ()) -> list[Problem]:
    """pydantic's errors, located as written and worded for a person. Inputs are left out
    (they may be secrets), except a wrong choice among fixed words."""
    return [
        Problem(dotted(_as_written((*prefix, *error["loc"]))), _message(error))
        for error in exc.errors(include_url=False)
    ]


def _as_written(location: Location) -> Location:
    # `[limits.lago]` is held as `limits.providers.lago`: say it the way it is written.
    if len(location) > 2 and location[1] == "providers":
        field = Settings.model_fields.get(str(location[0]))
        held = tables(field.annotation) if field is not None else None
        if held is not None and issubclass(held[1], WithProviderTables):
            return (location[0], *location[2:])
    return location


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("literal_error", "enum"):
        shown = repr(error["input"])
        if len(shown) > _SHOWN_INPUT_CHARS:
            shown = shown[:_SHOWN_INPUT_CHARS] + "…"
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{shown} is not allowed; valid: {expected}"
    if kind == "missing":
        return "required, and not given"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}"
    message = error["msg"].removeprefix("Value error, ")
    # "Input should be greater than or equal to 2" reads "must be greater than or equal to 2".
    for said in ("Input should ", "String should ", "Value should "):
        if message.startswith(said):
            return "must " + message.removeprefix(said)
    return message


# TOML's words for what a field holds, rather than Python's.
_EXPECTED = {
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "tuple_type": "an array",
    "list_type": "an array",
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "path_type": "a path (a string)",
}


def first_per_place(problems: Iterable[Problem]) -> list[Problem]:
    """One problem per place, the first found (a `${VAR}` that is not set is not also a
    value of the wrong type), in the order of their places: the file's own first, then by
    section, array entries by number."""
    seen: list[str] = []
    kept = []
    for problem in problems:
        place = problem.where
        if place and any(place == s or place.startswith(s + ".") for s in seen):
            continue
        if place:
            seen.append(place)
        kept.append(problem)
    return sorted(kept, key=_place_order)


def _place_order(problem: Problem) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (1, int(part), "") if part.isdigit() else (2, 0, part)
        for part in problem.where.split(".")
        if part
    )


__all__ = [
    "InvalidSettings",
    "Location",
    "Problem",
    "dotted",
    "first_per_place",
    "tables",
    "validation_problems",
    "without_unknown_keys",
]
