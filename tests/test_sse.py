"""GraphQL over SSE on /graphql/stream (distinct connections mode), in process.

The stream is read through a small ASGI driver rather than an HTTP client: httpx's and
Starlette's in-process transports collect a whole body before answering, and a subscription's
body never ends. The driver's `send` holds one chunk, as a socket's buffer would, so a reader
that stops reading holds the writer up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from gateway.app import create_app
from gateway.settings.model import LimitSettings, Settings
from gateway.webhooks.signatures import standard_signature
from sandbox import LAYER_WEBHOOK_SECRET, Sandbox
from tests.support import on_sandbox, sandbox_tenant
from tests.test_webhooks import JOHN, JOHN_ID

CHANGED = "subscription { customerChanged { id provider kind customer { displayName } } }"
OTHER_KEY = "other-tenant-key-0123456789"
STREAM = "/graphql/stream"


class Stream:
    """One request to the app, its response read event by event."""

    def __init__(
        self, app: Starlette, method: str, path: str, body: bytes, headers: dict[str, str]
    ):
        self.app, self.body = app, body
        raw_path, _, query = path.partition("?")
        self.scope: dict[str, Any] = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }
        self.sent: asyncio.Queue[Message] = asyncio.Queue(1)
        self.gone = asyncio.Event()
        self.body_sent = False
        self.buffer = b""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def start(self) -> Stream:
        self.task = asyncio.create_task(self.app(self.scope, self.receive, self.sent.put))
        start = await asyncio.wait_for(self.sent.get(), 30)
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return self

    async def event(self) -> tuple[str, str]:
        """The next event (`:` for a comment line) and its data."""
        while b"\n\n" not in self.buffer:
            message = await asyncio.wait_for(self.sent.get(), 30)
            self.buffer += message.get("body", b"")
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        lines = block.decode().split("\n")
        if lines[0].startswith(":"):
            return ":", ""
        fields: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return fields["event"], fields["data"]

    async def next_data(self) -> dict[str, Any]:
        event, data = await self.event()
        while event == ":":  # a keep-alive comment
            event, data = await self.event()
        assert event == "next"
        parsed: dict[str, Any] = orjson.loads(data)
        return parsed

    async def disconnect(self) -> None:
        self.gone.set()
        assert self.task is not None
        # Drain whatever the app still sends until it notices.
        while not self.task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.sent.get(), 0.05)
        await self.task


@contextlib.asynccontextmanager
async def gateway(settings: Settings | None = None) -> AsyncIterator[Starlette]:
    upstream = httpx.ASGITransport(Sandbox().app)
    app = create_app(on_sandbox(settings or Settings()), upstream_transport=upstream)
    async with app.router.lifespan_context(app):
        yield app


def stream(
    app: Starlette, query: str = CHANGED, key: str | None = None, method: str = "POST"
) -> Stream:
    headers = {"accept": "text/event-stream", "content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    if method == "GET":
        return Stream(app, "GET", f"{STREAM}?{httpx.QueryParams(query=query)}", b"", headers)
    return Stream(app, "POST", STREAM, orjson.dumps({"query": query}), headers)


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def deliver(
    app: Starlette, event_type: str = "customer.updated", tenant: str = "demo"
) -> None:
    body = orjson.dumps({"id": "evt", "type": event_type, "data": {"id": JOHN_ID}})
    message_id, stamp = f"msg_{time.time_ns()}", int(time.time())
    async with client(app) as c:
        response = await c.post(
            f"/webhooks/layer?tenant={tenant}",
            content=body,
            headers={
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": standard_signature(
                    LAYER_WEBHOOK_SECRET, message_id, stamp, body
                ),
            },
        )
    assert response.json()["received"] is True


def subscribers(app: Starlette) -> int:
    return sum(len(s) for s in app.state.bus.subscribers.values())


def with_other_tenant(**limits: Any) -> Settings:
    other = sandbox_tenant("other", allow_anonymous=False, api_keys=(OTHER_KEY,))
    base = on_sandbox(Settings(limits=LimitSettings(**limits)))
    return base.model_copy(update={"tenants": (*base.tenants, other)})


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_verified_webhook_reaches_an_sse_subscriber(method: str) -> None:
    async with gateway() as app:
        s = await stream(app, method=method).start()
        assert s.status == 200
        assert s.headers["content-type"].startswith("text/event-stream")
        assert subscribers(app) == 1
        # A comment first: it carries the headers out before any change comes.
        assert await s.event() == (":", "")
        await deliver(app)
        change = (await s.next_data())["data"]["customerChanged"]
        assert (change["id"], change["provider"], change["kind"]) == (JOHN, "LAYER", "UPDATED")
        assert change["customer"]["displayName"]
        await s.disconnect()
        assert subscribers(app) == 0


async def test_another_tenant_never_hears_of_the_change() -> None:
    async with gateway(with_other_tenant()) as app:
        s = await stream(app, key=OTHER_KEY).start()
        await deliver(app, "customer.updated", tenant="demo")
        await deliver(app, "customer.created", tenant="other")
        # The first change it hears is its own tenant's: demo's never came.
        assert (await s.next_data())["data"]["customerChanged"]["kind"] == "CREATED"
        await s.disconnect()


async def test_a_refused_key_is_401_before_any_stream() -> None:
    async with gateway(with_other_tenant()) as app, client(app) as c:
        headers = {"accept": "text/event-stream", "authorization": "Bearer nope"}
        refused = await c.post(STREAM, json={"query": CHANGED}, headers=headers)
        as_query = await c.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={**headers, "accept": "application/json"},
        )
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/json")
        code = refused.json()["errors"][0]["extensions"]["code"]
        assert code == as_query.json()["errors"][0]["extensions"]["code"]
        assert refused.headers["www-authenticate"] == as_query.headers["www-authenticate"]
        assert subscribers(app) == 0


async def test_a_query_or_mutation_is_refused_not_streamed() -> None:
    async with gateway() as app, client(app) as c:
        headers = {"accept": "text/event-stream"}
        refused = await c.post(STREAM, json={"query": "{ __typename }"}, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_A_SUBSCRIPTION"
        # A subscription that does not validate: the protocol's way, a `next` with the errors
        # in the accepted stream, then `complete`.
        invalid = await c.post(STREAM, json={"query": "subscription { nope }"}, headers=headers)
        assert invalid.status_code == 200
        opened, next_event, complete = invalid.text.split("\n\n")[:3]
        assert opened == ":"
        assert next_event.startswith("event: next\ndata: ")
        errors = orjson.loads(next_event.split("data: ", 1)[1])["errors"]
        assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert complete == "event: complete\ndata:"
        assert subscribers(app) == 0


async def test_the_tenant_cap_is_429_before_streaming() -> None:
    async with gateway(Settings(limits=LimitSettings(max_subscribers_per_tenant=1))) as app:
        first = await stream(app).start()
        async with client(app) as c:
            headers = {"accept": "text/event-stream"}
            refused = await c.post(STREAM, json={"query": CHANGED}, headers=headers)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIBERS"
        await first.disconnect()
        again = await stream(app).start()
        assert again.status == 200
        await again.disconnect()
        assert subscribers(app) == 0


async def test_a_slow_consumer_gets_an_error_and_complete() -> None:
    async with gateway(Settings(limits=LimitSettings(subscriber_queue=1))) as app:
        s = await stream(app).start()
        # The reader reads nothing meanwhile: the writer blocks, the subscriber's queue fills.
        for _ in range(5):
            await deliver(app)
        events = []
        while True:
            event, data = await s.event()
            if event == "complete":
                break
            if event == ":":
                continue
            events.append(orjson.loads(data))
        assert events[-1]["errors"][0]["extensions"]["code"] == "SLOW_CONSUMER"
        assert all("customerChanged" in e["data"] for e in events[:-1])
        await s.disconnect()
        assert subscribers(app) == 0


async def test_an_idle_stream_gets_keep_alive_comments_without_ending() -> None:
    from gateway.http.sse import _with_keep_alive

    release = asyncio.Event()

    async def one_late_result() -> AsyncIterator[Any]:
        await release.wait()
        yield "result"

    ticks = _with_keep_alive(one_late_result(), 0.01)
    assert await anext(ticks) is None
    assert await anext(ticks) is None  # the pending read was kept, not cancelled
    release.set()
    seen: list[object] = [item async for item in ticks]
    assert seen[-1] == "result"
