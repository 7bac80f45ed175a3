"""End-user authentication: JWTs from the platform's identity provider (docs/auth.md).

jwks.py keeps the identity provider's signing keys (fetched over HTTP, refetched on rotation);
jwt.py verifies a token against them and the `[auth.jwt]` settings.
"""
