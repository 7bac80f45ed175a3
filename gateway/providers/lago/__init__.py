"""Lago (usage billing): Bearer key auth, page-number paging, `{customer}` envelopes."""
