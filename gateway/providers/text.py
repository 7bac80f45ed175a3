"""Small normalisations the three mappings share."""

from __future__ import annotations


def text(value: str | None) -> str | None:
    """None for missing and blank values: providers send "" where they mean "nothing"."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def texts(*values: str | None) -> tuple[str, ...]:
    """The values that are not blank, stripped, in order: `texts(" a ", "", None)` is ("a",)."""
    return tuple(found for value in values if (found := text(value)))


def first_text(*values: str | None) -> str | None:
    for value in values:
        if found := text(value):
            return found
    return None


__all__ = ["first_text", "text", "texts"]
