"""Upstream caching: tenant-first keys, freshness windows, single-flight, memory or Redis."""
