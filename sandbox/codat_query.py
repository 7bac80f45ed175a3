"""Codat's query language, evaluated against wire records, for the simulator.

Grammar: `expr := and ('||' and)*`, `and := atom ('&&' atom)*`, `atom := '{' expr '}' | clause`,
`clause := path op value` with ops `= != ~ > < >= <=`. Strings compare case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]
_CLAUSE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)(>=|<=|!=|=|~|>|<)(.*)$", re.S)


class QueryError(ValueError):
    pass


def compile_query(text: str) -> Predicate:
    parser = _Parser(text)
    predicate = parser.expression()
    if parser.position != len(text):
        raise QueryError("unexpected text after query")
    return predicate


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def expression(self) -> Predicate:
        terms = [self.conjunction()]
        while self.text.startswith("||", self.position):
            self.position += 2
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda r: any(t(r) for t in terms))

    def conjunction(self) -> Predicate:
        atoms = [self.atom()]
        while self.text.startswith("&&", self.position):
            self.position += 2
            atoms.append(self.atom())
        return atoms[0] if len(atoms) == 1 else (lambda r: all(a(r) for a in atoms))

    def atom(self) -> Predicate:
        if self.text.startswith("{", self.position):
            self.position += 1
            inner = self.expression()
            if not self.text.startswith("}", self.position):
                raise QueryError("unclosed group")
            self.position += 1
            return inner
        end = self.position
        while end < len(self.text) and not (
            self.text.startswith(("&&", "||"), end) or self.text[end] == "}"
        ):
            end += 1
        clause = self.text[self.position : end]
        self.position = end
        return _clause(clause)


def _clause(text: str) -> Predicate:
    match = _CLAUSE.match(text)
    if not match or not match.group(3):
        raise QueryError(f"malformed clause {text!r}")
    path, op, value = match.groups()
    keys = path.split(".")

    def predicate(record: dict[str, Any]) -> bool:
        current: Any = record
        for key in keys:
            if not isinstance(current, dict):
                return False
            current = current.get(key)
        return _compare(current, op, value)

    return predicate


def _compare(actual: Any, op: str, expected: str) -> bool:
    if actual is None:
        # Codat has no null tests: a missing value passes only "not equal".
        return op == "!="
    if isinstance(actual, bool):
        result = str(actual).lower() == expected.lower()
        return result if op == "=" else not result if op == "!=" else False
    if isinstance(actual, int | float):
        try:
            number = float(expected)
        except ValueError:
            return False
        return _ordered(float(actual), op, number)
    text = str(actual)
    if op == "~":
        return expected.casefold() in text.casefold()
    if op in ("=", "!="):
        equal = text.casefold() == expected.casefold()
        return equal if op == "=" else not equal
    left, right = _moment(text), _moment(expected)
    if left is None or right is None:
        return _ordered(text, op, expected)
    return _ordered(left, op, right)


def _ordered(left: Any, op: str, right: Any) -> bool:
    return bool(
        {
            "=": left == right,
            "!=": left != right,
            ">": left > right,
            "<": left < right,
            ">=": left >= right,
            "<=": left <= right,
        }.get(op, False)
    )


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["QueryError", "compile_query"]
