"""Which back office a customer comes from.

A provider is a name, not a closed list: the registry (gateway/providers/registry.py) says
which providers a gateway knows, and a connector added at `create_app` brings its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider by its GraphQL enum name, e.g. `Provider("LAGO")`."""

    value: str

    @property
    def name(self) -> str:
        return self.value

    @property
    def key(self) -> str:
        """The provider's name in settings sections, webhook paths and metric labels' peers."""
        return self.value.lower()

    def __str__(self) -> str:
        return self.value


__all__ = ["Provider"]
