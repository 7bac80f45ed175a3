"""Every sandbox fault against every provider, over real loopback HTTP: what the gateway does,
how many attempts it makes, and that the other providers' data comes through intact."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import create_app
from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.resilience.policy import Timer
from gateway.settings.model import ResilienceSettings, Settings
from sandbox import DEMO_ACCOUNT, Sandbox
from sandbox.faults import parse_fault
from sandbox.server import serve_on_loopback
from tests.support import CountingTransport, sandbox_tenant

pytestmark = pytest.mark.timeout(120)
QUERY = "{ customers(first: 6) { edges { node { provider } } } }"
TRACE = {"x-gateway-trace": "upstream"}
DEADLINE = 1.5
RESILIENCE = ResilienceSettings(
    request_deadline_seconds=DEADLINE,
    call_timeout_seconds=0.6,
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.05,
    retry_after_max_seconds=1.0,
)


@dataclass
class Rig:
    http: httpx.AsyncClient
    upstream: CountingTransport
    sandbox: Sandbox

    def attempts(self, provider: str) -> int:
        return len(self.upstream.calls(f"/{provider}"))

    async def query(self, query: str = QUERY, variables: dict[str, str] | None = None) -> dict:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=TRACE
        )
        assert response.status_code == 200
        body: dict = response.json()
        return body


@contextlib.asynccontextmanager
async def rig(
    resilience: ResilienceSettings = RESILIENCE, timer: Timer | None = None
) -> AsyncIterator[Rig]:
    sandbox = Sandbox()
    async with serve_on_loopback(sandbox.app) as base_url:
        upstream = CountingTransport(httpx.AsyncHTTPTransport())
        settings = Settings(tenants=(sandbox_tenant("demo", base_url),), resilience=resilience)
        app = create_app(settings, upstream_transport=upstream, timer=timer)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gateway.test", timeout=30
            ) as http,
        ):
            yield Rig(http, upstream, sandbox)


# (fault, code or None for success, attempts at Codat/Lago, attempts at Layer; None: as many
# as the deadline allows, at most three retried GETs). Layer's first call is the token POST,
# which is not retried.
MATRIX = [
    ("latency:50", None, 1, 2),
    ("error:500", "UPSTREAM_UNAVAILABLE", 3, 1),
    ("error:503", "UPSTREAM_UNAVAILABLE", 3, 1),
    ("error:401", "UPSTREAM_AUTH", 1, 1),
    ("error:403", "UPSTREAM_AUTH", 1, 1),
    ("error:400", "UPSTREAM_REJECTED", 1, 1),
    ("error:404", "UPSTREAM_REJECTED", 1, 1),
    ("timeout", "UPSTREAM_TIMEOUT", None, 1),
    # Layer's token answer is one small piece, so it arrives; the list page then times out.
    ("slowbody:200", "UPSTREAM_TIMEOUT", None, None),
    ("ratelimit:3600", "UPSTREAM_RATE_LIMITED", 1, 1),
    # Given the roomy deadline (below): every retry after Retry-After: 1 fits, up to 3 attempts.
    ("ratelimit:1", "UPSTREAM_RATE_LIMITED", 3, 1),
    ("malformed", "UPSTREAM_BAD_RESPONSE", 1, 1),
    ("malformed:html", "UPSTREAM_BAD_RESPONSE", 1, 1),
    ("malformed:shape", "UPSTREAM_BAD_RESPONSE", 1, 1),
    ("reset", "UPSTREAM_UNAVAILABLE", 3, 1),
    ("flaky:100", "UPSTREAM_UNAVAILABLE", 3, 1),
    ("flaky:0", None, 1, 2),
]


@pytest.mark.parametrize("provider", ["layer", "codat", "lago"])
@pytest.mark.parametrize(("fault", "code", "attempts", "layer_attempts"), MATRIX)
async def test_fault_matrix(
    provider: str,
    fault: str,
    code: str | None,
    attempts: int | None,
    layer_attempts: int | None,
) -> None:
    resilience = RESILIENCE
    if attempts is not None and layer_attempts is not None:
        # Where the count of attempts is exact, deadlines are not what is tested: roomy ones keep
        # a loaded machine (slow loopback calls, late timers, the in-process sandbox waiting
        # while a first page is mapped) from cutting retries short or timing out a healthy
        # call, which made exact counts flaky (error:500, ratelimit:1, flaky:0 in busy runs).
        # The rows that test the deadline itself (timeouts) keep the tight ones.
        resilience = RESILIENCE.model_copy(
            update={"request_deadline_seconds": 5.0, "call_timeout_seconds": 3.0}
        )
    async with rig(resilience) as r:
        r.sandbox.faults.set(*parse_fault(f"{provider}={fault}"))
        started = time.monotonic()
        body = await r.query()
        elapsed = time.monotonic() - started
        made = r.attempts(provider)
    providers = [e["node"]["provider"] for e in body["data"]["customers"]["edges"]]
    others = {"layer", "codat", "lago"} - {provider}
    if code is None:
        assert "errors" not in body
        assert set(providers) == {"LAYER", "CODAT", "LAGO"}
    else:
        # The others' customers, all of them, and one error naming the failed provider.
        assert {p.lower() for p in providers} == others
        assert len(providers) == 6
        assert body["errors"] == [
            {
                "message": body["errors"][0]["message"],
                "path": ["customers"],
                "extensions": {
                    "code": code,
                    "provider": provider.upper(),
                    **(
                        {"retryAfter": float(fault.split(":")[1])}
                        if code == "UPSTREAM_RATE_LIMITED"
                        else {}
                    ),
                },
            }
        ]
        message = body["errors"][0]["message"]
        assert message.startswith(f"{provider.upper()}: ")
        assert "Injected" not in message
        assert "127.0.0.1" not in message
    expected = layer_attempts if provider == "layer" else attempts
    if expected is None:
        # Timeouts: as many attempts as the deadline allows; never more than three GETs
        # (plus Layer's token).
        assert 1 <= made <= (4 if provider == "layer" else 3)
    else:
        assert made == expected
    # The request deadline holds, whatever the provider does.
    assert elapsed < resilience.request_deadline_seconds + 1.0


async def test_stale_data_is_served_when_the_provider_fails() -> None:
    from tests.cache.test_caching import FakeClock

    clock = FakeClock()
    sandbox = Sandbox()
    async with serve_on_loopback(sandbox.app) as base_url:
        settings = Settings(tenants=(sandbox_tenant("demo", base_url),), resilience=RESILIENCE)
        app = create_app(settings, upstream_transport=httpx.AsyncHTTPTransport(), clock=clock)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gateway.test"
            ) as http,
        ):
            fresh = (await http.post("/graphql", json={"query": QUERY})).json()
            sandbox.faults.set(*parse_fault("lago=error:503"))
            clock.now += 120  # past the 60 s TTL, inside the 600 s stale-if-error window
            stale = (await http.post("/graphql", json={"query": QUERY})).json()
    assert stale["data"] == fresh["data"]
    assert stale["extensions"] == {"stale": ["LAGO"]}
    assert "errors" not in stale


class FakeTimer(Timer):
    """Deadlines, backoff and the breaker on a clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        super().__init__(clock=lambda: self.now, sleep=self._sleep, jitter=lambda: 1.0)

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_breaker_opens_then_probes_then_closes() -> None:
    timer = FakeTimer()
    resilience = RESILIENCE.model_copy(update={"breaker_threshold": 5, "breaker_pause_seconds": 30})
    gavin = encode_id(
        CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba")
    )
    read = "query($id: ID!) { customer(id: $id) { displayName } }"
    async with rig(resilience, timer) as r:
        r.sandbox.faults.set(*parse_fault("lago=error:503"))
        for _ in range(5):
            body = await r.query(read, {"id": gavin})
            assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        assert r.attempts("lago") == 15  # five calls, three attempts each
        # Backoff doubled from 0.01 and was capped at 0.05 (jitter pinned to its maximum).
        assert timer.slept[:2] == [0.01, 0.02]

        open_ = await r.query(read, {"id": gavin})
        assert open_["errors"][0]["extensions"] == {
            "code": "UPSTREAM_UNAVAILABLE",
            "provider": "LAGO",
        }
        assert r.attempts("lago") == 15  # open: no call at all

        r.sandbox.faults.set("lago", None)
        timer.now += 29
        assert (await r.query(read, {"id": gavin}))["errors"]
        assert r.attempts("lago") == 15  # still open
        timer.now += 2
        probe = await r.query(read, {"id": gavin})
        assert probe["data"] == {"customer": {"displayName": "Gavin Belson"}}
        assert r.attempts("lago") == 16  # one probe, and it closed the breaker
        gavin_again = await r.query(read, {"id": gavin})
        assert "errors" not in gavin_again


