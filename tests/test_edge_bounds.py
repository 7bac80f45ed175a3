"""Who is asking is known before the body is read, and clients cannot grow /metrics."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.settings.model import LimitSettings, PersistedSettings, Settings
from tests.support import gateway_client, sandbox_tenant
from tests.test_observability import sample
from tests.test_persisted import apollo_manifest

KEY = {"authorization": "Bearer alpha-key"}


def keyed(**limits: int) -> Settings:
    tenant = sandbox_tenant(
        "alpha", "http://sandbox.invalid", allow_anonymous=False, api_keys=("alpha-key",)
    )
    return Settings(tenants=(tenant,), limits=LimitSettings(**limits))


async def test_an_unauthenticated_request_is_refused_before_its_body_is_read() -> None:
    async with gateway_client(keyed()) as gateway:
        for content in (b"{not json", b'{"query": "{"}', b"[1, 2]"):
            response = await gateway.http.post(
                "/graphql", content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 401
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # Known callers get the body's own errors.
        bad_json = await gateway.http.post(
            "/graphql", content=b"{not json", headers={"content-type": "application/json", **KEY}
        )
        assert bad_json.status_code == 400
        assert not gateway.upstream.requests


async def test_unauthenticated_and_rejected_requests_make_no_operation_series() -> None:
    async with gateway_client(keyed()) as gateway:
        before = (await gateway.http.get("/metrics")).text
        for i in range(200):
            await gateway.http.post(
                "/graphql",
                json={"query": f"query Probe{i} {{ __typename }}", "operationName": f"Probe{i}"},
            )
        for i in range(20):
            # Known tenant, but the request never runs: no parse, no validation, no operation.
            for query in (f"query Bad{i} {{", f"query Bad{i} {{ nope }}", "query A { __typename }"):
                await gateway.http.post(
                    "/graphql",
                    json={"query": query, "operationName": f"Bad{i}"},
                    headers=KEY,
                )
        after = (await gateway.http.get("/metrics")).text
    assert "Probe" not in after
    assert "Bad" not in after
    assert sample(after, "gateway_requests_total", operation="rejected", status="401") == 200
    assert sample(after, "gateway_requests_total", operation="rejected", status="400") == 20
    assert sample(after, "gateway_requests_total", operation="rejected", status="422") == 40
    # Only the series of the two statuses seen are new: nothing grows with the traffic.
    new_lines = set(after.splitlines()) - set(before.splitlines())
    assert all(
        'operation="rejected"' in line
        or "_created" in line
        or not line.startswith("gateway_request")
        for line in new_lines
    )


async def test_each_tenant_labels_its_first_names_then_other() -> None:
    async with gateway_client(keyed(max_operation_labels=3)) as gateway:
        for i in range(6):
            for _ in range(2):
                response = await gateway.http.post(
                    "/graphql", json={"query": f"query Op{i} {{ __typename }}"}, headers=KEY
                )
                assert response.status_code == 200
        metrics = (await gateway.http.get("/metrics")).text
    for i in range(3):
        assert sample(metrics, "gateway_requests_total", operation=f"Op{i}", status="200") == 2
    for i in range(3, 6):
        assert f'operation="Op{i}"' not in metrics
    assert sample(metrics, "gateway_requests_total", operation="other", status="200") == 6


async def test_trusted_documents_are_always_labelled(tmp_path: Path) -> None:
    queries = [f"query Trusted{i} {{ __typename }}" for i in range(4)]
    manifest = apollo_manifest(tmp_path / "manifest.json", *queries)
    settings = Settings(
        limits=LimitSettings(max_operation_labels=1),
        persisted=PersistedSettings(manifest_path=manifest, mode="allow"),
    )
    async with gateway_client(settings) as gateway:
        for name in ("Free1", "Free2"):
            await gateway.http.post("/graphql", json={"query": f"query {name} {{ __typename }}"})
        for query in queries:
            sha = hashlib.sha256(query.encode()).hexdigest()
            response = await gateway.http.post("/graphql", json={"documentId": f"sha256:{sha}"})
            assert response.status_code == 200
        metrics = (await gateway.http.get("/metrics")).text
    assert sample(metrics, "gateway_requests_total", operation="Free1", status="200") == 1
    assert sample(metrics, "gateway_requests_total", operation="other", status="200") == 1
    for i in range(4):
        assert sample(metrics, "gateway_requests_total", operation=f"Trusted{i}", status="200") == 1


def _apq(query: str) -> dict[str, object]:
    sha = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_a_registration_answered_from_the_response_cache_still_registers() -> None:
    """An evicted APQ hash comes back in even while its answer is in the response cache."""
    first, second = "query One { __typename }", "query Two { __typename }"
    settings = Settings(persisted=PersistedSettings(apq_max_entries_per_tenant=1))
    async with gateway_client(settings) as gateway:

        async def send(body: dict[str, object]) -> dict[str, object]:
            response = await gateway.http.post("/graphql", json=body)
            result: dict[str, object] = response.json()
            return result

        assert "data" in await send({"query": first, "extensions": _apq(first)})
        # Registering a second document evicts the first (one registration per tenant).
        assert "data" in await send({"query": second, "extensions": _apq(second)})
        missing = await send({"extensions": _apq(first)})
        assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"  # type: ignore[index]
        # The client registers again; the answer comes from the response cache.
        again = await gateway.http.post(
            "/graphql", json={"query": first, "extensions": _apq(first)}
        )
        assert again.headers.get("x-response-cache") == "hit"
        assert await send({"extensions": _apq(first)}) == {"data": {"__typename": "Query"}}


async def test_requests_that_ran_nothing_take_no_label_budget() -> None:
    async with gateway_client(keyed(max_operation_labels=2)) as gateway:
        for i in range(5):
            refused = await gateway.http.post(
                "/graphql", json={"query": f"query Junk{i} {{ nope }}"}, headers=KEY
            )
            assert refused.status_code == 422
        ran = await gateway.http.post(
            "/graphql", json={"query": "query RealOp { __typename }"}, headers=KEY
        )
        assert ran.status_code == 200
        metrics = (await gateway.http.get("/metrics")).text
    assert sample(metrics, "gateway_requests_total", operation="RealOp", status="200") == 1
    assert "Junk" not in metrics
