"""Authentication: from a request's `Authorization` header to the `Caller` it acts as.

    no header            → the anonymous tenant (the sandbox's), else 401
    Bearer <API key>     → its tenant, every account it configures, its `api_key_scopes`
    Bearer <a.b.c> (JWT) → the tenant its tenant claim names, seen through its accounts claim
                           (gateway/auth/accounts.py), with the scopes of its `scope` claim

API keys are for servers: they are checked first (a digest lookup), so a key never reaches
the identity provider. A token is a JWT only when `[auth.jwt]` is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.auth.accounts import AccountViews
from gateway.auth.jwt import JwtVerifier, TokenRejected
from gateway.errors import TenantError
from gateway.settings.model import AuthSettings
from gateway.tenants import Tenant, TenantDirectory


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request acts as. `tenant` is what it may read: for a JWT, the tenant's view
    of the accounts its token allows."""

    tenant: Tenant
    via: Literal["api_key", "jwt", "anonymous"]
    # For `[auth.field_scopes]`; None: every scope.
    scopes: frozenset[str] | None = None
    # A JWT's `sub`, what per-user rate limits count by.
    subject: str | None = None
    # May run trusted (manifest) documents only: a JWT caller under `auth.jwt_persisted_only`.
    trusted_only: bool = False


class Authenticator:
    """Usage: `caller = await authenticator.authenticate(request.headers.get("authorization"))`;
    raises `TenantError` (401) or `TokenRejected` (401, or 503 when the keys are unreachable)."""

    def __init__(
        self,
        directory: TenantDirectory,
        settings: AuthSettings | None = None,
        verifier: JwtVerifier | None = None,
    ) -> None:
        self.directory = directory
        self.configure(settings or AuthSettings(), verifier)

    def configure(self, settings: AuthSettings, verifier: JwtVerifier | None) -> None:
        """Authenticate by `settings` from now on (at start, and on a configuration reload,
        after the directory's tenants are replaced: views of the old tenants go too)."""
        self.settings, self.verifier, self.views = settings, verifier, AccountViews()

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            return Caller(self.directory.anonymous(), "anonymous")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise TenantError("Send the gateway API key or token as Authorization: Bearer <token>")
        tenant = self.directory.by_key(credential)
        if tenant is not None:
            scopes = tenant.settings.api_key_scopes
            return Caller(tenant, "api_key", None if scopes is None else frozenset(scopes))
        if self.verifier is None or credential.count(".") != 2:
            raise TenantError("Unknown gateway API key")
        return await self._from_token(self.verifier, credential)

    async def _from_token(self, verifier: JwtVerifier, token: str) -> Caller:
        verified = await verifier.verify(token)
        tenant = self.directory.tenants.get(verified.tenant)
        if tenant is None:
            raise TokenRejected("TOKEN_CLAIMS_INVALID", "the token names no tenant served here")
        view = self.views.view(tenant, verified.accounts)
        trusted_only = self.settings.jwt_persisted_only
        return Caller(view, "jwt", verified.scopes, verified.subject, trusted_only)

    async def aclose(self) -> None:
        if self.verifier is not None:
            await self.verifier.aclose()


__all__ = ["Authenticator", "Caller"]
