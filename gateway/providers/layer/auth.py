"""Layer's OAuth2 client-credentials tokens, fetched once and shared until they expire."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pydantic

from gateway.errors import UpstreamAuthError, UpstreamBadResponse, UpstreamRejected
from gateway.providers.layer import LAYER
from gateway.providers.layer.connection import LayerConnection
from gateway.providers.layer.wire import LayerToken
from gateway.providers.upstream import Upstream

# Renew this long before Layer says the token expires, so no call races the expiry.
EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class LayerTokens:
    """Tokens per (token URL, client id, OAuth scope); concurrent callers share one fetch.

    Usage: `token = await tokens.get(upstream, connection)`; after a 401, `tokens.discard(...)`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    async def get(self, upstream: Upstream, connection: LayerConnection) -> str:
        key = _key(connection)
        token = self._tokens.get(key)
        if token and token.expires_at > self._clock():
            return token.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._tokens.get(key)
            if token and token.expires_at > self._clock():
                return token.value
            token = await self._fetch(upstream, connection)
            self._tokens[key] = token
            return token.value

    def discard(self, connection: LayerConnection, value: str) -> None:
        """Forget `value` unless another caller has already replaced it."""
        key = _key(connection)
        token = self._tokens.get(key)
        if token and token.value == value:
            del self._tokens[key]

    async def _fetch(self, upstream: Upstream, connection: LayerConnection) -> _Token:
        client_id = connection.client_id.get_secret_value()
        request = upstream.http.build_request(
            "POST",
            connection.token_url,
            data={
                "grant_type": "client_credentials",
                "scope": connection.token_scope,
                "client_id": client_id,
            },
            headers={
                "Authorization": _basic(client_id, connection.client_secret.get_secret_value())
            },
        )
        response = await upstream.http.send(request)
        if response.status_code in (401, 403):
            raise UpstreamAuthError(LAYER)
        if response.status_code >= 300:
            raise UpstreamRejected(LAYER)
        try:
            token = LayerToken.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, pydantic.ValidationError) as exc:
            raise UpstreamBadResponse(LAYER) from exc
        expires_at = self._clock() + max(0.0, token.expires_in - EXPIRY_MARGIN_SECONDS)
        return _Token(token.access_token, expires_at)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _key(connection: LayerConnection) -> tuple[str, str, str]:
    return (connection.token_url, connection.client_id.get_secret_value(), connection.token_scope)


__all__ = ["EXPIRY_MARGIN_SECONDS", "LayerTokens"]