async def test_429s_and_client_errors_do_not_open_the_breaker() -> None:
    timer = FakeTimer()
    async with rig(RESILIENCE, timer) as r:
        r.sandbox.faults.set(*parse_fault("codat=error:400"))
        for _ in range(8):
            await r.query()
        r.sandbox.faults.set(*parse_fault("codat=ratelimit:3600"))
        for _ in range(8):
            await r.query()
        r.sandbox.faults.set("codat", None)
        body = await r.query()
    assert "errors" not in body


async def test_a_body_over_the_cap_is_a_bad_response() -> None:
    small = RESILIENCE.model_copy(update={"max_response_bytes": 4096})
    async with rig(small) as r:
        body = await r.query()
    codes = {e["extensions"]["provider"]: e["extensions"]["code"] for e in body["errors"]}
    # Every provider's first page is well over 4 KiB; Layer's token answer is not.
    assert codes == {p: "UPSTREAM_BAD_RESPONSE" for p in ("LAYER", "CODAT", "LAGO")}


def test_fault_specs_are_checked() -> None:
    from sandbox.faults import FaultSpecError

    for bad in ("stripe=timeout", "lago=explode", "lago=latency:soon", "lago=malformed:xml"):
        with pytest.raises(FaultSpecError):
            parse_fault(bad)
    assert str(parse_fault("LAGO=Error:503")[1]) == "error:503"
