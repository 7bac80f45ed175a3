"""`POST /webhooks/{layer|codat|lago}?tenant=<id>`: verify, deduplicate, apply, acknowledge.

Every answer is JSON with a stable `code` when something is refused:

    200  {"received": true, "action": "replaced|retired|stale|duplicate|ignored"}
    400  WEBHOOK_BODY_NOT_JSON, WEBHOOK_BODY_NOT_OBJECT      signed, but not a JSON object
    401  WEBHOOK_SIGNATURE_INVALID                           missing or wrong signature
    401  WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE                  signed too long ago (or ahead)
    404  WEBHOOK_UNKNOWN_PROVIDER, WEBHOOK_NOT_CONFIGURED
    405  WEBHOOK_METHOD_NOT_ALLOWED                          not a POST
    409  WEBHOOK_BUSY                                        another delivery for the same
                                                         customer is being applied: retry
    413  WEBHOOK_BODY_TOO_LARGE                              over 1 MiB
    503  WEBHOOK_CACHE_UNAVAILABLE                           a cache write failed: retry

Each refusal is a `Rejection` (gateway/http/rejection.py) answered by `webhook_response`.
Nothing changes on a 4xx. A 2xx means the event is in the cache (or needs nothing), so the
provider stops retrying; a 503 means it is not, and no receipt was written, so the retry is
applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from gateway.cache.keys import Scope
from gateway.cache.store import RETRY_PAUSE_SECONDS
from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import Provider
from gateway.http.rejection import Rejection, retry_after, webhook_response
from gateway.settings import WebhookSettings
from gateway.tenants import Tenant, TenantDirectory
from gateway.webhooks.apply import apply_codat, apply_lago, apply_layer
from gateway.webhooks.locks import RecordBusy
from gateway.webhooks.receipts import Receipts
from gateway.webhooks.signatures import (
    Verdict,
    lago_event_id,
    standard_message_id,
    verify_lago,
    verify_standard,
)

log = logging.getLogger("gateway.webhooks")
MAX_BODY_BYTES = 1024 * 1024


class WebhookEndpoint:
    """Usage: `Route("/webhooks/{provider}", WebhookEndpoint(clock, settings.webhooks))`;
    `tenants` and `cache` are set once the app has started. As an ASGI app it receives every
    method, so each answer, a 405 or an unexpected error included, is JSON with a code."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        settings: WebhookSettings | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings or WebhookSettings()
        self.tenants = TenantDirectory(())
        self.cache: UpstreamCache | None = None

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except Rejection as rejection:
            response = webhook_response(rejection)
        except Exception:  # a bug must still get a JSON answer, logged once
            log.exception("unexpected error handling a webhook")
            response = webhook_response(_INTERNAL)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Verify, deduplicate and apply one delivery; a refusal is raised as a Rejection."""
        if request.method != "POST":
            raise Rejection(
                405, "WEBHOOK_METHOD_NOT_ALLOWED", "send webhooks with POST", {"Allow": "POST"}
            )
        provider = _provider(request.path_params["provider"])
        tenant, secret, cache = self._destination(provider, request.query_params.get("tenant"))
        body = await _read(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self._verify(provider, secret, headers, body)
        event = _event(body)
        return await self._apply(tenant, provider, cache, event, _event_id(provider, headers))

    def _destination(
        self, provider: Provider, tenant_id: str | None
    ) -> tuple[Tenant, str, UpstreamCache]:
        """The tenant the delivery is for, its secret for `provider`, and the cache to apply to."""
        tenant = self._tenant(provider, tenant_id)
        secret = _secret(tenant, provider) if tenant else None
        if tenant is None or secret is None or self.cache is None:
            raise Rejection(
                404,
                "WEBHOOK_NOT_CONFIGURED",
                "no webhook is configured for this tenant and provider",
            )
        return tenant, secret, self.cache

    def _verify(
        self, provider: Provider, secret: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        tolerance = self.settings.signature_tolerance_seconds
        verdict = _verdict(provider, secret, headers, body, self.clock, tolerance)
        if verdict is Verdict.VALID:
            return
        log.warning("rejected a %s webhook: %s", provider.value, verdict.value)
        if verdict is Verdict.OUT_OF_TOLERANCE:
            raise Rejection(
                401,
                "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
                "the signature's timestamp is outside the tolerance",
            )
        raise Rejection(401, "WEBHOOK_SIGNATURE_INVALID", "invalid signature")

    async def _apply(
        self,
        tenant: Tenant,
        provider: Provider,
        cache: UpstreamCache,
        event: dict[str, Any],
        event_id: str | None,
    ) -> Response:
        scope = Scope(tenant.id, provider, _account(tenant, provider))
        receipts = Receipts(cache.store, self.settings.dedup_retention_seconds)
        if event_id is not None and await receipts.seen(scope, event_id):
            log.info("%s webhook for tenant %s: duplicate", provider.value, tenant.id)
            return JSONResponse({"received": True, "action": "duplicate"})
        unavailable_before = cache.store.unavailable
        try:
            action = await _APPLY[provider](tenant, cache, event)
        except RecordBusy:
            raise Rejection(
                409,
                "WEBHOOK_BUSY",
                "another event for this customer is being applied; retry later",
                retry_after(1),
            ) from None
        if event_id is not None and cache.store.unavailable == unavailable_before:
            await receipts.record(scope, event_id)
        # The store swallows backend errors (reads must not fail) and counts them: a count that
        # moved means some write of this event, or its receipt, may not have happened. (Another
        # request's failure in between moves it too: then the provider retries, harmlessly.)
        if cache.store.unavailable != unavailable_before:
            log.warning(
                "%s webhook for tenant %s not applied: the cache backend is unavailable",
                provider.value,
                tenant.id,
            )
            raise Rejection(
                503,
                "WEBHOOK_CACHE_UNAVAILABLE",
                "the cache could not be updated; retry later",
                retry_after(RETRY_PAUSE_SECONDS),
            )
        log.info("%s webhook for tenant %s: %s", provider.value, tenant.id, action)
        return JSONResponse({"received": True, "action": action})

    def _tenant(self, provider: Provider, tenant_id: str | None) -> Tenant | None:
        if tenant_id is not None:
            return self.tenants.tenants.get(tenant_id)
        # Without ?tenant=, the one tenant with this provider's webhook configured.
        candidates = [t for t in self.tenants.tenants.values() if _secret(t, provider)]
        return candidates[0] if len(candidates) == 1 else None


_INTERNAL = Rejection(500, "INTERNAL_SERVER_ERROR", "internal server error")


async def _read(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Rejection(413, "WEBHOOK_BODY_TOO_LARGE", "the body is too large")
    return bytes(body)


def _event(body: bytes) -> dict[str, Any]:
    """The verified body as an event object."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Rejection(400, "WEBHOOK_BODY_NOT_JSON", "the body is not JSON") from None
    if not isinstance(event, dict):
        raise Rejection(400, "WEBHOOK_BODY_NOT_OBJECT", "the body is not a JSON object")
    return event


