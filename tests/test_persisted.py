"""Persisted queries (Apollo APQ, trusted documents) and the cache headers of GET answers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.settings.model import PersistedSettings, Settings
from tests.support import GatewayClient, gateway_client

QUERY = "{ customers(first: 2) { edges { node { provider displayName } } } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()
OTHER = "{ customers(first: 1) { edges { cursor } } }"


def apq(sha: str = SHA, version: int = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


async def post(
    gateway: GatewayClient, body: dict[str, object]
) -> tuple[int, dict[str, object], dict[str, str]]:
    response = await gateway.http.post("/graphql", json=body)
    return response.status_code, response.json(), dict(response.headers)


async def get(
    gateway: GatewayClient, params: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await gateway.http.get("/graphql", params=params, headers=headers or {})


async def test_apq_miss_register_hit_over_post(gateway: GatewayClient) -> None:
    status, body, headers = await post(gateway, {"extensions": apq()})
    assert status == 200
    assert body == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert headers["cache-control"] == "private, no-cache, must-revalidate"
    assert not gateway.upstream.requests

    status, registered, _ = await post(gateway, {"query": QUERY, "extensions": apq()})
    assert status == 200
    status, hit, _ = await post(gateway, {"extensions": apq()})
    assert status == 200
    assert hit == registered
    assert len(hit["data"]["customers"]["edges"]) == 2


async def test_apq_miss_register_hit_over_get(gateway: GatewayClient) -> None:
    extensions = json.dumps(apq())
    miss = await get(gateway, {"extensions": extensions})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.headers["cache-control"] == "private, no-cache, must-revalidate"
    register = await get(gateway, {"extensions": extensions, "query": QUERY})
    assert register.status_code == 200
    hit = await get(gateway, {"extensions": extensions})
    assert hit.json() == register.json()
    assert hit.headers["cache-control"].startswith("private, max-age=")


async def test_a_hash_that_does_not_match_its_query_is_refused(gateway: GatewayClient) -> None:
    status, body, _ = await post(gateway, {"query": OTHER, "extensions": apq()})
    assert status == 400
    assert body["errors"] == [
        {
            "message": "provided sha does not match query",
            "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"},
        }
    ]
    # Nothing was stored under the hash.
    status, body, _ = await post(gateway, {"extensions": apq()})
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        (apq(version=2), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        # JSON true and 1.0 are not the integer 1 (Python says True == 1 == 1.0).
        (apq(version=True), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        (apq(version=1.0), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),  # type: ignore[arg-type]
        (apq(sha="abc"), "BAD_REQUEST"),
        ({"persistedQuery": "yes"}, "BAD_REQUEST"),
    ],
)
async def test_malformed_persisted_queries_are_refused(
    gateway: GatewayClient, extensions: dict[str, object], code: str
) -> None:
    status, body, _ = await post(gateway, {"query": QUERY, "extensions": extensions})
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == code
    assert not gateway.upstream.requests


async def test_a_failed_query_is_not_registered(gateway: GatewayClient) -> None:
    bad = "{ customers { nope } }"
    sha = hashlib.sha256(bad.encode()).hexdigest()
    await post(gateway, {"query": bad, "extensions": apq(sha)})
    _, body, _ = await post(gateway, {"extensions": apq(sha)})
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_registrations_are_per_tenant() -> None:
    from tests.cache.test_caching import twin_tenants

    async with gateway_client(twin_tenants()) as gateway:
        a = {"authorization": "Bearer key-a"}
        b = {"authorization": "Bearer key-b"}
        await gateway.http.post("/graphql", json={"query": QUERY, "extensions": apq()}, headers=a)
        hit = await gateway.http.post("/graphql", json={"extensions": apq()}, headers=a)
        miss = await gateway.http.post("/graphql", json={"extensions": apq()}, headers=b)
    assert "data" in hit.json()
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def apollo_manifest(path: Path, *queries: str) -> Path:
    path.write_bytes(
        orjson.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {
                        "id": hashlib.sha256(q.encode()).hexdigest(),
                        "name": f"Op{i}",
                        "type": "query",
                        "body": q,
                    }
                    for i, q in enumerate(queries)
                ],
            }
        )
    )
    return path


def trusted(manifest: Path, mode: str | None, production: bool = False) -> Settings:
    return Settings(
        mode="production" if production else "development",
        persisted=PersistedSettings(
            manifest_path=manifest, mode=mode, reload_interval_seconds=0.05
        ),
    )


async def test_require_runs_manifest_operations_by_hash_and_document_id(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", QUERY)
    async with gateway_client(trusted(manifest, "require")) as gateway:
        by_hash = await gateway.http.post("/graphql", json={"extensions": apq()})
        by_id = await gateway.http.post("/graphql", json={"documentId": f"sha256:{SHA}"})
        by_get = await gateway.http.get("/graphql", params={"documentId": SHA})
    assert by_hash.status_code == by_id.status_code == by_get.status_code == 200
    assert by_hash.json() == by_id.json() == by_get.json()
    assert len(by_hash.json()["data"]["customers"]["edges"]) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": QUERY}, "PERSISTED_QUERY_REQUIRED"),
        ({"query": QUERY, "extensions": apq()}, "PERSISTED_QUERY_REQUIRED"),
        ({"query": "{ { { not even parsed"}, "PERSISTED_QUERY_REQUIRED"),
        ({"documentId": "0" * 64}, "PERSISTED_QUERY_NOT_IN_LIST"),
        (
            {"extensions": apq(hashlib.sha256(OTHER.encode()).hexdigest())},
            "PERSISTED_QUERY_NOT_IN_LIST",
        ),
    ],
)
async def test_require_refuses_everything_else_unparsed(
    tmp_path: Path, body: dict[str, object], code: str
) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", QUERY)
    async with gateway_client(trusted(manifest, "require")) as gateway:
        response = await gateway.http.post("/graphql", json=body)
        assert not gateway.upstream.requests
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_production_defaults_to_require_with_a_manifest(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", QUERY)
    settings = trusted(manifest, None, production=True)
    assert settings.persisted_mode == "require"
    assert trusted(manifest, None).persisted_mode == "allow"
    assert Settings().persisted_mode == "off"


async def test_allow_mixes_manifest_apq_and_free_queries(tmp_path: Path) -> None:
    plain = tmp_path / "map.json"
    plain.write_bytes(orjson.dumps({f"sha256:{SHA}": QUERY}))
    async with gateway_client(trusted(plain, "allow")) as gateway:
        by_id = await gateway.http.post("/graphql", json={"documentId": SHA})
        free = await gateway.http.post("/graphql", json={"query": OTHER})
        other_sha = hashlib.sha256(OTHER.encode()).hexdigest()
        apq_miss = await gateway.http.post("/graphql", json={"extensions": apq(other_sha)})
    assert "data" in by_id.json()
    assert "data" in free.json()
    assert apq_miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_manifest_reloads_without_a_restart(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", OTHER)
    async with gateway_client(trusted(manifest, "require")) as gateway:
        before = await gateway.http.post("/graphql", json={"documentId": SHA})
        in_flight = asyncio.create_task(
            gateway.http.post(
                "/graphql", json={"documentId": hashlib.sha256(OTHER.encode()).hexdigest()}
            )
        )
        apollo_manifest(manifest, QUERY)
        import os

        os.utime(manifest, (1, 2_000_000_000))
        for _ in range(100):
            await asyncio.sleep(0.02)
            after = await gateway.http.post("/graphql", json={"documentId": SHA})
            if after.status_code == 200:
                break
        finished = await in_flight
        # A broken file keeps the last good manifest.
        manifest.write_text("{ not json", encoding="utf-8")
        os.utime(manifest, (1, 2_000_000_100))
        await asyncio.sleep(0.2)
        still = await gateway.http.post("/graphql", json={"documentId": SHA})
    assert before.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert after.status_code == 200
    assert "data" in after.json()
    assert finished.status_code == 200
    assert still.status_code == 200


async def test_a_broken_manifest_stops_start_up(tmp_path: Path) -> None:
    from gateway.app import create_app
    from gateway.errors import ConfigError

    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="persisted-query manifest"):
        create_app(trusted(broken, "require"))


# --- Cache headers on GET answers ---------------------------------------------------------


async def test_a_clean_get_is_privately_cacheable_with_an_etag() -> None:
    from tests.cache.test_caching import FakeClock

    async with gateway_client(clock=FakeClock()) as gateway:
        response = await get(gateway, {"query": QUERY})
        assert response.headers["cache-control"] == "private, max-age=60"
        etag = response.headers["etag"]
        again = await get(gateway, {"query": QUERY}, {"if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        changed = await get(gateway, {"query": OTHER}, {"if-none-match": etag})
        assert changed.status_code == 200


async def test_a_get_answer_varies_by_caller_and_media_type_hit_or_not() -> None:
    """Answers are per caller (its tenant, accounts and scopes) and per media type: a cache
    in between, the browser's included, must key them on both."""
    from tests.cache.test_caching import FakeClock

    async with gateway_client(clock=FakeClock()) as gateway:
        executed = await get(gateway, {"query": QUERY})
        hit = await get(gateway, {"query": QUERY})
        not_modified = await get(gateway, {"query": QUERY}, {"if-none-match": hit.headers["etag"]})
        posted = await gateway.http.post("/graphql", json={"query": QUERY})
    assert hit.headers["x-response-cache"] == "hit"
    for response in (executed, hit, not_modified):
        assert response.headers["vary"] == "Accept, Authorization"
    assert "vary" not in posted.headers


async def test_max_age_is_the_least_remaining_freshness() -> None:
    from tests.cache.test_caching import FakeClock

    clock = FakeClock()
    async with gateway_client(clock=clock) as gateway:
        await get(gateway, {"query": QUERY})
        clock.now += 25
        response = await get(gateway, {"query": QUERY})
    # Layer and Lago entries live 60 s, Codat's 300 s: 35 s remain for the shortest.
    assert response.headers["cache-control"] == "private, max-age=35"


async def test_a_partial_failure_is_never_stored(gateway: GatewayClient) -> None:
    gateway.upstream.failing.add("/codat/")
    response = await get(gateway, {"query": QUERY})
    assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert response.headers["cache-control"] == "private, no-store"
    assert "etag" not in response.headers


async def test_a_mutation_over_get_is_405_and_not_cacheable(gateway: GatewayClient) -> None:
    response = await get(gateway, {"query": "mutation { x }"})
    assert response.status_code == 405
    assert response.headers.get("cache-control") != "private, max-age=60"


async def test_post_answers_carry_no_cache_headers(gateway: GatewayClient) -> None:
    response = await gateway.http.post("/graphql", json={"query": QUERY})
    assert "etag" not in response.headers
