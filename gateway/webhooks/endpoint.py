"""`POST /webhooks/{provider}?tenant=<id>`: verify, deduplicate, apply, acknowledge.

The provider's connector verifies the delivery and says what it does to the cache.

Every answer is JSON with a stable `code` when something is refused:

    200  {"received": true, "action": "replaced|retired|stale|duplicate|ignored"}
    400  WEBHOOK_BODY_NOT_JSON, WEBHOOK_BODY_NOT_OBJECT      signed, but not a JSON object
    401  WEBHOOK_SIGNATURE_INVALID                           missing or wrong signature
    401  WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE                  signed too long ago (or ahead)
    404  WEBHOOK_UNKNOWN_PROVIDER, WEBHOOK_NOT_CONFIGURED
    409  WEBHOOK_BUSY                                        another delivery for the same
                                                         customer is being applied: retry
    413  WEBHOOK_BODY_TOO_LARGE                              over 1 MiB
    503  WEBHOOK_CACHE_UNAVAILABLE                           a cache write failed: retry

Nothing changes on a 4xx. A 2xx means the event is in the cache (or needs nothing), so the
provider stops retrying; a 503 means it is not, and no receipt was written, so the retry is
applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from gateway.cache.keys import Account
from gateway.cache.store import RETRY_PAUSE_SECONDS
from gateway.cache.upstream import UpstreamCache
from gateway.providers.registry import AnyConnector, Registry
from gateway.settings import Section, WebhookSettings
from gateway.tenants import Tenant, TenantDirectory
from gateway.webhooks.locks import RecordBusy
from gateway.webhooks.receipts import Receipts
from gateway.webhooks.signatures import Verdict

log = logging.getLogger("gateway.webhooks")
MAX_BODY_BYTES = 1024 * 1024


class WebhookEndpoint:
    """Usage: `Route("/webhooks/{provider}", WebhookEndpoint(clock, settings.webhooks))`;
    `tenants` and `cache` are set once the app has started. As an ASGI app it receives every
    method, so each answer, a 405 or an unexpected error included, is JSON with a code."""

    def __init__(
        self,
        registry: Registry,
        clock: Callable[[], float] = time.time,
        settings: WebhookSettings | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.settings = settings or WebhookSettings()
        self.tenants = TenantDirectory(())
        self.cache: UpstreamCache | None = None

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method != "POST":
            response = _refuse(
                405, "WEBHOOK_METHOD_NOT_ALLOWED", "send webhooks with POST", {"Allow": "POST"}
            )
        else:
            try:
                response = await self.handle(request)
            except Exception:  # a bug must still get a JSON answer, logged once
                log.exception("unexpected error handling a webhook")
                response = _refuse(500, "INTERNAL_SERVER_ERROR", "internal server error")
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        connector = self.registry.by_key(request.path_params["provider"].lower())
        if connector is None or connector.webhook is None:
            return _refuse(404, "WEBHOOK_UNKNOWN_PROVIDER", "no such provider")
        found = self._tenant(connector, request.query_params.get("tenant"))
        cache = self.cache
        if found is None or cache is None:
            return _refuse(
                404,
                "WEBHOOK_NOT_CONFIGURED",
                "no webhook is configured for this tenant and provider",
            )
        tenant, connection, secret = found
        body = await _read(request)
        if body is None:
            return _refuse(413, "WEBHOOK_BODY_TOO_LARGE", "the body is too large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        tolerance = self.settings.signature_tolerance_seconds
        verdict = connector.webhook.verify(secret, headers, body, self.clock(), tolerance)
        if verdict is not Verdict.VALID:
            log.warning("rejected a %s webhook: %s", connector.provider.value, verdict.value)
            if verdict is Verdict.OUT_OF_TOLERANCE:
                return _refuse(
                    401,
                    "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
                    "the signature's timestamp is outside the tolerance",
                )
            return _refuse(401, "WEBHOOK_SIGNATURE_INVALID", "invalid signature")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _refuse(400, "WEBHOOK_BODY_NOT_JSON", "the body is not JSON")
        if not isinstance(event, dict):
            return _refuse(400, "WEBHOOK_BODY_NOT_OBJECT", "the body is not a JSON object")
        account = Account(tenant.id, connector.provider, connector.account(connection))
        delivery = _Delivery(connector, account, connection, event)
        return await self._apply(delivery, cache, connector.webhook.event_id(headers))

    async def _apply(
        self, delivery: _Delivery, cache: UpstreamCache, event_id: str | None
    ) -> Response:
        account, provider = delivery.account, delivery.account.provider.value
        receipts = Receipts(cache.store, self.settings.dedup_retention_seconds)
        if event_id is not None and await receipts.seen(account, event_id):
            log.info("%s webhook for tenant %s: duplicate", provider, account.tenant)
            return JSONResponse({"received": True, "action": "duplicate"})
        unavailable_before = cache.store.unavailable
        try:
            action = await delivery.apply(cache)
        except RecordBusy:
            return _refuse(
                409,
                "WEBHOOK_BUSY",
                "another event for this customer is being applied; retry later",
                {"Retry-After": "1"},
            )
        if event_id is not None and cache.store.unavailable == unavailable_before:
            await receipts.record(account, event_id)
        # The store swallows backend errors (reads must not fail) and counts them: a count that
        # moved means some write of this event, or its receipt, may not have happened. (Another
        # request's failure in between moves it too: then the provider retries, harmlessly.)
        if cache.store.unavailable != unavailable_before:
            log.warning(
                "%s webhook for tenant %s not applied: the cache backend is unavailable",
                provider,
                account.tenant,
            )
            return _refuse(
                503,
                "WEBHOOK_CACHE_UNAVAILABLE",
                "the cache could not be updated; retry later",
                {"Retry-After": str(int(RETRY_PAUSE_SECONDS))},
            )
        log.info("%s webhook for tenant %s: %s", provider, account.tenant, action)
        return JSONResponse({"received": True, "action": action})

    def _tenant(
        self, connector: AnyConnector, tenant_id: str | None
    ) -> tuple[Tenant, Section, str] | None:
        """The tenant the delivery is for, with its connection and signing secret. Without
        ?tenant=, the one tenant with this provider's webhook configured."""
        if tenant_id is not None:
            candidates = [t for t in (self.tenants.tenants.get(tenant_id),) if t is not None]
        else:
            candidates = list(self.tenants.tenants.values())
        found = [(t, *s) for t in candidates if (s := _signing(connector, t)) is not None]
        return found[0] if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class _Delivery:
    connector: AnyConnector
    account: Account
    connection: Section
    event: dict[str, Any]

    async def apply(self, cache: UpstreamCache) -> str:
        assert self.connector.webhook is not None
        return await self.connector.webhook.apply(self.account, self.connection, cache, self.event)


def _signing(connector: AnyConnector, tenant: Tenant) -> tuple[Section, str] | None:
    """The tenant's connection to the provider and its webhook secret, if it has both."""
    connection = tenant.settings.connections.get(connector.provider.key)
    if connection is None or connector.webhook is None:
        return None
    secret = connector.webhook.secret(connection)
    return (connection, secret.get_secret_value()) if secret is not None else None


async def _read(request: Request) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _refuse(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"received": False, "error": message, "code": code}, status_code=status, headers=headers
    )


__all__ = ["MAX_BODY_BYTES", "WebhookEndpoint"]
