"""The `DateTime` scalar: Strawberry's, but a value it cannot read is refused without the
parser's internals in the message ("invalid literal for int() with base 10: b'yest'")."""

from __future__ import annotations

import dataclasses

import dateutil.parser  # type: ignore[import-untyped]  # Strawberry's own parser
from strawberry.schema.types.base_scalars import DateTimeDefinition, wrap_parser
from strawberry.types.scalar import ScalarDefinition

DATE_TIME: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    parse_value=wrap_parser(
        dateutil.parser.isoparse, "DateTime", (ValueError, OverflowError), include_error=False
    ),
)

__all__ = ["DATE_TIME"]
