"""`POST /webhooks/{provider}?tenant=<id>&account=<id>`: verify, deduplicate, apply, acknowledge.

The provider's connector (gateway/providers/<name>/webhook.py) verifies the delivery and
says what it does to the cache; this route does what is the same for every provider.
`?tenant=` and `?account=` (the provider account: Layer business, Codat company, Lago
organisation label) may be left out when only one connection would match without them.

Every answer is JSON with a stable `code` when something is refused:

    200  {"received": true, "action": "replaced|retired|stale|duplicate|ignored"}
    400  WEBHOOK_BODY_NOT_JSON, WEBHOOK_BODY_NOT_OBJECT      signed, but not a JSON object
    400  WEBHOOK_DESTINATION_AMBIGUOUS                       several tenants or accounts take
                                                         this provider's webhooks: name one
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from gateway.cache.keys import Account
from gateway.cache.store import RETRY_PAUSE_SECONDS
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import Change
from gateway.domain.customer import CustomerKey
from gateway.events.relay import ChangeFeed
from gateway.http.rejection import Rejection, retry_after, webhook_response
from gateway.providers.base import WebhookReceiver
from gateway.providers.registry import AnyConnector, Registry
from gateway.settings.model import Section, WebhookSettings
from gateway.tenants import Tenant, TenantDirectory
from gateway.webhooks.locks import RecordBusy
from gateway.webhooks.receipts import Receipts
from gateway.webhooks.signatures import Verdict

log = logging.getLogger("gateway.webhooks")
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Destination:
    """Where a delivery goes: the tenant's account at the provider, and how to check it."""

    receiver: WebhookReceiver[Any]
    account: Account
    connection: Section
    secret: str
    # The connection's own client: a verification that must call the provider uses it.
    http: httpx.AsyncClient


