"""End-user tokens: a JWT signed by the platform's identity provider, verified to a caller.

What a token must be, in the order checked (docs/auth.md):

- at most MAX_TOKEN_CHARS, three unpadded base64url parts with a JSON header, not a nested
  token (`cty: JWT`) nor one with `crit` extensions (before any parsing of its claims and
  before any key is looked up);
- `alg` RS256 or ES256, read from the header before a key is looked up: `none`, HS256 (an
  HMAC keyed with the public key) and every other algorithm are refused outright;
- a `kid` naming a key of the JWKS (jwks.py), whose type fits the algorithm (RSA for RS256,
  EC P-256 for ES256) and whose own `alg`, when it has one, is the header's;
- a valid signature by that key;
- `iss` equal to the issuer and `aud` (a string, or a list holding one) equal to the audience;
- `exp` present and, give or take the leeway, in the future; `nbf`, when present, past;
- the tenant claim a string; the accounts claim, when present, an object of provider key to a
  list of account ids; `scope`, when present, a space-separated string.

Every refusal is a `TokenRejected` with a stable `code`; its message never repeats the token,
its claims or a key.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from gateway.auth.jwks import FETCH_TIMEOUT_SECONDS, JwksKeys, JwksUnavailable, KeyNotFound
from gateway.settings.model import JwtSettings

# Far above any identity provider's access token (1-2 KiB), far below what would make parsing
# one a cost: a longer one is refused unread.
MAX_TOKEN_CHARS = 8 * 1024
# The only algorithms accepted, each with the key type it needs. Asymmetric only: with an HMAC
# algorithm allowed, a token "signed" with the public key as the secret would verify.
ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a verified token says about its caller."""

    # `sub`: the end user, if the token names one.
    subject: str | None
    tenant: str
    # Provider key ("layer", ...) to the account ids the user may read; None: all of them.
    accounts: Mapping[str, tuple[str, ...]] | None
    scopes: frozenset[str]
    # `exp`, in seconds since the epoch.
    expires_at: float


