"""A test identity provider: real RSA and EC P-256 keys, a JWKS served over loopback HTTP, and
tokens minted to order, including deliberately bad ones.

Usage:

    with IdentityProvider() as idp:
        settings = idp.settings()                    # JwtSettings pointing at this provider
        token = idp.token({"scope": "read"})         # RS256, the current RSA key
        token = idp.token(alg="ES256", now=clock())  # ES256, times from a test clock
        kid = idp.rotate("RS256")                    # a new key, published beside the others
        idp.down = True                              # the JWKS answers 503 until False again
        idp.hang = True                              # ... or no answer at all
        assert idp.fetches == 2                      # JWKS requests served (or refused)

    Bad tokens: `idp.token({"tenant": OMIT})` (a default claim left out), `idp.token(kid=OMIT)`,
    `idp.token(alg="none")`, `idp.hmac_with_public_key()` (HS256 keyed with the RSA key's
    public PEM), `idp.tampered(token, {"tenant": "other"})` (payload changed, signature kept),
    `idp.token(kid="x", signer=new_key())` (signed by a key the JWKS does not hold).

The server is `http.server` in a thread, bound to a free loopback port, so the code under test
fetches the JWKS exactly as it would from a real identity provider.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.server
import itertools
import json
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from gateway.settings.model import JwtSettings

JWKS_PATH = "/.well-known/jwks.json"
ISSUER = "https://idp.test/"
AUDIENCE = "customer-gateway"
# Leave a default claim out of a token: `idp.token({"tenant": OMIT})`.
OMIT: Any = object()

_numbers = itertools.count(1)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}


def new_key(alg: str = "RS256", kid: str | None = None, *, bits: int = 2048) -> SigningKey:
    """A fresh key: RSA of `bits` for RS256 (and other RS/PS algorithms), EC P-256 for ES256."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg.startswith(("RS", "PS")):
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"no keys for {alg}")
    return SigningKey(kid or f"{alg.lower()}-{next(_numbers)}", alg, private)


@functools.cache
def _starting_keys() -> tuple[SigningKey, SigningKey]:
    # One RSA and one EC key for every provider of the test run: generating a 2048-bit RSA
    # key takes a good part of a second, and nothing is shared between providers but these.
    return new_key("RS256", "rs256-start"), new_key("ES256", "es256-start")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class IdentityProvider:
    """An identity provider on loopback HTTP: a context manager (the server runs inside it)."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys: dict[str, SigningKey] = {}
        # The kids the JWKS publishes, in order; `keys` also holds retired ones, to sign with.
        self.published: list[str] = []
        # Further JWKs published verbatim after the signing keys (keys the verifier must skip).
        self.extra_jwks: list[Any] = []
        # When set, the JWKS answers with this body instead (garbage, oversized, ...).
        self.body: bytes | None = None
        self.down = False
        # When set, a JWKS request gets no answer until the provider stops (a hung server).
        self.hang = False
        self.fetches = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for key in _starting_keys():
            self.keys[key.kid] = key
            self.published.append(key.kid)

    # --- keys ---

    def rotate(self, alg: str = "RS256", *, replace: bool = False) -> str:
        """A new key for `alg`, published (alone, with `replace`); its kid."""
        key = new_key(alg)
        with self._lock:
            self.keys[key.kid] = key
            if replace:
                self.published = [key.kid]
            else:
                self.published.append(key.kid)
        return key.kid

    def current(self, alg: str = "RS256") -> SigningKey:
        """The newest published key for `alg`."""
        for kid in reversed(self.published):
            if self.keys[kid].alg == alg:
                return self.keys[kid]
        raise LookupError(f"no published {alg} key")

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            published = [self.keys[kid].jwk() for kid in self.published]
        return {"keys": [*published, *self.extra_jwks]}

    # --- tokens ---

    def claims(
        self, claims: Mapping[str, Any] | None = None, *, now: float | None = None
    ) -> dict[str, Any]:
        """The default claims (a valid token for tenant "acme"), with `claims` over them."""
        issued = time.time() if now is None else now
        merged: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "tenant": "acme",
            "iat": int(issued),
            "exp": int(issued) + 300,
            **(claims or {}),
        }
        return {k: v for k, v in merged.items() if v is not OMIT}

    def token(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        now: float | None = None,
        signer: SigningKey | None = None,
    ) -> str:
        """A token signed by `signer` (default: the current key for `alg`), whose header names
        `kid` (default: the signer's; OMIT leaves it out) and carries `headers` besides."""
        payload = self.claims(claims, now=now)
        signer = signer or self.current("ES256" if alg == "ES256" else "RS256")
        header = {"kid": signer.kid if kid is None else kid, **(headers or {})}
        header = {k: v for k, v in header.items() if v is not OMIT}
        if alg == "none":
            return jwt.encode(payload, "", algorithm="none", headers=header)
        with warnings.catch_warnings():
            # A weak key here is deliberate: the verifier is what must refuse it.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(payload, signer.private, algorithm=alg, headers=header)

    def hmac_with_public_key(
        self, claims: Mapping[str, Any] | None = None, *, now: float | None = None
    ) -> str:
        """HS256 keyed with the current RSA key's public PEM: the algorithm-confusion attack.
        PyJWT refuses to sign with a PEM as an HMAC secret, so it is built by hand."""
        signer = self.current("RS256")
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signer.kid}).encode())
        payload = b64url(json.dumps(self.claims(claims, now=now)).encode())
        mac = hmac.new(signer.public_pem, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{b64url(mac.digest())}"

    @staticmethod
    def tampered(token: str, changes: Mapping[str, Any]) -> str:
        """`token` with `changes` written into its payload and the original signature kept."""
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged = b64url(json.dumps({**claims, **changes}).encode())
        return f"{header}.{forged}.{signature}"

    # --- settings and server ---

    @property
    def jwks_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the identity provider is not running (use it with `with`)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{JWKS_PATH}"

    def settings(self, **overrides: Any) -> JwtSettings:
        values = {"jwks_url": self.jwks_url, "issuer": self.issuer, "audience": self.audience}
        return JwtSettings(**{**values, **overrides})

    def __enter__(self) -> IdentityProvider:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll, so leaving the `with` (shutdown) does not wait half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def _answer(self, path: str) -> tuple[int, bytes]:
        if path != JWKS_PATH:
            return 404, b'{"error": "not found"}'
        with self._lock:
            self.fetches += 1
            down, body, hang = self.down, self.body, self.hang
        if hang:
            self._stopping.wait()
        if down:
            return 503, b'{"error": "unavailable"}'
        return 200, body if body is not None else json.dumps(self.jwks()).encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = idp._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows failures, not every request

        return Handler


def identity_provider() -> Iterator[IdentityProvider]:
    """For a fixture: `idp = pytest.fixture(identity_provider)`."""
    with IdentityProvider() as idp:
        yield idp


__all__ = [
    "AUDIENCE",
    "ISSUER",
    "JWKS_PATH",
    "OMIT",
    "IdentityProvider",
    "SigningKey",
    "b64url",
    "identity_provider",
    "new_key",
]
