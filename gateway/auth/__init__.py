"""Who a request acts as (docs/auth.md).

callers.py turns an `Authorization` header into a `Caller`: a tenant API key (servers) or an
end-user JWT (frontends); accounts.py narrows a tenant to the accounts a token allows;
jwks.py keeps the identity provider's signing keys (fetched over HTTP, refetched on
rotation) and jwt.py verifies a token against them and the `[auth.jwt]` settings.
"""
