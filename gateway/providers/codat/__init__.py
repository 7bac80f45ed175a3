"""Codat (accounting data): Basic key auth, page-number paging, bare objects, query language."""
