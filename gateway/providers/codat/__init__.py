"""Codat (accounting data): Basic key auth, page-number paging, bare objects, query language."""

from gateway.domain.provider import Provider

CODAT = Provider("CODAT")

__all__ = ["CODAT"]
