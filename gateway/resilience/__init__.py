"""Surviving slow and failing providers: deadlines, retries, breakers, gates, token buckets."""
