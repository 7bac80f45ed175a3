"""Live updates in process: graphql-transport-ws on /graphql, fed by verified webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

with warnings.catch_warnings():
    # Starlette would have `httpx2` for its TestClient; the httpx we have serves it as well.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient, WebSocketDisconnect
    from starlette.testclient import WebSocketTestSession as Socket

from gateway.app import create_app
from gateway.domain.change import Change, ChangeKind
from gateway.domain.customer import CustomerKey
from gateway.events.bus import EventBus, SlowConsumer, TooManySubscribers
from gateway.events.relay import decode_change, encode_change
from gateway.providers.layer import LAYER
from gateway.settings.model import LimitSettings, PersistedSettings, Settings
from gateway.webhooks.signatures import standard_signature
from sandbox import DEMO_ACCOUNT, LAYER_WEBHOOK_SECRET, Sandbox
from tests.support import on_sandbox, sandbox_tenant
from tests.test_webhooks import JOHN, JOHN_ID

PROTOCOL = ["graphql-transport-ws"]
CHANGED = "subscription { customerChanged { id provider kind at customer { displayName } } }"
OTHER_KEY = "other-tenant-key-0123456789"


def client(settings: Settings | None = None) -> Iterator[TestClient]:
    upstream = httpx.ASGITransport(Sandbox().app)
    app = create_app(on_sandbox(settings or Settings()), upstream_transport=upstream)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def gateway() -> Iterator[TestClient]:
    yield from client()


def deliver(c: TestClient, event_type: str = "customer.updated", tenant: str = "demo") -> None:
    body = orjson.dumps({"id": "evt", "type": event_type, "data": {"id": JOHN_ID}})
    message_id, stamp = f"msg_{time.time_ns()}", int(time.time())
    response = c.post(
        f"/webhooks/layer?tenant={tenant}",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": standard_signature(LAYER_WEBHOOK_SECRET, message_id, stamp, body),
        },
    )
    assert response.json() == {"received": True, "action": "retired"}


def init(ws: Socket, payload: dict[str, Any] | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": payload or {}})
    assert ws.receive_json() == {"type": "connection_ack"}


def closed(ws: Socket) -> int:
    with pytest.raises(WebSocketDisconnect) as raised:
        ws.receive_json()
    return raised.value.code


def test_a_verified_webhook_reaches_a_subscriber(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
        deliver(gateway)
        message = ws.receive_json()
        assert message["type"] == "next"
        assert message["id"] == "1"
        change = message["payload"]["data"]["customerChanged"]
        assert (change["id"], change["provider"], change["kind"]) == (JOHN, "LAYER", "UPDATED")
        assert change["customer"]["displayName"]
        ws.send_json({"type": "complete", "id": "1"})
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_the_filters_narrow_the_changes(gateway: TestClient) -> None:
    query = "subscription($ids: [ID!]) { customerChanged(providers: [LAYER], ids: $ids) { kind } }"
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        other = "T3RoZXI"  # not a customer-gateway id
        ws.send_json(
            {
                "type": "subscribe",
                "id": "a",
                "payload": {"query": query, "variables": {"ids": [other]}},
            }
        )
        error = ws.receive_json()
        assert error["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert ws.receive_json() == {"type": "complete", "id": "a"}
        ws.send_json(
            {
                "type": "subscribe",
                "id": "b",
                "payload": {"query": query, "variables": {"ids": [JOHN]}},
            }
        )
        deliver(gateway, "customer.archived")
        message = ws.receive_json()
        assert message["id"] == "b"
        assert message["payload"]["data"]["customerChanged"] == {"kind": "DELETED"}


def test_another_tenant_never_hears_of_the_change() -> None:
    other = sandbox_tenant("other", allow_anonymous=False, api_keys=(OTHER_KEY,))
    settings = on_sandbox(Settings()).model_copy(
        update={"tenants": (*on_sandbox(Settings()).tenants, other)}
    )
    for c in client(settings):
        with c.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            init(ws, {"Authorization": f"Bearer {OTHER_KEY}"})
            ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
            deliver(c, "customer.updated", tenant="demo")
            deliver(c, "customer.created", tenant="other")
            message = ws.receive_json()
            # The first change it hears is its own tenant's: demo's never came.
            assert message["payload"]["data"]["customerChanged"]["kind"] == "CREATED"


def test_the_tenant_cap_refuses_one_subscription_too_many() -> None:
    settings = Settings(limits=LimitSettings(max_subscribers_per_tenant=1))
    for c in client(settings):
        with c.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            init(ws)
            ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
            ws.send_json({"type": "subscribe", "id": "2", "payload": {"query": CHANGED}})
            refused = ws.receive_json()
            assert refused["type"] == "error"
            assert refused["id"] == "2"
            assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIBERS"


def test_a_refused_key_closes_with_4403(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        assert closed(ws) == 4403


def test_subscribe_before_the_ack_closes_with_4401(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
        assert closed(ws) == 4401


def test_a_second_init_closes_with_4429(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        ws.send_json({"type": "connection_init"})
        assert closed(ws) == 4429


def test_a_duplicate_id_closes_with_4409(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": CHANGED}})
        assert closed(ws) == 4409


def test_a_message_that_is_not_one_closes_with_4400(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_text("{not json")
        assert closed(ws) == 4400


def test_another_subprotocol_is_refused_with_4406(gateway: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as raised,
        gateway.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
    ):
        ws.receive_json()
    assert raised.value.code == 4406


def test_a_query_document_is_an_error_not_a_stream(gateway: TestClient) -> None:
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ nope }"}})
        message = ws.receive_json()
        assert message["type"] == "next"
        assert message["payload"]["errors"]


# -- the bus --------------------------------------------------------------------------------


def _change(tenant: str = "demo") -> Change:
    key = CustomerKey(LAYER, DEMO_ACCOUNT.layer_business_id, JOHN_ID)
    return Change(tenant, key, ChangeKind.UPDATED, datetime(2025, 1, 1, tzinfo=UTC))


class _View:
    id = "demo"

    def source(self, provider: object, account: str) -> object | None:
        return object() if account == DEMO_ACCOUNT.layer_business_id else None


async def test_a_subscriber_that_falls_behind_is_ended_not_buffered() -> None:
    bus = EventBus(max_per_tenant=5, queue_size=2)
    subscriber = bus.subscribe(_View())  # type: ignore[arg-type]
    for _ in range(3):
        bus.publish(_change())
    assert subscriber.queue.qsize() == 2
    with pytest.raises(SlowConsumer):
        await subscriber.next()


async def test_the_bus_caps_subscribers_per_tenant_and_frees_closed_ones() -> None:
    bus = EventBus(max_per_tenant=1)
    first = bus.subscribe(_View())  # type: ignore[arg-type]
    with pytest.raises(TooManySubscribers):
        bus.subscribe(_View())  # type: ignore[arg-type]
    first.close()
    bus.subscribe(_View())  # type: ignore[arg-type]


async def test_a_view_hears_only_its_accounts_and_tenant() -> None:
    bus = EventBus(max_per_tenant=5)
    subscriber = bus.subscribe(_View())  # type: ignore[arg-type]
    bus.publish(_change("another"))
    elsewhere = Change(
        "demo", CustomerKey(LAYER, "not-in-view", "x"), ChangeKind.CREATED, _change().at
    )
    bus.publish(elsewhere)
    bus.publish(_change())
    assert subscriber.queue.qsize() == 1
    assert await asyncio.wait_for(subscriber.next(), 1) == _change()


def test_a_relayed_change_reads_back_whole() -> None:
    assert decode_change(encode_change(_change(), "me")) == ("me", _change())
    assert decode_change(b"{}") is None


def test_a_websocket_gets_one_access_line_with_its_request_id(
    gateway: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="gateway.access"):
        headers = {"x-request-id": "ws-1"}
        with gateway.websocket_connect("/graphql", PROTOCOL, headers=headers) as ws:
            init(ws)
        with pytest.raises(WebSocketDisconnect), gateway.websocket_connect("/nowhere") as ws:
            ws.receive_json()
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    accepted = [r for r in lines if getattr(r, "request_id", None) == "ws-1"]
    assert [(r.method, r.path, r.status) for r in accepted] == [("WEBSOCKET", "/graphql", 101)]  # type: ignore[attr-defined]
    refused = [r for r in lines if r.path == "/nowhere"]  # type: ignore[attr-defined]
    assert [r.status for r in refused] == [403]  # type: ignore[attr-defined]


def test_a_persisted_subscription_runs_by_its_apq_hash(gateway: TestClient) -> None:
    """Apollo's APQ over graphql-transport-ws: the hash alone is unknown until a subscribe
    sends the document with it; then the hash alone subscribes and hears the change."""
    digest = hashlib.sha256(CHANGED.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        init(ws)
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"extensions": apq}})
        unknown = ws.receive_json()
        assert unknown["type"] == "error"
        assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registering = {"query": CHANGED, "extensions": apq}
        ws.send_json({"type": "subscribe", "id": "2", "payload": registering})
        ws.send_json({"type": "subscribe", "id": "3", "payload": {"extensions": apq}})
        deliver(gateway)
        heard = {ws.receive_json()["id"], ws.receive_json()["id"]}
    assert heard == {"2", "3"}


def test_a_trusted_document_subscribes_by_its_id(tmp_path: Any) -> None:
    manifest = tmp_path / "manifest.json"
    digest = hashlib.sha256(CHANGED.encode()).hexdigest()
    manifest.write_text(orjson.dumps({digest: CHANGED}).decode())
    settings = Settings(persisted=PersistedSettings(mode="require", manifest_path=manifest))
    for gateway in client(settings):
        with gateway.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            init(ws)
            free_form = {"type": "subscribe", "id": "1", "payload": {"query": CHANGED}}
            ws.send_json(free_form)
            refused = ws.receive_json()
            ws.send_json(
                {"type": "subscribe", "id": "2", "payload": {"documentId": f"sha256:{digest}"}}
            )
            deliver(gateway)
            message = ws.receive_json()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    assert (message["type"], message["id"]) == ("next", "2")
    assert message["payload"]["data"]["customerChanged"]["id"] == JOHN
