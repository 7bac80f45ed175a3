"""Live updates across instances: a webhook delivered to one gateway process reaches a
subscriber of another through the Redis they share (gateway/events/relay.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from gateway.webhooks.signatures import standard_signature
from sandbox import LAYER_WEBHOOK_SECRET
from tests.services import (
    SANDBOX_ENV,
    free_port,
    gateway_process,
    redis_server,
    require,
    sandbox_config,
)
from tests.test_webhooks import JOHN, JOHN_ID

CHANGED = "subscription { customerChanged { id provider kind } }"
# The npm clients, at the versions tests/live/package-lock.json pins.
LIVE = Path(__file__).resolve().parent / "live"


def signed_delivery(url: str, event_type: str = "customer.updated") -> httpx.Response:
    body = orjson.dumps({"id": "evt", "type": event_type, "data": {"id": JOHN_ID}})
    message_id, stamp = f"msg_{time.time_ns()}", int(time.time())
    return httpx.post(
        url,
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": standard_signature(LAYER_WEBHOOK_SECRET, message_id, stamp, body),
        },
        timeout=30,
    )


async def first_change(url: str, delivered: asyncio.Event) -> tuple[dict[str, object], float]:
    """Subscribe on `url`, let the delivery go, and return the first change with the seconds
    it took to arrive."""
    protocol = websockets.Subprotocol("graphql-transport-ws")
    async with websockets.connect(url, subprotocols=[protocol]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": CHANGED}}))
        # The subscription is registered once the server has read it; give it a moment.
        await asyncio.sleep(0.5)
        delivered.set()
        sent = time.monotonic()
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if message["type"] == "next":
                return message["payload"]["data"]["customerChanged"], time.monotonic() - sent


OTHER_KEY = "other-tenant-key-0123456789"


@contextlib.contextmanager
def two_instances(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A standalone sandbox and two `serve` processes on one redis-server: their ports. Two
    tenants on the sandbox's demo account: "acme", anonymous, and "other", keyed OTHER_KEY."""
    sandbox_port, one, two = free_port(), free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    with redis_server() as redis:
        config = tmp_path / "gateway.toml"
        top = f'[cache]\nurl = "{redis.url}"\n'
        other = sandbox_config(sandbox, tenant='api_keys = ["${OTHER_KEY}"]', webhooks=True)
        text = sandbox_config(sandbox, top=top, webhooks=True) + other.replace(
            'id = "acme"', 'id = "other"'
        )
        config.write_text(text, encoding="utf-8")
        env = {**SANDBOX_ENV, "OTHER_KEY": OTHER_KEY}
        with (
            gateway_process(
                ["sandbox", "--port", str(sandbox_port)], f"{sandbox}/lago/api/v1/customers"
            ),
            gateway_process(
                ["serve", "--config", str(config), "--port", str(one)],
                f"http://127.0.0.1:{one}/healthz",
                env,
            ),
            gateway_process(
                ["serve", "--config", str(config), "--port", str(two)],
                f"http://127.0.0.1:{two}/healthz",
                env,
            ),
        ):
            yield one, two


def npm_client(package: str) -> str:
    """node's path, once tests/live holds `package`; skipped without them, failed in CI."""
    node = require("node")
    if not (LIVE / "node_modules" / package).exists():
        message = f"tests/live has no {package}: npm ci --prefix tests/live (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return node


def subscribed(node: str, script: str, url: str, token: str | None = None) -> subprocess.Popen[str]:
    """A tests/live script subscribed at `url`: it has said "ready", and will print the first
    change as one JSON line and exit."""
    args = [node, str(LIVE / script), url, *([token] if token else [])]
    subscriber = subprocess.Popen(  # noqa: S603 - node on our own script
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert subscriber.stdout is not None
    ready = subscriber.stdout.readline().strip()
    if ready != "ready":
        subscriber.kill()
        _, err = subscriber.communicate(timeout=10)
        pytest.fail(f"{script} did not subscribe: {ready} {err}")
    return subscriber


def first_change_of(subscriber: subprocess.Popen[str]) -> dict[str, object]:
    out, err = subscriber.communicate(timeout=30)
    assert subscriber.returncode == 0, err
    change: dict[str, object] = json.loads(out.strip().splitlines()[-1])["data"]["customerChanged"]
    return change


def test_a_webhook_to_one_instance_reaches_a_subscriber_of_another_within_a_second(
    tmp_path: Path,
) -> None:
    with two_instances(tmp_path) as (one, two):

        async def run() -> tuple[dict[str, object], float, int]:
            delivered = asyncio.Event()
            waiting = asyncio.create_task(first_change(f"ws://127.0.0.1:{two}/graphql", delivered))
            await delivered.wait()
            response = await asyncio.to_thread(
                signed_delivery, f"http://127.0.0.1:{one}/webhooks/layer?tenant=acme"
            )
            change, seconds = await waiting
            return change, seconds, response.status_code

        change, seconds, status = asyncio.run(run())
    assert status == 200
    assert change == {"id": JOHN, "provider": "LAYER", "kind": "UPDATED"}
    assert seconds < 1.0


@pytest.mark.parametrize(
    ("package", "script", "url"),
    [
        ("graphql-ws", "subscribe.mjs", "ws://127.0.0.1:{port}/graphql"),
        ("graphql-sse", "subscribe-sse.mjs", "http://127.0.0.1:{port}/graphql/stream"),
    ],
)
def test_the_npm_client_on_one_instance_hears_a_webhook_to_another(
    tmp_path: Path, package: str, script: str, url: str
) -> None:
    node = npm_client(package)
    with two_instances(tmp_path) as (one, two):
        subscriber = subscribed(node, script, url.format(port=two))
        sent = time.monotonic()
        delivered = signed_delivery(f"http://127.0.0.1:{one}/webhooks/layer?tenant=acme")
        change = first_change_of(subscriber)
        seconds = time.monotonic() - sent
    assert delivered.status_code == 200
    assert change == {"id": JOHN, "provider": "LAYER", "kind": "UPDATED"}
    assert seconds < 1.0


def test_a_graphql_sse_subscriber_of_another_tenant_hears_none_of_its_changes(
    tmp_path: Path,
) -> None:
    node = npm_client("graphql-sse")
    with two_instances(tmp_path) as (one, two):
        url = f"http://127.0.0.1:{two}/graphql/stream"
        acme = subscribed(node, "subscribe-sse.mjs", url)
        other = subscribed(node, "subscribe-sse.mjs", url, OTHER_KEY)
        webhooks = f"http://127.0.0.1:{one}/webhooks/layer"
        assert signed_delivery(f"{webhooks}?tenant=acme").status_code == 200
        # acme's change has reached instance two (acme's subscriber there heard it) before
        # "other" has a change of its own: were it handed acme's, that would come first.
        assert first_change_of(acme)["kind"] == "UPDATED"
        assert signed_delivery(f"{webhooks}?tenant=other", "customer.created").status_code == 200
        heard = first_change_of(other)
    assert heard == {"id": JOHN, "provider": "LAYER", "kind": "CREATED"}
