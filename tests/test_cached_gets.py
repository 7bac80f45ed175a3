"""Response-cache hits of persisted GETs, served ahead of routing (gateway/http/cached_gets.py).

Each scenario runs twice, on a gateway with the fast path and on one without
(`cache.response_fast_path = false`), and every answer must be the same: status, body and
headers (the request id, date and server aside), the metrics they leave, the upstream calls
they make. The fast path must also have served the hits, and only the hits whose answer does
not depend on something only the full pipeline looks at.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from gateway.settings.model import CacheSettings, LimitSettings, PersistedSettings, Settings
from tests.cache.test_caching import FakeClock
from tests.support import GatewayClient, gateway_client

QUERY = (
    "query Page($n: Int = 2, $p: [Provider!] = [LAGO]) { customers(first: $n, providers: $p) "
    "{ edges { cursor node { id displayName } } } }"
)
SHA = hashlib.sha256(QUERY.encode()).hexdigest()
APQ = {"persistedQuery": {"version": 1, "sha256Hash": SHA}}
# Headers that differ between two runs of the same request, whatever path served it.
_PER_RUN = {"x-request-id", "date", "server"}


@dataclass(frozen=True)
class Step:
    """One request: a GET with these query parameters, or a POST of `json`."""

    params: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def get(variables: dict[str, Any] | None = None, **headers: str) -> Step:
    params = {"extensions": orjson.dumps(APQ).decode()}
    if variables is not None:
        params["variables"] = orjson.dumps(variables).decode()
    return Step(params=params, headers=headers)


def register(**headers: str) -> Step:
    return Step(json={"query": QUERY, "extensions": APQ}, headers=headers)


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


async def send(gateway: GatewayClient, step: Step) -> Answer:
    if step.json is not None:
        response = await gateway.http.post("/graphql", json=step.json, headers=step.headers)
    else:
        response = await gateway.http.get("/graphql", params=step.params, headers=step.headers)
    headers = {k: v for k, v in response.headers.items() if k not in _PER_RUN}
    return Answer(response.status_code, response.content, headers)


def served_fast(gateway: GatewayClient) -> int:
    return int(gateway.app.state.cached_gets.served)


def metrics_of(text: str) -> list[str]:
    """The request, response-cache and persisted-query samples: what a hit must count."""
    wanted = ("gateway_requests_total", "gateway_response_cache", "gateway_persisted")
    return sorted(line for line in text.splitlines() if line.startswith(wanted))


@contextlib.asynccontextmanager
async def twins(settings: Settings) -> AsyncIterator[tuple[GatewayClient, GatewayClient]]:
    """The same gateway with the fast path and without, on one clock and one cursor key (so
    their answers are the same bytes)."""
    clock = FakeClock()
    clock.now = time.time()  # tokens an identity provider signs now are valid on it
    settings = settings.model_copy(update={"cursor_key": SecretStr("twins-share-this-key")})
    slow_cache = settings.cache.model_copy(update={"response_fast_path": False})
    slow = settings.model_copy(update={"cache": slow_cache})
    async with (
        gateway_client(settings, clock=clock) as fast_gateway,
        gateway_client(slow, clock=clock) as slow_gateway,
    ):
        yield fast_gateway, slow_gateway


async def run_both(
    steps: Sequence[Step], settings: Settings | None = None
) -> tuple[list[Answer], int]:
    """Run `steps` on both twins; assert every answer, metric and upstream call agrees.
    Returns the answers and how many the fast path served."""
    async with twins(settings or Settings()) as (fast, slow):
        fast_answers = [await send(fast, step) for step in steps]
        slow_answers = [await send(slow, step) for step in steps]
        fast_metrics = metrics_of((await fast.http.get("/metrics")).text)
        slow_metrics = metrics_of((await slow.http.get("/metrics")).text)
        assert served_fast(slow) == 0
        for index, (a, b) in enumerate(zip(fast_answers, slow_answers, strict=True)):
            assert a == b, f"step {index}: {steps[index]}"
        assert fast_metrics == slow_metrics
        assert len(fast.upstream.requests) == len(slow.upstream.requests)
        return fast_answers, served_fast(fast)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"accept": "application/graphql-response+json"},
        {"accept": "application/json"},
        {"accept": "application/graphql-response+json;q=0.5, application/json"},
        {"x-request-id": "caller-chose-this-1"},
    ],
    ids=["no-accept", "graphql-response", "json", "weighted", "request-id"],
)
async def test_a_hit_is_the_answer_the_full_pipeline_gives(headers: dict[str, str]) -> None:
    # Registering runs the document and stores its answer; the first GET of that query string
    # is a hit the pipeline serves (and learns the query string from), the others are fast.
    steps = [register(), get(None, **headers), get(None, **headers), get(None, **headers)]
    answers, fast = await run_both(steps)
    assert "x-response-cache" not in answers[0].headers
    assert [a.headers["x-response-cache"] for a in answers[1:]] == ["hit"] * 3
    assert answers[2].body == answers[1].body == answers[0].body
    assert fast == 2


async def test_variables_and_their_defaults_share_the_hit_the_pipeline_would_serve() -> None:
    steps = [
        register(),
        get({"n": 2}),
        get(None),  # the default: the same answer
        get({"p": ["LAGO"], "n": 2}),  # the same values, written another way
        get({"n": 3}),  # another answer: executed
        get({"n": 3}),
    ]
    answers, fast = await run_both(steps)
    assert [a.headers.get("x-response-cache") for a in answers[1:]] == [
        "hit",
        "hit",
        "hit",
        None,
        "hit",
    ]
    # The first time a query string is seen, the pipeline runs it; each later time it is fast.
    assert fast == 1


async def test_a_matching_etag_is_the_same_304() -> None:
    async with twins(Settings()) as (fast, _slow):
        await send(fast, register())
        first = await send(fast, get())
    etag = first.headers["etag"]
    answers, served = await run_both(
        [register(), get(), get(**{"if-none-match": etag}), get(**{"if-none-match": '"other"'})]
    )
    assert answers[2].status == 304
    assert answers[2].body == b""
    assert answers[3].status == 200
    assert served == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"cache-control": "no-cache"},
        {"cache-control": "max-age=0"},
        {"x-gateway-trace": "upstream"},
        {"x-gateway-cost": "report"},
        {"accept": "text/html"},
        {"accept": "image/png"},
        {"authorization": "Bearer no-such-key"},
        {"authorization": "Basic abc"},
    ],
)
async def test_what_only_the_pipeline_looks_at_takes_the_long_way(
    headers: dict[str, str],
) -> None:
    steps = [register(), get(), get(), get(**headers)]
    answers, fast = await run_both(steps)
    # The plain repeat was fast; the one with these headers was not.
    assert fast == 1
    assert answers[3].headers.get("x-response-cache") != "hit"


async def test_a_query_parameter_or_an_unknown_hash_takes_the_long_way() -> None:
    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    steps = [
        register(),
        get(),
        Step(params={"query": QUERY}),
        Step(params={"query": QUERY}),
        Step(params={"extensions": orjson.dumps(unknown).decode()}),
        Step(params={"extensions": "{not json"}),
    ]
    answers, fast = await run_both(steps)
    assert fast == 0
    assert answers[3].headers["x-response-cache"] == "hit"  # served, the long way
    assert answers[4].status == 200
    assert b"PERSISTED_QUERY_NOT_FOUND" in answers[4].body
    assert answers[5].status == 400


async def test_rate_limits_hold_for_hits_too() -> None:
    limits = LimitSettings(tenant_requests_per_second=0.001, tenant_burst=3)
    steps = [register(), get(), get(), get(), get()]
    answers, fast = await run_both(steps, Settings(limits=limits))
    assert [a.status for a in answers] == [200, 200, 200, 429, 429]
    assert b"RATE_LIMITED" in answers[3].body
    assert "retry-after" in answers[3].headers
    # The fast path gave the hit and both refusals: a refusal spends nothing more.
    assert fast == 3


async def test_a_webhook_retires_the_hit_for_the_fast_path_too() -> None:
    from sandbox import DEMO_ACCOUNT
    from tests.test_webhooks import GAVIN_ID, subscribe

    async with twins(Settings()) as (fast, _slow):
        subscribe(fast)
        await send(fast, register())
        await send(fast, get({"n": 50}))
        assert (await send(fast, get({"n": 50}))).headers["x-response-cache"] == "hit"
        sandbox = httpx.AsyncClient(
            transport=httpx.ASGITransport(fast.sandbox.app), base_url="http://sandbox.invalid"
        )
        async with sandbox:
            await sandbox.post(
                "/lago/api/v1/customers",
                json={"customer": {"external_id": GAVIN_ID, "name": "Renamed By Webhook"}},
                headers={"Authorization": f"Bearer {DEMO_ACCOUNT.lago_api_key}"},
            )
        after = await send(fast, get({"n": 50}))
        served = served_fast(fast)
    # The webhook moved the account's cache generation: the key the fast path builds misses.
    assert "x-response-cache" not in after.headers
    assert served == 1


async def test_a_hit_writes_one_access_line_like_any_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with twins(Settings()) as (fast, _slow):
        await send(fast, register())
        await send(fast, get())
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gateway.access"):
            answer = await send(fast, get(**{"x-request-id": "hit-1"}))
        assert served_fast(fast) == 1
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert answer.headers["x-response-cache"] == "hit"
    assert len(lines) == 1
    line = lines[0].__dict__
    assert line["request_id"] == "hit-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/graphql", 200)
    assert (line["tenant"], line["operation"], line["document_hash"]) == ("demo", "Page", SHA)
    assert line["upstream_calls"] == 0


async def test_trusted_only_callers_and_manifest_changes_are_checked_on_every_hit(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps({SHA: QUERY}))
    settings = Settings(persisted=PersistedSettings(manifest_path=manifest, mode="allow"))
    async with twins(settings) as (fast, slow):
        for gateway in (fast, slow):
            await send(gateway, get())
            assert (await send(gateway, get())).headers["x-response-cache"] == "hit"
        assert served_fast(fast) == 1
        # The document leaves the manifest: its id now names nothing (APQ never registered it).
        manifest.write_bytes(orjson.dumps({}))
        for gateway in (fast, slow):
            persisted = gateway.app.state.cached_gets.endpoint.documents.persisted
            assert persisted.manifest.reload_if_changed()
        gone = [await send(gateway, get()) for gateway in (fast, slow)]
        assert served_fast(fast) == 1
    assert gone[0] == gone[1]
    assert b"PERSISTED_QUERY_NOT_FOUND" in gone[0].body


def test_it_can_be_turned_off() -> None:
    assert CacheSettings().response_fast_path is True
    assert CacheSettings(response_fast_path=False).response_fast_path is False


async def test_each_token_gets_its_own_views_answer_and_trusted_only_tokens_no_apq(
    tmp_path: Path,
) -> None:
    from tests.test_frontend_access import API_KEY, DEMO, SECOND, identity_provider, settings_for

    with identity_provider() as idp:
        demo = {"authorization": f"Bearer {idp.token({'accounts': DEMO, 'sub': 'a'})}"}
        second = {"authorization": f"Bearer {idp.token({'accounts': SECOND, 'sub': 'b'})}"}
        server = {"authorization": f"Bearer {API_KEY}"}
        steps = [
            register(**server),
            get({"p": ["LAGO"]}, **server),  # a hit, learnt
            get({"p": ["LAGO"]}, **demo),  # another view: executed
            get({"p": ["LAGO"]}, **demo),
            get({"p": ["LAGO"]}, **second),  # a third view: executed
            get({"p": ["LAGO"]}, **second),
            get({"p": ["LAGO"]}, **server),
        ]
        answers, fast = await run_both(steps, settings_for(idp))
        manifest = tmp_path / "manifest.json"
        manifest.write_bytes(b"{}")
        persisted = PersistedSettings(manifest_path=manifest, mode="allow")
        trusted_only = settings_for(idp, persisted=persisted, jwt_persisted_only=True)
        refused, refused_fast = await run_both(
            [register(**server), get(None, **server), get(None, **server), get(None, **demo)],
            trusted_only,
        )
    cache = [a.headers.get("x-response-cache") for a in answers]
    assert cache == [None, "hit", None, "hit", None, "hit", "hit"]
    assert len({answers[1].body, answers[3].body, answers[5].body}) == 3
    assert fast == 3
    # An APQ document answered for an API key is not a trusted-only token's to read.
    assert refused_fast == 1
    assert refused[3].status == 400
    assert b"PERSISTED_QUERY_NOT_IN_LIST" in refused[3].body


async def test_an_evicted_apq_registration_is_not_found_by_the_fast_path_either() -> None:
    """The pipeline answers PERSISTED_QUERY_NOT_FOUND for a hash whose registration was
    evicted, even while an answer to it is stored; so must the fast path (the review found it
    serving the stored answer)."""
    other = "query Other { customers(first: 1) { edges { cursor } } }"
    other_sha = hashlib.sha256(other.encode()).hexdigest()
    evicting = Step(
        json={
            "query": other,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": other_sha}},
        }
    )
    persisted = PersistedSettings(apq_max_entries_per_tenant=1)
    answers, fast = await run_both(
        [register(), get(), get(), evicting, get()], Settings(persisted=persisted)
    )
    assert fast == 1
    assert answers[4].status == 200
    assert b"PERSISTED_QUERY_NOT_FOUND" in answers[4].body


async def test_a_token_is_verified_once_when_the_fast_path_hands_a_request_on() -> None:
    """The fast path authenticates before it knows it has a hit; a GET it then hands to the
    pipeline (a miss, a free-form document, a bad token) took a second signature check there
    (review finding 4). What it learnt of the caller goes along with the request."""
    from tests.test_frontend_access import identity_provider, settings_for

    with identity_provider() as idp:
        async with gateway_client(settings_for(idp)) as gateway:
            verifier = gateway.app.state.cached_gets.endpoint.authenticator.verifier
            token = {"authorization": f"Bearer {idp.token({'sub': 'a'})}"}
            forged = {"authorization": f"Bearer {idp.token({'sub': 'a'})[:-4]}AAAA"}
            for headers, status in ((token, 200), (forged, 401)):
                before = verifier.verifications
                response = await gateway.http.get(
                    "/graphql",
                    params={"query": "{ customers(first: 1) { edges { cursor } } }"},
                    headers=headers,
                )
                assert response.status_code == status
                assert verifier.verifications == before + 1
