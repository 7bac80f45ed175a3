"""The identity provider's signing keys: a JWKS fetched over HTTP, kept, refetched on rotation.

The set is fetched on first use. A token naming a `kid` the set lacks may mean the identity
provider rotated its keys, so the set is fetched again, but at most once per
`refetch_interval`: a flood of tokens with made-up kids costs the identity provider one request
a minute, not one each. Keys older than `max_age` are refreshed in the background while still
served, so a key the identity provider withdrew stops verifying without a restart. Callers
that need a fetch at the same time share it (single flight).

A fetch that fails (connection, timeout, status, more than `max_bytes`, not a JWKS, no usable
key) keeps the last good keys. Only keys this gateway verifies with are kept: public RSA keys
of at least 2048 bits and public EC P-256 keys, with a `kid`, meant for signatures (`use`
absent or "sig", `key_ops` absent or naming "verify"); anything else in the set is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK, PyJWTError

log = logging.getLogger("gateway.auth")

REFETCH_INTERVAL_SECONDS = 60.0
MAX_AGE_SECONDS = 600.0
MAX_JWKS_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 5.0
# NIST and RFC 8725 put RSA below 2048 bits out of use.
MIN_RSA_BITS = 2048


class JwksUnavailable(Exception):
    """No key is known: the JWKS could not be fetched (or held no usable key) and never has."""


class KeyNotFound(LookupError):
    """The JWKS, fetched as recently as allowed, has no usable key with this `kid`."""


class _FetchFailed(Exception):
    pass


class JwksKeys:
    """The signing keys published at `url`, fetched through `http`.

    Usage: `key = await keys.key_for(kid)` (a `jwt.PyJWK`); raises `KeyNotFound`, or
    `JwksUnavailable` when no key has ever been fetched. `await keys.aclose()` stops a
    refresh in flight (the client is the caller's to close).
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval: float = REFETCH_INTERVAL_SECONDS,
        max_bytes: int = MAX_JWKS_BYTES,
        *,
        max_age: float = MAX_AGE_SECONDS,
        timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self._http = http
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._max_bytes = max_bytes
        self._max_age = max_age
        self._timeout = timeout
        self._keys: Mapping[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._flight: asyncio.Task[None] | None = None
        self.fetches = 0

    async def key_for(self, kid: str) -> PyJWK:
        now = self._clock()
        key = self._keys.get(kid)
        if key is not None:
            if self._stale(now) and self._may_fetch(now):
                # Served as is; the refresh runs beside this request, not in its way.
                self._begin(now)
            return key
        if self._flight is None and self._may_fetch(now):
            self._begin(now)
        if self._flight is not None:
            # Shielded: a caller that gives up (cancelled) does not cancel the others' fetch.
            await asyncio.shield(self._flight)
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._keys:
            raise JwksUnavailable("the identity provider's keys could not be fetched")
        raise KeyNotFound("no usable key with the token's kid")

    async def aclose(self) -> None:
        flight, self._flight = self._flight, None
        if flight is not None and not flight.done():
            flight.cancel()
            # Its own cancellation ends it; nothing of it is wanted any more.
            await asyncio.gather(flight, return_exceptions=True)

    def _stale(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at >= self._max_age

    def _may_fetch(self, now: float) -> bool:
        # Failed attempts count too: an identity provider that is down is asked once per
        # interval, not once per token.
        return self._attempted_at is None or now - self._attempted_at >= self._refetch_interval

    def _begin(self, now: float) -> None:
        if self._flight is None:
            self._attempted_at = now
            self._flight = asyncio.get_running_loop().create_task(self._fetch())

    async def _fetch(self) -> None:
        try:
            self.fetches += 1
            keys = usable_keys(orjson.loads(await self._download()))
            if not keys:
                raise _FetchFailed("no usable key")
            self._keys = keys
            self._fetched_at = self._clock()
        except (_FetchFailed, httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError) as exc:
            detail = str(exc) if isinstance(exc, _FetchFailed) else type(exc).__name__
            log.warning("JWKS fetch failed (%s); keeping %d known key(s)", detail, len(self._keys))
        except Exception:
            # Whatever else went wrong, the keys already known keep working.
            log.exception("JWKS fetch failed; keeping %d known key(s)", len(self._keys))
        finally:
            self._flight = None

    async def _download(self) -> bytes:
        # The client's own timeouts bound each read; this bounds the whole answer, so a
        # server trickling bytes cannot hold the requests waiting for the fetch.
        async with (
            asyncio.timeout(self._timeout),
            self._http.stream(
                "GET",
                self.url,
                headers={"Accept": "application/json", "Accept-Encoding": "identity"},
                timeout=self._timeout,
                follow_redirects=False,
            ) as response,
        ):
            if response.status_code != 200:
                raise _FetchFailed(f"status {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise _FetchFailed(f"larger than {self._max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise _FetchFailed(f"larger than {self._max_bytes} bytes")
        return bytes(body)


def usable_keys(document: Any) -> dict[str, PyJWK]:
    """The keys of a JWKS document this gateway verifies with, by `kid` (the first of a kid
    wins); raises ValueError when `document` is not a JWKS."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        key = usable_key(entry)
        if key is not None and key.key_id is not None:
            keys.setdefault(key.key_id, key)
    return keys


def usable_key(entry: Any) -> PyJWK | None:
    """The JWK `entry` as a verification key, or None if this gateway cannot use it."""
    if not isinstance(entry, dict):
        return None
    kid, use, ops = entry.get("kid"), entry.get("use"), entry.get("key_ops")
    if not isinstance(kid, str) or not kid:
        return None
    if use is not None and use != "sig":
        return None
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    if entry.get("kty") not in ("RSA", "EC") or not isinstance(entry.get("alg", ""), str):
        # Only asymmetric keys: an `oct` (shared secret) key has no place in a public set.
        return None
    try:
        # PyJWK binds the key to the JWK's own `alg`, or to RS256 / ES256 by its type.
        key = PyJWK(entry)
    except (PyJWTError, NotImplementedError, TypeError, ValueError):
        return None
    if fits(key):
        return key
    return None


def fits(key: PyJWK) -> bool:
    """Whether `key` is a public key of a type and size this gateway verifies with."""
    material = key.key
    if isinstance(material, RSAPublicKey):
        return material.key_size >= MIN_RSA_BITS
    # Private halves never pass: a set that publishes one is misconfigured, not trusted.
    return isinstance(material, EllipticCurvePublicKey) and isinstance(material.curve, SECP256R1)


__all__ = [
    "FETCH_TIMEOUT_SECONDS",
    "MAX_AGE_SECONDS",
    "MAX_JWKS_BYTES",
    "MIN_RSA_BITS",
    "REFETCH_INTERVAL_SECONDS",
    "JwksKeys",
    "JwksUnavailable",
    "KeyNotFound",
    "fits",
    "usable_key",
    "usable_keys",
]
