"""Layer (embedded accounting): OAuth2 client credentials, cursor paging, `{data}` envelopes."""

from gateway.domain.provider import Provider

LAYER = Provider("LAYER")

__all__ = ["LAYER"]
