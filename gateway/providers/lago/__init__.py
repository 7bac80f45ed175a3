"""Lago (usage billing): Bearer key auth, page-number paging, `{customer}` envelopes."""

from gateway.domain.provider import Provider

LAGO = Provider("LAGO")

__all__ = ["LAGO"]
