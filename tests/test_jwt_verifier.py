"""End-user JWTs: what verifies, what is refused with which code, and what it costs the
identity provider (JWKS fetches, counted by the loopback IdP in tests/idp.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.auth.jwks import JwksKeys
from gateway.auth.jwt import MAX_TOKEN_CHARS, JwtVerifier, TokenRejected, VerifiedToken
from tests.idp import OMIT, IdentityProvider, new_key

START = 1_800_000_000.0


class Clock:
    """Both clocks of the verifier (wall time for `exp`, the JWKS pacing clock) in one."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture
async def keys(idp: IdentityProvider, clock: Clock) -> AsyncIterator[JwksKeys]:
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(idp.jwks_url, http, clock=clock)
        yield keys
        await keys.aclose()


@pytest.fixture
def verifier(idp: IdentityProvider, clock: Clock, keys: JwksKeys) -> JwtVerifier:
    return JwtVerifier(idp.settings(), clock=clock, keys=keys)


async def rejected(verifier: JwtVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    # The message is for people and logs: never the token, nor any part of it.
    for part in (p for p in token.split(".") if len(p) >= 8):
        assert part not in caught.value.message
    return caught.value


async def code_of(verifier: JwtVerifier, token: str) -> str:
    rejection = await rejected(verifier, token)
    assert rejection.status == 401, rejection.code
    return rejection.code


async def test_a_valid_rs256_token_verifies_to_its_caller(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    verified = await verifier.verify(idp.token(now=clock.now))
    assert verified == VerifiedToken(
        subject="user-1",
        tenant="acme",
        accounts=None,
        scopes=frozenset(),
        expires_at=START + 300,
    )
    assert idp.fetches == 1


async def test_a_valid_es256_token_verifies_and_both_keys_come_from_one_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    verified = await verifier.verify(idp.token({"sub": "user-2"}, alg="ES256", now=clock.now))
    assert (verified.subject, verified.tenant) == ("user-2", "acme")
    await verifier.verify(idp.token(now=clock.now))
    assert idp.fetches == 1


async def test_the_verifier_fetches_through_a_client_of_its_own_when_given_none(
    idp: IdentityProvider,
) -> None:
    verifier = JwtVerifier(idp.settings())
    try:
        assert (await verifier.verify(idp.token())).tenant == "acme"
    finally:
        await verifier.aclose()
    assert idp.fetches == 1


async def test_expiry_and_not_before_are_checked_with_the_leeway(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    # The default leeway is 30 seconds, each way.
    assert await code_of(verifier, idp.token({"exp": START - 31}, now=clock.now)) == (
        "TOKEN_EXPIRED"
    )
    assert await code_of(verifier, idp.token({"exp": START - 30}, now=clock.now)) == (
        "TOKEN_EXPIRED"
    )
    await verifier.verify(idp.token({"exp": START - 29}, now=clock.now))
    assert await code_of(verifier, idp.token({"nbf": START + 31}, now=clock.now)) == (
        "TOKEN_NOT_YET_VALID"
    )
    await verifier.verify(idp.token({"nbf": START + 30}, now=clock.now))


async def test_a_token_expires_as_the_clock_moves_on(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    token = idp.token(now=clock.now)
    await verifier.verify(token)
    clock.now += 300 + 29
    await verifier.verify(token)
    clock.now += 1
    assert await code_of(verifier, token) == "TOKEN_EXPIRED"


async def test_without_leeway_a_second_late_is_expired(
    idp: IdentityProvider, clock: Clock, keys: JwksKeys
) -> None:
    verifier = JwtVerifier(idp.settings(leeway_seconds=0), clock=clock, keys=keys)
    assert await code_of(verifier, idp.token({"exp": START - 1}, now=clock.now)) == (
        "TOKEN_EXPIRED"
    )
    assert await code_of(verifier, idp.token({"nbf": START + 1}, now=clock.now)) == (
        "TOKEN_NOT_YET_VALID"
    )


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": OMIT}, "TOKEN_CLAIMS_INVALID"),
        ({"exp": "soon"}, "TOKEN_CLAIMS_INVALID"),
        ({"exp": True}, "TOKEN_CLAIMS_INVALID"),
        ({"nbf": "now"}, "TOKEN_CLAIMS_INVALID"),
        ({"iat": "today"}, "TOKEN_CLAIMS_INVALID"),
        ({"sub": 42}, "TOKEN_CLAIMS_INVALID"),
        ({"iss": "https://evil.test/"}, "TOKEN_INVALID_ISSUER"),
        ({"iss": "https://idp.test"}, "TOKEN_INVALID_ISSUER"),
        ({"iss": OMIT}, "TOKEN_INVALID_ISSUER"),
        ({"aud": "another-api"}, "TOKEN_INVALID_AUDIENCE"),
        ({"aud": ["another-api"]}, "TOKEN_INVALID_AUDIENCE"),
        ({"aud": "customer-gateway-2"}, "TOKEN_INVALID_AUDIENCE"),
        ({"aud": OMIT}, "TOKEN_INVALID_AUDIENCE"),
    ],
)
async def test_claims_that_do_not_fit_are_refused_with_their_code(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, claims: dict[str, Any], code: str
) -> None:
    assert await code_of(verifier, idp.token(claims, now=clock.now)) == code


async def test_an_audience_list_that_holds_ours_is_accepted(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    # RFC 7519 4.1.3: `aud` may be a list; one of its entries must be ours, exactly.
    token = idp.token({"aud": ["userinfo", "customer-gateway"]}, now=clock.now)
    assert (await verifier.verify(token)).tenant == "acme"


async def test_an_unknown_kid_refetches_the_rotated_jwks_once_a_minute_at_most(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    first = idp.current("RS256")
    await verifier.verify(idp.token(now=clock.now))
    assert idp.fetches == 1
    # Rotated after the last fetch and more than a minute on: one refetch finds the key.
    clock.now += 61
    rotated = idp.rotate("RS256")
    assert (await verifier.verify(idp.token(kid=rotated, now=clock.now))).tenant == "acme"
    assert idp.fetches == 2
    # Within the minute, made-up kids cost the identity provider nothing.
    for kid in ("made-up-1", "made-up-2"):
        token = idp.token(kid=kid, now=clock.now)
        assert await code_of(verifier, token) == "TOKEN_UNKNOWN_KEY"
    assert idp.fetches == 2
    # The old key and the new both keep verifying without a fetch.
    await verifier.verify(idp.token(signer=first, now=clock.now))
    await verifier.verify(idp.token(kid=rotated, now=clock.now))
    assert idp.fetches == 2
    # A minute on, an unknown kid may ask again (once).
    clock.now += 60
    assert await code_of(verifier, idp.token(kid="made-up-3", now=clock.now)) == (
        "TOKEN_UNKNOWN_KEY"
    )
    assert await code_of(verifier, idp.token(kid="made-up-4", now=clock.now)) == (
        "TOKEN_UNKNOWN_KEY"
    )
    assert idp.fetches == 3


async def test_a_key_published_within_the_minute_is_found_at_the_next_allowed_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    await verifier.verify(idp.token(now=clock.now))
    rotated = idp.rotate("ES256")
    token = idp.token(alg="ES256", kid=rotated, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_UNKNOWN_KEY"
    assert idp.fetches == 1
    clock.now += 60
    await verifier.verify(idp.token(alg="ES256", kid=rotated, now=clock.now))
    assert idp.fetches == 2


async def test_a_withdrawn_key_stops_verifying_once_the_keys_are_refreshed(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    first = idp.current("RS256")
    await verifier.verify(idp.token(now=clock.now))
    replacement = idp.rotate("RS256", replace=True)
    # Ten minutes on the kept keys are refreshed: the token that finds them old is still
    # answered from them while the refresh runs beside it ...
    clock.now += 600
    old = idp.token(signer=first, now=clock.now)
    await verifier.verify(old)
    # ... and a caller that needs the new key waits for that same fetch.
    await verifier.verify(idp.token(kid=replacement, now=clock.now))
    assert idp.fetches == 2
    assert await code_of(verifier, old) == "TOKEN_UNKNOWN_KEY"
    assert idp.fetches == 2


async def test_concurrent_first_tokens_share_one_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    tokens = [idp.token({"sub": f"user-{n}"}, now=clock.now) for n in range(10)]
    tokens += [idp.token(kid=f"made-up-{n}", now=clock.now) for n in range(10)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert [r.subject for r in results[:10] if isinstance(r, VerifiedToken)] == [
        f"user-{n}" for n in range(10)
    ]
    assert {r.code for r in results[10:] if isinstance(r, TokenRejected)} == {"TOKEN_UNKNOWN_KEY"}
    assert idp.fetches == 1


@pytest.mark.parametrize("alg", ["none", "HS256-public-key"])
async def test_alg_none_and_hmac_keyed_with_the_public_key_are_refused_before_any_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, alg: str
) -> None:
    if alg == "none":
        token = idp.token(alg="none", now=clock.now)
    else:
        token = idp.hmac_with_public_key(now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_ALGORITHM_NOT_ALLOWED"
    assert idp.fetches == 0


async def test_other_asymmetric_algorithms_are_refused_too(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    for alg in ("RS512", "PS256"):
        token = idp.token(alg=alg, now=clock.now)
        assert await code_of(verifier, token) == "TOKEN_ALGORITHM_NOT_ALLOWED"
    assert idp.fetches == 0


async def test_the_key_must_fit_the_algorithm(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    # The header says RS256 but names the EC key (signed with the RSA key: it never gets
    # that far).
    token = idp.token(alg="RS256", kid=idp.current("ES256").kid, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_ALGORITHM_NOT_ALLOWED"
    # An RSA key the JWKS marks for RS512 is not used for RS256.
    rsa = idp.current("RS256")
    idp.extra_jwks.append({**rsa.jwk(), "kid": "rs512-key", "alg": "RS512"})
    clock.now += 60
    token = idp.token(kid="rs512-key", signer=rsa, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_ALGORITHM_NOT_ALLOWED"


async def test_keys_not_for_signatures_or_of_other_types_are_skipped(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    rsa = idp.current("RS256")
    weak = new_key("RS256", kid="weak", bits=1024)
    idp.extra_jwks += [
        {**rsa.jwk(), "kid": "for-encryption", "use": "enc"},
        {**rsa.jwk(), "kid": "encrypt-only", "key_ops": ["encrypt"]},
        {"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0", "alg": "HS256"},
        weak.jwk(),
        {**rsa.jwk(), "kid": "", "use": "sig"},
        "not a key",
    ]
    for kid, signer in [
        ("for-encryption", rsa),
        ("encrypt-only", rsa),
        ("weak", weak),
    ]:
        token = idp.token(kid=kid, signer=signer, now=clock.now)
        assert await code_of(verifier, token) == "TOKEN_UNKNOWN_KEY"
    # The usable keys of the same set still verify, from that one fetch.
    await verifier.verify(idp.token(now=clock.now))
    await verifier.verify(idp.token(alg="ES256", now=clock.now))
    assert idp.fetches == 1


async def test_a_tampered_payload_fails_the_signature(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    for alg in ("RS256", "ES256"):
        token = idp.tampered(idp.token(alg=alg, now=clock.now), {"tenant": "someone-else"})
        assert await code_of(verifier, token) == "TOKEN_INVALID_SIGNATURE"


async def test_a_signature_by_another_key_under_a_known_kid_fails_without_a_refetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    await verifier.verify(idp.token(now=clock.now))
    clock.now += 3600
    impostor = new_key("RS256", kid=idp.current("RS256").kid)
    token = idp.token(signer=impostor, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_INVALID_SIGNATURE"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "not.a.jwt",
        "a.b.c.d",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "....",
        "é.é.é",
        "\ud800.a.b",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsiLCJjcml0IjpbIngiXX0.e30.x",
    ],
)
async def test_malformed_tokens_are_refused_without_a_fetch(
    idp: IdentityProvider, verifier: JwtVerifier, token: str
) -> None:
    assert await code_of(verifier, token) == "TOKEN_MALFORMED"
    assert idp.fetches == 0


async def test_a_token_without_a_kid_is_refused_without_a_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    for kid in (OMIT, ""):
        assert await code_of(verifier, idp.token(kid=kid, now=clock.now)) == "TOKEN_MALFORMED"
    assert idp.fetches == 0


async def test_an_oversized_token_is_refused_unread_and_without_a_fetch(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    token = idp.token({"padding": "x" * MAX_TOKEN_CHARS}, now=clock.now)
    rejection = await rejected(verifier, token)
    assert (rejection.status, rejection.code) == (401, "TOKEN_MALFORMED")
    assert idp.fetches == 0


@pytest.mark.parametrize("tenant", [OMIT, None, "", 42, ["acme"]])
async def test_the_tenant_claim_is_a_required_string(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, tenant: object
) -> None:
    token = idp.token({"tenant": tenant}, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_CLAIMS_INVALID"


async def test_the_claim_names_come_from_the_settings(
    idp: IdentityProvider, clock: Clock, keys: JwksKeys
) -> None:
    settings = idp.settings(tenant_claim="https://example.test/org", accounts_claim="acl")
    verifier = JwtVerifier(settings, clock=clock, keys=keys)
    claims = {"tenant": OMIT, "https://example.test/org": "globex", "acl": {"lago": ["eu"]}}
    verified = await verifier.verify(idp.token(claims, now=clock.now))
    assert (verified.tenant, verified.accounts) == ("globex", {"lago": ("eu",)})


async def test_the_accounts_claim_lists_account_ids_per_provider(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    claims = {"accounts": {"layer": ["biz-1", "biz-2"], "lago": []}}
    verified = await verifier.verify(idp.token(claims, now=clock.now))
    assert verified.accounts == {"layer": ("biz-1", "biz-2"), "lago": ()}
    with pytest.raises(TypeError):
        verified.accounts["codat"] = ("co-1",)  # type: ignore[index]


@pytest.mark.parametrize(
    "accounts",
    [None, [], ["biz-1"], "biz-1", {"layer": "biz-1"}, {"layer": [1]}, {"layer": None}],
)
async def test_a_malformed_accounts_claim_is_refused_not_read_as_all_accounts(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, accounts: object
) -> None:
    token = idp.token({"accounts": accounts}, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_CLAIMS_INVALID"


async def test_scopes_are_read_from_the_space_separated_scope_claim(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    verified = await verifier.verify(
        idp.token({"scope": "customers:read  pii:read"}, now=clock.now)
    )
    assert verified.scopes == frozenset({"customers:read", "pii:read"})
    token = idp.token({"scope": ["customers:read"]}, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_CLAIMS_INVALID"


async def test_jwks_down_at_start_is_503_until_a_fetch_succeeds(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier
) -> None:
    idp.down = True
    token = idp.token(now=clock.now)
    for _ in range(3):
        rejection = await rejected(verifier, token)
        assert (rejection.status, rejection.code) == (503, "JWKS_UNAVAILABLE")
    # The identity provider is asked once a minute, not once a token.
    assert idp.fetches == 1
    idp.down = False
    assert (await rejected(verifier, token)).code == "JWKS_UNAVAILABLE"
    clock.now += 60
    token = idp.token(now=clock.now)
    assert (await verifier.verify(token)).tenant == "acme"
    assert idp.fetches == 2


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance</html>",
        b'{"keys": "none"}',
        b'{"keys": []}',
        b'{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}',
        b'{"keys": [], "padding": "' + b"x" * 70_000 + b'"}',
    ],
    ids=["not-json", "not-a-list", "empty", "no-usable-key", "oversized"],
)
async def test_a_jwks_that_cannot_be_used_at_start_is_503(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, body: bytes
) -> None:
    idp.body = body
    rejection = await rejected(verifier, idp.token(now=clock.now))
    assert (rejection.status, rejection.code) == (503, "JWKS_UNAVAILABLE")
    assert idp.fetches == 1


async def test_an_oversized_jwks_is_refused_even_if_it_would_parse(
    idp: IdentityProvider, clock: Clock
) -> None:
    # A real set, just larger than the cap this cache was given.
    body = json.dumps(idp.jwks()).encode()
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(idp.jwks_url, http, clock=clock, max_bytes=len(body) - 1)
        verifier = JwtVerifier(idp.settings(), clock=clock, keys=keys)
        assert (await rejected(verifier, idp.token(now=clock.now))).code == "JWKS_UNAVAILABLE"
        keys = JwksKeys(idp.jwks_url, http, clock=clock, max_bytes=len(body) + 100)
        verifier = JwtVerifier(idp.settings(), clock=clock, keys=keys)
        assert (await verifier.verify(idp.token(now=clock.now))).tenant == "acme"


@pytest.mark.parametrize("failure", ["down", "garbage"])
async def test_jwks_down_after_a_good_fetch_keeps_the_known_keys(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, failure: str
) -> None:
    await verifier.verify(idp.token(now=clock.now))
    if failure == "down":
        idp.down = True
    else:
        idp.body = b'{"keys": []}'
    # An unknown kid asks again and fails: the known keys stay, the unknown kid is unknown.
    clock.now += 60
    assert await code_of(verifier, idp.token(kid="made-up", now=clock.now)) == ("TOKEN_UNKNOWN_KEY")
    assert idp.fetches == 2
    await verifier.verify(idp.token(now=clock.now))
    await verifier.verify(idp.token(alg="ES256", now=clock.now))
    # Past their age, the refresh fails too, and the keys still verify.
    clock.now += 600
    await verifier.verify(idp.token(now=clock.now))
    assert await code_of(verifier, idp.token(kid="made-up", now=clock.now)) == ("TOKEN_UNKNOWN_KEY")
    assert idp.fetches == 3
    await verifier.verify(idp.token(alg="ES256", now=clock.now))


async def test_a_jwks_server_that_is_unreachable_is_503_not_a_crash(clock: Clock) -> None:
    with IdentityProvider() as idp:
        settings = idp.settings()
        token = idp.token(now=clock.now)
    # The server is gone: the connection is refused.
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(settings.jwks_url, http, clock=clock)
        verifier = JwtVerifier(settings, clock=clock, keys=keys)
        rejection = await rejected(verifier, token)
        assert (rejection.status, rejection.code) == (503, "JWKS_UNAVAILABLE")


async def test_a_jwks_server_that_never_answers_is_given_up_on(
    idp: IdentityProvider, clock: Clock
) -> None:
    idp.hang = True
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(idp.jwks_url, http, clock=clock, timeout=0.2)
        verifier = JwtVerifier(idp.settings(), clock=clock, keys=keys)
        rejection = await rejected(verifier, idp.token(now=clock.now))
        assert (rejection.status, rejection.code) == (503, "JWKS_UNAVAILABLE")
    assert idp.fetches == 1


@pytest.mark.parametrize(
    "variant",
    [
        "padded-header",
        "padded-signature",
        "nested-cty",
        "nested-cty-media-type",
        "nested-cty-spaced",
        "critical-extension",
    ],
)
async def test_only_compact_unpadded_unnested_tokens_are_taken(
    idp: IdentityProvider, clock: Clock, verifier: JwtVerifier, variant: str
) -> None:
    """RFC 7515 §2 and §7.1: base64url without padding, one form of each token; a token
    carrying `=` padding is another spelling of a signed one (padding is ignored by the
    decoder), so it could be replayed past a cache or log keyed by the token. `cty: JWT`
    announces a nested token and `crit` extensions the gateway does not implement (§4.1.11):
    both are refused rather than half-understood."""
    if variant.startswith("padded"):
        header, payload, signature = idp.token(now=clock.now).split(".")
        if variant == "padded-header":
            header += "="
        else:
            signature += "=="
        token = f"{header}.{payload}.{signature}"
    elif variant.startswith("nested-cty"):
        # RFC 7515 §4.1.10: `application/` may be left out, so both name a nested token.
        cty = {"nested-cty": "JWT", "nested-cty-media-type": "application/jwt"}
        token = idp.token(headers={"cty": cty.get(variant, " JWT ")}, now=clock.now)
    else:
        token = idp.token(headers={"crit": ["exp"], "exp": 1}, now=clock.now)
    assert await code_of(verifier, token) == "TOKEN_MALFORMED"
    assert idp.fetches == 0
