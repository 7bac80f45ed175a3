"""Several gateway processes sharing one real Redis server, and what happens when it dies."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.settings.model import CacheSettings
from sandbox import (
    DEMO_ACCOUNT,
    SECOND_ACCOUNT,
)
from tests.cache.test_caching import CUSTOMER, shared_name, twin_tenants
from tests.services import (
    SANDBOX_ENV,
    RedisServer,
    free_port,
    gateway_process,
    redis_server,
    sandbox_config,
)
from tests.support import gateway_client

pytestmark = pytest.mark.timeout(180)
TRACE = {"x-gateway-trace": "upstream"}
LIST = """query($n: Int, $name: String) {
  customers(first: $n, filter: {name: $name}) { edges { node { id } } } }"""
BY_EXTERNAL_ID = """query($e: String!) {
  customerByExternalId(provider: LAYER, externalId: $e) { id } }"""


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def write_config(path: Path, sandbox: str, cache_url: str) -> Path:
    path.write_text(
        sandbox_config(sandbox, top=f'[cache]\nurl = "{cache_url}"\n'), encoding="utf-8"
    )
    return path


ENV = SANDBOX_ENV


def ask(url: str, first: int, name: str | None = None, query: str = LIST) -> dict[str, Any]:
    variables = {"n": first, "name": name} if query == LIST else {"e": name}
    response = httpx.post(
        url, json={"query": query, "variables": variables}, headers=TRACE, timeout=30
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


def provider_calls(bodies: list[dict[str, Any]], provider: str) -> int:
    return sum(
        b["extensions"]["upstream"]["byProvider"].get(provider, {}).get("calls", 0) for b in bodies
    )


def test_two_processes_share_one_redis(redis: RedisServer, tmp_path: Path) -> None:
    sandbox_port, one_port, two_port = free_port(), free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    config = write_config(tmp_path / "gateway.toml", sandbox, redis.url)
    one, two = (f"http://127.0.0.1:{p}/graphql" for p in (one_port, two_port))
    with (
        gateway_process(
            ["sandbox", "--port", str(sandbox_port)], f"{sandbox}/lago/api/v1/customers"
        ),
        gateway_process(
            ["serve", "--port", str(one_port), "--config", str(config)],
            f"http://127.0.0.1:{one_port}/healthz",
            ENV,
        ),
        gateway_process(
            ["serve", "--port", str(two_port), "--config", str(config)],
            f"http://127.0.0.1:{two_port}/healthz",
            ENV,
        ),
    ):
        # A read through the first process fills the cache the second reads from.
        assert ask(one, 5)["extensions"]["upstream"]["calls"] == 4
        second = ask(two, 5)["extensions"]["upstream"]
        assert (second["calls"], second["cacheHits"]) == (0, 3)

        # Both processes hold a Layer token from here on, so what follows counts only reads.
        ask(one, 0, "warm-one", BY_EXTERNAL_ID)
        ask(two, 0, "warm-two", BY_EXTERNAL_ID)

        cold = {"query": LIST, "variables": {"n": 7, "name": "an"}}

        async def stampede() -> list[dict[str, Any]]:
            async with httpx.AsyncClient(timeout=30) as client:
                responses = await asyncio.gather(
                    *(client.post(url, json=cold, headers=TRACE) for url in [one, two] * 10)
                )
            return [r.json() for r in responses]

        bodies = asyncio.run(stampede())
        assert all("errors" not in b for b in bodies)
        # Twenty cold requests over two processes: one upstream read per resource in all.
        counts = [provider_calls(bodies, p) for p in ("LAYER", "CODAT", "LAGO")]
        assert counts == [1, 1, 1], [b["extensions"]["upstream"] for b in bodies]

        # APQ registrations live in the same Redis: register on one, run by hash on the other.
        apq_query = "{ customers(first: 1) { edges { cursor } } }"
        extensions = {
            "persistedQuery": {
                "version": 1,
                "sha256Hash": hashlib.sha256(apq_query.encode()).hexdigest(),
            }
        }
        miss = httpx.post(two, json={"extensions": extensions}, timeout=30).json()
        assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = httpx.post(
            one, json={"query": apq_query, "extensions": extensions}, timeout=30
        )
        hit = httpx.post(two, json={"extensions": extensions}, timeout=30)
        assert hit.json() == registered.json()
        assert "data" in hit.json()

        redis.stop()
        # With Redis gone, nothing fails: the first read goes upstream, and the instance then
        # serves from its own cache (an outage costs sharing, not caching).
        assert ask(one, 5, "el")["extensions"]["upstream"]["calls"] == 3
        assert ask(one, 5, "el")["extensions"]["upstream"]["calls"] == 0
        ready = httpx.get(f"http://127.0.0.1:{one_port}/readyz", timeout=10).json()
        assert ready["cache"] == {
            "backend": "redis",
            "reachable": False,
            "degraded": True,
            "lastError": ready["cache"]["lastError"],
        }
        assert ready["cache"]["lastError"]


async def test_two_tenants_never_see_each_others_data_through_redis(redis: RedisServer) -> None:
    settings = twin_tenants().model_copy(update={"cache": CacheSettings(url=redis.url)})
    shared = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "shared-000"))
    seen: dict[str, set[str]] = {"a": set(), "b": set()}
    # Two app instances on one Redis: the second reads only what the first cached.
    for _ in range(2):
        async with gateway_client(settings) as gateway:
            for tenant in ("a", "b"):
                body = await gateway.query(
                    CUSTOMER, {"id": shared}, headers={"authorization": f"Bearer key-{tenant}"}
                )
                seen[tenant].add(body["data"]["customer"]["displayName"])
    names = {
        "a": shared_name(DEMO_ACCOUNT.lago_api_key),
        "b": shared_name(SECOND_ACCOUNT.lago_api_key),
    }
    assert seen == {"a": {names["a"]}, "b": {names["b"]}}