class TokenRejected(Exception):
    """A token that does not authenticate its bearer: `status` 401, or 503 when no key of the
    identity provider could be fetched; `code` is stable, `message` safe to show."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class JwtVerifier:
    """Verifies end-user JWTs against `[auth.jwt]` and the identity provider's JWKS.

    Usage: `token = await verifier.verify(bearer)` (a `VerifiedToken`, or `TokenRejected`);
    `await verifier.aclose()` at shutdown. Without `keys`, the JWKS is fetched through `http`,
    or through a client of the verifier's own when that is None too.
    """

    def __init__(
        self,
        settings: JwtSettings,
        http: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        keys: JwksKeys | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._own_http: httpx.AsyncClient | None = None
        self._own_keys: JwksKeys | None = None
        if keys is None:
            if http is None:
                http = self._own_http = httpx.AsyncClient(
                    timeout=FETCH_TIMEOUT_SECONDS,
                    limits=httpx.Limits(max_connections=4),
                    follow_redirects=False,
                )
            # `monotonic` paces refetches: the app's timer, so tests move it instead of waiting.
            keys = self._own_keys = JwksKeys(settings.jwks_url, http, monotonic)
        self.keys = keys
        # Tokens checked so far (tests and benchmarks count signature checks by it).
        self.verifications = 0

    async def verify(self, token: str) -> VerifiedToken:
        self.verifications += 1
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected(
                "TOKEN_MALFORMED", f"the token is longer than {MAX_TOKEN_CHARS} characters"
            )
        if not token.isascii():
            # A JWS is base64url and dots; anything else is not one (and some of it, lone
            # surrogates, would not even encode).
            raise TokenRejected("TOKEN_MALFORMED", "the token is not a signed JWT")
        if "=" in token:
            # RFC 7515 §2: base64url without padding. The decoder ignores padding, so a padded
            # copy would be a second spelling of the same signed token.
            raise TokenRejected("TOKEN_MALFORMED", "the token is not an unpadded compact JWS")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("TOKEN_MALFORMED", "the token is not a signed JWT") from None
        cty = str(header.get("cty", "")).strip().lower()
        if cty.removeprefix("application/") == "jwt":
            # A nested token (RFC 7519 §5.2): its claims would be the inner token's, which
            # this verifier never opens.
            raise TokenRejected("TOKEN_MALFORMED", "nested tokens (cty JWT) are not accepted")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenRejected(
                "TOKEN_ALGORITHM_NOT_ALLOWED",
                f"the token's algorithm is not one of {', '.join(ALGORITHMS)}",
            )
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("TOKEN_MALFORMED", "the token's header names no key (kid)")
        key = await self._key(kid)
        if key.algorithm_name != alg or not _fits(alg, key.key):
            raise TokenRejected(
                "TOKEN_ALGORITHM_NOT_ALLOWED", "the key the token names is not for its algorithm"
            )
        claims = self._decode(token, key)
        self._check_times(claims)
        return VerifiedToken(
            subject=claims.get("sub"),
            tenant=_tenant(claims, self.settings.tenant_claim),
            accounts=_accounts(claims, self.settings.accounts_claim),
            scopes=_scopes(claims),
            expires_at=float(claims["exp"]),
        )

    async def aclose(self) -> None:
        if self._own_keys is not None:
            await self._own_keys.aclose()
        if self._own_http is not None:
            await self._own_http.aclose()

    async def _key(self, kid: str) -> jwt.PyJWK:
        try:
            return await self.keys.key_for(kid)
        except KeyNotFound:
            raise TokenRejected(
                "TOKEN_UNKNOWN_KEY", "the identity provider publishes no key the token names"
            ) from None
        except JwksUnavailable:
            raise TokenRejected(
                "JWKS_UNAVAILABLE", "the identity provider's keys are unavailable", status=503
            ) from None

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        settings = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=settings.audience,
                issuer=settings.issuer,
                options={
                    # Times are checked against the injected clock (_check_times).
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenRejected(
                "TOKEN_INVALID_SIGNATURE", "the token's signature does not verify"
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(
                "TOKEN_INVALID_ISSUER", "the token's issuer is not trusted"
            ) from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(
                "TOKEN_INVALID_AUDIENCE", "the token is not meant for this gateway"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            code = {"iss": "TOKEN_INVALID_ISSUER", "aud": "TOKEN_INVALID_AUDIENCE"}
            raise TokenRejected(
                code.get(exc.claim, "TOKEN_CLAIMS_INVALID"), f"the token has no {exc.claim} claim"
            ) from None
        except (InvalidSubjectError, InvalidJTIError):
            raise TokenRejected(
                "TOKEN_CLAIMS_INVALID", "the token's sub or jti claim is not a string"
            ) from None
        except jwt.PyJWTError:
            raise TokenRejected("TOKEN_MALFORMED", "the token is not a signed JWT") from None
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, leeway = self._clock(), self.settings.leeway_seconds
        exp, nbf, iat = claims["exp"], claims.get("nbf"), claims.get("iat")
        if not _is_time(exp) or not (nbf is None or _is_time(nbf)):
            raise TokenRejected("TOKEN_CLAIMS_INVALID", "the token's exp or nbf is not a time")
        if iat is not None and not _is_time(iat):
            raise TokenRejected("TOKEN_CLAIMS_INVALID", "the token's iat is not a time")
        # The comparisons PyJWT makes, against our clock.
        if exp <= now - leeway:
            raise TokenRejected("TOKEN_EXPIRED", "the token has expired")
        if nbf is not None and nbf > now + leeway:
            raise TokenRejected("TOKEN_NOT_YET_VALID", "the token is not valid yet")


def _fits(alg: str, material: Any) -> bool:
    # jwks.py keeps only keys like these; checked again here, where the algorithm is known.
    if alg == "RS256":
        return isinstance(material, RSAPublicKey)
    return isinstance(material, EllipticCurvePublicKey) and isinstance(material.curve, SECP256R1)


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _tenant(claims: Mapping[str, Any], name: str) -> str:
    tenant = claims.get(name)
    if not isinstance(tenant, str) or not tenant:
        raise TokenRejected("TOKEN_CLAIMS_INVALID", f"the token's {name} claim is not a tenant id")
    return tenant


def _accounts(claims: Mapping[str, Any], name: str) -> Mapping[str, tuple[str, ...]] | None:
    if name not in claims:
        return None
    # Present but null, a list or a string is refused: only an absent claim means "every
    # account", so a malformed one can never widen what the user may read.
    value = claims[name]
    invalid = TokenRejected(
        "TOKEN_CLAIMS_INVALID", f"the token's {name} claim is not an object of account id lists"
    )
    if not isinstance(value, dict):
        raise invalid
    accounts: dict[str, tuple[str, ...]] = {}
    for provider, ids in value.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise invalid
        accounts[provider] = tuple(ids)
    return MappingProxyType(accounts)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if scope is None:
        return frozenset()
    if not isinstance(scope, str):
        raise TokenRejected("TOKEN_CLAIMS_INVALID", "the token's scope claim is not a string")
    return frozenset(scope.split())


__all__ = ["ALGORITHMS", "MAX_TOKEN_CHARS", "JwtVerifier", "TokenRejected", "VerifiedToken"]
