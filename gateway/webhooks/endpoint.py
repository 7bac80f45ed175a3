"""`POST /webhooks/{layer|codat|lago}?tenant=<id>`: verify, then update the cache.

401 for a missing or wrong signature (and nothing changes), 404 for a tenant or provider with
no webhook configured, 413 for a body over 1 MiB, 400 for a signed body that is not JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import Provider
from gateway.tenants import Tenant, TenantDirectory
from gateway.webhooks.apply import apply_codat, apply_lago, apply_layer
from gateway.webhooks.signatures import verify_lago, verify_standard

log = logging.getLogger("gateway.webhooks")
MAX_BODY_BYTES = 1024 * 1024
Apply = Callable[[Tenant, UpstreamCache, dict[str, Any]], Awaitable[str]]
_APPLY: dict[Provider, Apply] = {
    Provider.LAYER: apply_layer,
    Provider.CODAT: apply_codat,
    Provider.LAGO: apply_lago,
}


class WebhookEndpoint:
    """Usage: `Route("/webhooks/{provider}", WebhookEndpoint(...).handle, methods=["POST"])`;
    `tenants` and `cache` are set once the app has started."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.tenants = TenantDirectory(())
        self.cache: UpstreamCache | None = None

    async def handle(self, request: Request) -> Response:
        try:
            provider = Provider(request.path_params["provider"].upper())
        except ValueError:
            return _answer(404, "no such provider")
        tenant = self._tenant(provider, request.query_params.get("tenant"))
        secret = _secret(tenant, provider) if tenant else None
        if tenant is None or secret is None or self.cache is None:
            return _answer(404, "no webhook is configured for this tenant and provider")
        body = await _read(request)
        if body is None:
            return _answer(413, "the body is too large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        valid = (
            verify_lago(secret, headers, body)
            if provider is Provider.LAGO
            else verify_standard(secret, headers, body, self.clock())
        )
        if not valid:
            log.warning("rejected a %s webhook with a bad signature", provider.value)
            return _answer(401, "invalid signature")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _answer(400, "the body is not JSON")
        if not isinstance(event, dict):
            return _answer(400, "the body is not a JSON object")
        action = await _APPLY[provider](tenant, self.cache, event)
        log.info("%s webhook for tenant %s: %s", provider.value, tenant.id, action)
        return JSONResponse({"received": True, "action": action})

    def _tenant(self, provider: Provider, tenant_id: str | None) -> Tenant | None:
        if tenant_id is not None:
            return self.tenants.tenants.get(tenant_id)
        # Without ?tenant=, the one tenant with this provider's webhook configured.
        candidates = [t for t in self.tenants.tenants.values() if _secret(t, provider)]
        return candidates[0] if len(candidates) == 1 else None


def _secret(tenant: Tenant, provider: Provider) -> str | None:
    s = tenant.settings
    value = (
        (s.layer.webhook_secret if s.layer else None)
        if provider is Provider.LAYER
        else (s.codat.webhook_secret if s.codat else None)
        if provider is Provider.CODAT
        else (s.lago.webhook_hmac_key if s.lago else None)
    )
    return value.get_secret_value() if value is not None else None


async def _read(request: Request) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _answer(status: int, message: str) -> Response:
    return JSONResponse({"received": False, "error": message}, status_code=status)


__all__ = ["MAX_BODY_BYTES", "WebhookEndpoint"]