# Provider-specific lookups, each in one small function so that a provider registry can
# replace them one by one.


def _provider(name: str) -> Provider:
    try:
        return Provider(name.upper())
    except ValueError:
        raise Rejection(404, "WEBHOOK_UNKNOWN_PROVIDER", "no such provider") from None


Apply = Callable[[Tenant, UpstreamCache, dict[str, Any]], Awaitable[str]]
_APPLY: dict[Provider, Apply] = {
    Provider.LAYER: apply_layer,
    Provider.CODAT: apply_codat,
    Provider.LAGO: apply_lago,
}


def _verdict(
    provider: Provider,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    clock: Callable[[], float],
    tolerance: float,
) -> Verdict:
    if provider is Provider.LAGO:
        return verify_lago(secret, headers, body)
    return verify_standard(secret, headers, body, clock(), tolerance)


def _event_id(provider: Provider, headers: Mapping[str, str]) -> str | None:
    return lago_event_id(headers) if provider is Provider.LAGO else standard_message_id(headers)


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


def _account(tenant: Tenant, provider: Provider) -> str:
    """The provider account the tenant's webhook speaks for (it has a secret, so it exists)."""
    s = tenant.settings
    if provider is Provider.LAYER and s.layer:
        return s.layer.business_id
    if provider is Provider.CODAT and s.codat:
        return s.codat.company_id
    return s.lago.organization_id if s.lago else ""


__all__ = ["MAX_BODY_BYTES", "WebhookEndpoint"]
