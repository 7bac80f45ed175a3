"""Second review of the kept `sameAs` indexes, after the fixes of 072d44d: what the shared
full read (`shared_ledger`, `UpstreamLedger.fold`) and the other fixes still got wrong at
ea8ec90. Each test failed there and guards its fix (cb8e545) since; the docstrings tell the
defect as found."""

from __future__ import annotations

import asyncio

from gateway.loaders.links import prewarm_links
from gateway.settings.model import ResilienceSettings, Settings
from sandbox import Sandbox
from tests.support import gateway_client
from tests.test_link_index_kept import demo, lago_id
from tests.test_link_index_review import LAYER_CUSTOMERS, PLAIN_LINKS, TRACE, gate, listing


def _errors_counted(metrics: str, provider: str) -> float:
    """`gateway_upstream_errors_total` for `provider`, over every outcome."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("gateway_upstream_errors_total{") and f'provider="{provider}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_failed_full_read_still_counts_its_calls_and_failures() -> None:
    """The first `sameAs` of a cold account reads it whole, now under a ledger of its own
    (`_noted`: `shared_ledger`) that the starter folds in once the read returns. When the read
    fails, `await asyncio.shield(reading)` raises before `fold`: the calls, attempts and
    failures it made are in no request's ledger, so `extensions.upstream` says Layer was not
    called, and `gateway_upstream_errors_total` / `gateway_upstream_seconds` never see the
    failure (before 072d44d the read ran under the starter's ledger and counted them)."""
    settings = Settings(resilience=ResilienceSettings(attempts=1))
    async with gateway_client(settings, sandbox=Sandbox()) as gateway:
        gateway.upstream.failing.add(LAYER_CUSTOMERS)
        body = await gateway.query(PLAIN_LINKS, {"ids": [lago_id("shared-000")]}, headers=TRACE)
        metrics = (await gateway.http.get("/metrics")).text
        listing_calls = len(gateway.upstream.calls(LAYER_CUSTOMERS))
        # The listing and the token call before it.
        layer_calls = len(gateway.upstream.calls("/layer"))
    # Layer's index read was tried, and failed: the answer says so.
    assert listing_calls == 1
    assert any(e["extensions"].get("provider") == "LAYER" for e in body.get("errors", [])), body
    # ...and so do the request's upstream counts and the metrics, as for any failed call.
    layer = body["extensions"]["upstream"]["byProvider"].get("LAYER", {})
    assert layer.get("calls") == layer_calls == 2, body["extensions"]["upstream"]
    assert layer.get("cacheMisses") == 1, body["extensions"]["upstream"]
    assert _errors_counted(metrics, "LAYER") == 1, [
        line for line in metrics.splitlines() if line.startswith("gateway_upstream_errors")
    ]


async def test_a_request_joining_the_read_at_start_stops_at_its_deadline() -> None:
    """With `links_prewarm`, each account is first read behind every request (`warm` ->
    `_refresh`: an empty context, so a shared ledger with no deadline), and a request needing
    the account meanwhile joins that read (`_read_whole`: `await asyncio.shield(reading)`,
    with no bound of its own). A slow provider at start then holds every such request for as
    long as the background read takes (attempts x call timeout, per page), far past
    `request_deadline_seconds`; a request reading the account itself, or waiting on a shared
    cache fill (`SingleFlight.join`: `within`), stops at its own deadline. Here Layer's first
    index page never comes while the test waits (ten times the deadline)."""
    settings = Settings(
        resilience=ResilienceSettings(
            attempts=1, request_deadline_seconds=1.0, call_timeout_seconds=60.0
        )
    )
    async with gateway_client(settings, sandbox=Sandbox()) as gateway:
        held = gate(gateway, listing)
        tenant = demo(gateway)
        # What `[cache] links_prewarm` does when the tenant is loaded.
        prewarm_links(tenant, settings.limits.max_filter_scan_pages)
        await held.nth(0)
        request = asyncio.create_task(
            gateway.query(PLAIN_LINKS, {"ids": [lago_id("shared-000")]}, headers=TRACE)
        )
        try:
            done, _ = await asyncio.wait({request}, timeout=10.0)
        finally:
            for hold in held.held:
                hold.release.set()
            held.holds = lambda _: False
            body = await request
            await tenant.indexes.settled()
    assert done, "the request outlived its deadline, waiting on the read at start"
    codes = {e["extensions"].get("provider"): e["extensions"]["code"] for e in body["errors"]}
    assert codes.get("LAYER") == "UPSTREAM_TIMEOUT", body["errors"]
