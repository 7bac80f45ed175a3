"""Layer (embedded accounting): OAuth2 client credentials, cursor paging, `{data}` envelopes."""
