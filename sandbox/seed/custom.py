"""Customer records of your own, served beside the built-in ones (`--data FILE`).

The file is one JSON object, `{"layer": [...], "codat": [...], "lago": [...]}` (any key may be
left out), each list holding customers in that provider's own wire format, exactly as its API
returns them. Real providers send values their published schemas do not allow (new enum
values, free-form details, nulls where a string is documented), so a record is checked only
for what the simulators themselves rely on: that it is a JSON object carrying the provider's
identifiers as non-empty strings, unique within the account. What the gateway then makes of
the record is the gateway's business, which is the point of serving it.

Usage::

    records = load_custom_records(Path("sandbox/examples/awkward_customers.json"))
    Sandbox(custom=records)
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.seed.generator import JSON

# What each provider's customer is addressed by: the simulators look records up by these.
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "layer": ("id",),
    "codat": ("id",),
    # Lago reads by external id; lists order by creation time, ties broken by `lago_id`.
    "lago": ("lago_id", "external_id"),
}


class SandboxDataError(ValueError):
    """The file cannot be served; the message is one line naming the file and the record."""


@dataclass
class CustomRecords:
    """Records per provider key ("layer", "codat", "lago"), in the file's order, and the
    file they came from (for messages)."""

    source: str
    by_provider: dict[str, list[JSON]] = field(default_factory=dict)

    def records(self, provider: str) -> list[JSON]:
        return self.by_provider.get(provider, [])


def load_custom_records(path: Path) -> CustomRecords:
    """The records of `path`, checked; a problem raises `SandboxDataError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SandboxDataError(f"sandbox data {path}: cannot be read ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SandboxDataError(f"sandbox data {path}: not JSON ({exc})") from None
    return parse_custom_records(document, str(path))


def parse_custom_records(document: Any, source: str) -> CustomRecords:
    """`document` (already decoded JSON) checked as a sandbox data file called `source`."""
    where = f"sandbox data {source}"
    if not isinstance(document, dict):
        raise SandboxDataError(
            f"{where}: expected an object of provider lists, not JSON {_kind(document)}"
        )
    unknown = sorted(set(document) - set(IDENTIFIERS))
    if unknown:
        known = ", ".join(sorted(IDENTIFIERS))
        raise SandboxDataError(f"{where}: unknown provider {unknown[0]!r} (known: {known})")
    custom = CustomRecords(source)
    for provider, records in document.items():
        if not isinstance(records, list):
            raise SandboxDataError(f"{where}: {provider} is not a list of customer records")
        seen: set[tuple[str, str]] = set()
        for index, record in enumerate(records):
            _check(record, provider, f"{where}: {provider}[{index}]", seen)
        custom.by_provider[provider] = records
    return custom


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean"}.get(type(value), "scalar")


def _check(record: Any, provider: str, where: str, seen: set[tuple[str, str]]) -> None:
    if not isinstance(record, dict):
        raise SandboxDataError(f"{where} is not a JSON object")
    for name in IDENTIFIERS[provider]:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise SandboxDataError(f"{where} has no {name!r} (a non-empty string)")
        if (name, value) in seen:
            raise SandboxDataError(f"{where} repeats {name} {value!r}")
        seen.add((name, value))


def merge_custom(provider: str, built_in: list[JSON], custom: CustomRecords) -> list[JSON]:
    """`built_in` with the custom records of `provider` served first; an identifier the
    built-in data already uses is refused (the simulators would serve only one of the two)."""
    records = custom.records(provider)
    taken = {(n, r.get(n)) for r in built_in for n in IDENTIFIERS[provider]}
    for index, record in enumerate(records):
        for name in IDENTIFIERS[provider]:
            if (name, record[name]) in taken:
                raise SandboxDataError(
                    f"sandbox data {custom.source}: {provider}[{index}] {name} {record[name]!r} "
                    "is already a built-in customer's"
                )
    # Copies: the simulators change records in place (upserts), and one `CustomRecords` may
    # seed several sandboxes.
    return [*copy.deepcopy(records), *built_in]


__all__ = [
    "IDENTIFIERS",
    "CustomRecords",
    "SandboxDataError",
    "load_custom_records",
    "merge_custom",
    "parse_custom_records",
]
