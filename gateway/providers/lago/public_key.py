"""Lago's webhook public key: fetched from Lago's API, kept, and fetched again on rotation.

Lago signs JWT-mode webhooks (RS256) with one RSA key per Lago installation and publishes the
public half at `GET /webhooks/json_public_key` (`{"webhook": {"public_key": <base64>}}`; the
deprecated `GET /webhooks/public_key` is the same base64 as text). The base64 wraps the key's
PEM text (lago-api renders `Base64.encode64(public_key.to_s)`); the spec's example is base64
DER, so both are read.

The key is fetched through the connection's own client (its gate, breaker and credential), once,
and kept per client: each tenant connection holds its own, so one tenant's answer never stands
in for another's. When a signature does not verify with the kept key, Lago may have rotated it:
the key is fetched again, but at most once a minute, so forged deliveries cannot make the
gateway call Lago for each of them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import weakref
from dataclasses import dataclass

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from gateway.errors import GatewayError
from gateway.providers.lago.connection import LagoConnection

log = logging.getLogger("gateway.webhooks")
KEY_PATH = "/webhooks/json_public_key"
REFETCH_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Held:
    key: RSAPublicKey | None
    fetched_at: float


class PublicKeys:
    """Usage: `key = await keys.current(http, connection, now)`; after a failed verification,
    `await keys.refreshed(http, connection, now)` (None: fetched too recently, or no key)."""

    def __init__(self) -> None:
        self._held: weakref.WeakKeyDictionary[httpx.AsyncClient, _Held] = (
            weakref.WeakKeyDictionary()
        )

    async def current(
        self, http: httpx.AsyncClient, connection: LagoConnection, now: float
    ) -> RSAPublicKey | None:
        held = self._held.get(http)
        if held is None or (held.key is None and not _recent(held, now)):
            # Never fetched, or the last fetch found no key and a minute has passed: a Lago
            # blip at the first delivery must not refuse every later genuine one.
            held = await self._fetch(http, connection, now)
        return held.key

    async def refreshed(
        self, http: httpx.AsyncClient, connection: LagoConnection, now: float
    ) -> RSAPublicKey | None:
        held = self._held.get(http)
        if held is not None and _recent(held, now):
            return None
        return (await self._fetch(http, connection, now)).key

    async def _fetch(
        self, http: httpx.AsyncClient, connection: LagoConnection, now: float
    ) -> _Held:
        url = connection.base_url.rstrip("/") + KEY_PATH
        headers = {"Authorization": f"Bearer {connection.api_key.get_secret_value()}"}
        key: RSAPublicKey | None = None
        try:
            response = await http.get(url, headers=headers)
            if response.status_code == 200:
                key = public_key(response.content)
            else:
                log.warning("Lago's webhook public key: status %s", response.status_code)
        except (GatewayError, httpx.HTTPError) as exc:
            log.warning("Lago's webhook public key could not be fetched: %s", type(exc).__name__)
        # A failure is kept too: the next attempt (`current` or `refreshed`) waits out the
        # minute, as after a rotation.
        held = _Held(key, now)
        self._held[http] = held
        return held


def _recent(held: _Held, now: float) -> bool:
    return 0 <= now - held.fetched_at < REFETCH_SECONDS


def public_key(body: bytes) -> RSAPublicKey | None:
    """The RSA key in Lago's `json_public_key` answer, or None if it holds none."""
    try:
        document = orjson.loads(body)
        encoded = document["webhook"]["public_key"]
        raw = base64.b64decode(encoded)
        if raw.lstrip().startswith(b"-----BEGIN"):
            key = load_pem_public_key(raw)
        else:
            key = load_der_public_key(raw)
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error, ValueError):
        log.warning("Lago's webhook public key answer holds no readable key")
        return None
    return key if isinstance(key, RSAPublicKey) else None


__all__ = ["KEY_PATH", "REFETCH_SECONDS", "PublicKeys", "public_key"]