class WebhookEndpoint:
    """Usage: `Route("/webhooks/{provider}", WebhookEndpoint(registry, tenants, cache))`. As
    an ASGI app it receives every method, so each answer, a 405 or an unexpected error
    included, is JSON with a code."""

    def __init__(
        self,
        registry: Registry,
        tenants: TenantDirectory,
        cache: UpstreamCache,
        clock: Callable[[], float] = time.time,
        settings: WebhookSettings | None = None,
        feed: ChangeFeed | None = None,
    ) -> None:
        self.registry = registry
        self.tenants = tenants
        self.cache = cache
        self.clock = clock
        self.settings = settings or WebhookSettings()
        # Live subscribers hear of each change an applied delivery names (docs/live.md).
        self.feed = feed

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
        connector = self.registry.by_key(request.path_params["provider"].lower())
        if connector is None or connector.webhook is None:
            raise Rejection(404, "WEBHOOK_UNKNOWN_PROVIDER", "no such provider")
        query = request.query_params
        destination = self._destination(connector, query.get("tenant"), query.get("account"))
        body = await _read(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        await self._verify(destination, headers, body)
        event = _event(body)
        event_id = destination.receiver.event_id(headers)
        return await self._apply(destination, self.cache, event, event_id)

    def _destination(
        self, connector: AnyConnector, tenant_id: str | None, account: str | None
    ) -> _Destination:
        """The tenant's account the delivery is for: of the connections with this provider's
        webhook configured, the one `?tenant=` and `?account=` leave (either may be left out
        when one connection is left without it)."""
        if tenant_id is not None:
            tenant = self.tenants.tenants.get(tenant_id)
            candidates = [tenant] if tenant is not None else []
        else:
            candidates = list(self.tenants.tenants.values())
        found = [
            d
            for t in candidates
            for d in _signed(connector, t)
            if account is None or d.account.id == account
        ]
        if not found:
            raise Rejection(
                404,
                "WEBHOOK_NOT_CONFIGURED",
                "no webhook is configured for this tenant, provider and account",
            )
        if len(found) > 1:
            # Guessing would retire (or write) another account's cache.
            raise Rejection(
                400,
                "WEBHOOK_DESTINATION_AMBIGUOUS",
                "several tenants or accounts take this provider's webhooks: "
                "name one with ?tenant= and ?account=",
            )
        return found[0]

    async def _verify(
        self, destination: _Destination, headers: dict[str, str], body: bytes
    ) -> None:
        tolerance = self.settings.signature_tolerance_seconds
        verdict = await destination.receiver.verify(
            destination.secret,
            headers,
            body,
            self.clock(),
            tolerance,
            connection=destination.connection,
            http=destination.http,
        )
        if verdict is Verdict.VALID:
            return
        provider = destination.account.provider.value
        log.warning("rejected a %s webhook: %s", provider, verdict.value)
        if verdict is Verdict.OUT_OF_TOLERANCE:
            raise Rejection(
                401,
                "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE",
                "the signature's timestamp is outside the tolerance",
            )
        raise Rejection(401, "WEBHOOK_SIGNATURE_INVALID", "invalid signature")

    async def _apply(
        self,
        destination: _Destination,
        cache: UpstreamCache,
        event: dict[str, Any],
        event_id: str | None,
    ) -> Response:
        account = destination.account
        provider, tenant = account.provider.value, account.tenant
        receipts = Receipts(cache.store, self.settings.dedup_retention_seconds)
        if event_id is not None and await receipts.seen(account, event_id):
            log.info("%s webhook for tenant %s: duplicate", provider, tenant)
            return JSONResponse({"received": True, "action": "duplicate"})
        unavailable_before = cache.store.unavailable
        try:
            action = await destination.receiver.apply(account, destination.connection, cache, event)
        except RecordBusy:
            raise Rejection(
                409,
                "WEBHOOK_BUSY",
                "another event for this customer is being applied; retry later",
                retry_after(1),
            ) from None
        if event_id is not None and cache.store.unavailable == unavailable_before:
            await receipts.record(account, event_id)
        # The store swallows backend errors (reads must not fail) and counts them: a count that
        # moved means some write of this event, or its receipt, may not have happened. (Another
        # request's failure in between moves it too: then the provider retries, harmlessly.)
        if cache.store.unavailable != unavailable_before:
            log.warning(
                "%s webhook for tenant %s not applied: the cache backend is unavailable",
                provider,
                tenant,
            )
            raise Rejection(
                503,
                "WEBHOOK_CACHE_UNAVAILABLE",
                "the cache could not be updated; retry later",
                retry_after(RETRY_PAUSE_SECONDS),
            )
        log.info("%s webhook for tenant %s: %s", provider, tenant, action)
        if action in _CHANGED:
            await self._publish(destination, event)
        return JSONResponse({"received": True, "action": action})

    async def _publish(self, destination: _Destination, event: dict[str, Any]) -> None:
        changed = destination.receiver.changed(event)
        if self.feed is None or changed is None:
            return
        account = destination.account
        key = CustomerKey(account.provider, account.id, changed[0])
        at = datetime.fromtimestamp(self.clock(), UTC)
        await self.feed.publish(Change(account.tenant, key, changed[1], at))


# What an applied delivery did when it told of a change ("stale": older than what is known).
_CHANGED = frozenset({"replaced", "retired"})
_INTERNAL = Rejection(500, "INTERNAL_SERVER_ERROR", "internal server error")


def _signed(connector: AnyConnector, tenant: Tenant) -> list[_Destination]:
    """The tenant's accounts at the connector's provider that have a webhook secret."""
    receiver = connector.webhook
    if receiver is None:
        return []
    found = []
    for connection in tenant.settings.connections.get(connector.provider.key, ()):
        secret = receiver.secret(connection)
        account_id = connector.account(connection)
        upstream = tenant.upstreams.get((connector.provider, account_id))
        if secret is None or upstream is None:
            continue
        account = Account(tenant.id, connector.provider, account_id)
        found.append(
            _Destination(receiver, account, connection, secret.get_secret_value(), upstream.http)
        )
    return found


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


__all__ = ["MAX_BODY_BYTES", "WebhookEndpoint"]
