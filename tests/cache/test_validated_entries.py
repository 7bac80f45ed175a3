"""Only answers that parse and fit the provider's wire model are cached.

A 200 whose body is garbage or the wrong shape is UPSTREAM_BAD_RESPONSE for that provider: it
never reaches the store, never replaces a good entry, and while the provider keeps sending it,
stale-if-error serves the last good copy (marked stale).
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cache.entry import CachePolicy, Entry
from gateway.cache.keys import Account
from gateway.cache.store import CacheStore
from gateway.cache.upstream import UpstreamCache
from gateway.domain.customer import CustomerKey
from gateway.errors import UpstreamBadResponse
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.model import CachePolicySettings, CacheSettings, Settings
from sandbox import DEMO_ACCOUNT
from sandbox.faults import parse_fault
from tests.cache.test_caching import FakeClock
from tests.support import GatewayClient, gateway_client

TRACE = {"x-gateway-trace": "upstream"}
CUSTOMER = "query($id: ID!) { customer(id: $id) { displayName } }"
GAVIN_ID = "5eb02857-a71e-4ea2-bcf9-57d3a41bc6ba"
GAVIN = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, GAVIN_ID))
LIST = "query($p: [Provider!]) { customers(first: 3, providers: $p) { edges { node { id } } } }"
# Fresh for 60 s, then served only when the provider fails, for 600 s more.
POLICY = CachePolicySettings(
    ttl_seconds=60, stale_while_revalidate_seconds=0, stale_if_error_seconds=600
)
BAD_BODIES = ["malformed", "malformed:html", "malformed:shape"]


def settings() -> Settings:
    return Settings(cache=CacheSettings(layer=POLICY, codat=POLICY, lago=POLICY))


async def ask(gateway: GatewayClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await gateway.query(query, variables, headers=TRACE)
    return body


def calls(body: dict[str, Any], provider: str) -> int:
    by_provider = body["extensions"]["upstream"]["byProvider"]
    count: int = by_provider.get(provider.upper(), {}).get("calls", 0)
    return count


async def stored(gateway: GatewayClient) -> Entry | None:
    cache: UpstreamCache = gateway.app.state.cache
    scope = Account("demo", LAGO, DEMO_ACCOUNT.lago_organization_id)
    return await cache.peek(scope, "customer", {"id": GAVIN_ID})


@pytest.mark.parametrize("fault", BAD_BODIES)
async def test_a_bad_200_never_replaces_a_good_read_and_the_good_copy_is_served_stale(
    fault: str,
) -> None:
    clock = FakeClock()
    async with gateway_client(settings(), clock=clock) as gateway:
        good = await ask(gateway, CUSTOMER, {"id": GAVIN})
        assert good["data"] == {"customer": {"displayName": "Gavin Belson"}}
        assert calls(good, "lago") == 1
        good_entry = await stored(gateway)
        assert good_entry is not None

        gateway.sandbox.faults.set(*parse_fault(f"lago={fault}"))
        clock.now += 120  # expired, inside stale-if-error
        for _ in range(2):
            stale = await ask(gateway, CUSTOMER, {"id": GAVIN})
            assert stale["data"] == good["data"]
            assert "errors" not in stale
            assert stale["extensions"]["stale"] == ["LAGO"]
            # A bad body is not worth a retry: one call, every time (nothing was cached).
            assert calls(stale, "lago") == 1
            assert await stored(gateway) == good_entry

        gateway.sandbox.faults.set("lago", None)
        clock.now += 1
        fresh = await ask(gateway, CUSTOMER, {"id": GAVIN})
        assert fresh["data"] == good["data"]
        assert "stale" not in fresh["extensions"]
        assert calls(fresh, "lago") == 1
        replaced = await stored(gateway)
        assert replaced is not None
        assert replaced.stored_at == clock.now
        again = await ask(gateway, CUSTOMER, {"id": GAVIN})
        assert calls(again, "lago") == 0


@pytest.mark.parametrize("fault", BAD_BODIES)
@pytest.mark.parametrize("provider", ["layer", "codat", "lago"])
async def test_a_bad_list_page_is_never_cached_for_any_provider(provider: str, fault: str) -> None:
    clock = FakeClock()
    variables = {"p": [provider.upper()]}
    async with gateway_client(settings(), clock=clock) as gateway:
        good = await ask(gateway, LIST, variables)
        assert "errors" not in good
        assert len(good["data"]["customers"]["edges"]) == 3

        gateway.sandbox.faults.set(*parse_fault(f"{provider}={fault}"))
        clock.now += 400  # expired for every provider (Codat's TTL is 300 s by default)
        for _ in range(2):
            stale = await ask(gateway, LIST, variables)
            assert stale["data"] == good["data"]
            assert "errors" not in stale
            assert stale["extensions"]["stale"] == [provider.upper()]
            assert calls(stale, provider) == 1

        gateway.sandbox.faults.set(provider, None)
        clock.now += 1
        fresh = await ask(gateway, LIST, variables)
        assert fresh["data"] == good["data"]
        assert "stale" not in fresh["extensions"]
        assert calls(fresh, provider) == 1
        assert calls(await ask(gateway, LIST, variables), provider) == 0


async def test_a_bad_200_with_no_good_copy_is_a_bad_response_and_is_not_cached() -> None:
    async with gateway_client(settings()) as gateway:
        gateway.sandbox.faults.set(*parse_fault("lago=malformed:shape"))
        for _ in range(2):
            body = await ask(gateway, CUSTOMER, {"id": GAVIN})
            assert body["data"] == {"customer": None}
            assert body["errors"][0]["extensions"] == {
                "code": "UPSTREAM_BAD_RESPONSE",
                "provider": "LAGO",
            }
            assert calls(body, "lago") == 1
        assert await stored(gateway) is None


async def test_bad_bytes_already_in_the_store_are_a_miss_not_an_answer() -> None:
    """Whatever put them there (an older version, another process), unusable bytes are
    refetched, never served and never served stale."""
    cache = UpstreamCache(
        CacheStore.from_url(None),
        dict.fromkeys(
            (LAYER, CODAT, LAGO), CachePolicy(ttl=60, stale_while_revalidate=0, stale_if_error=600)
        ),
    )
    scope = Account("t", LAGO, "org")
    await cache.put(scope, "customer", {"id": "x"}, 200, b"{truncated")
    fetched: list[int] = []

    async def fetch() -> Entry:
        fetched.append(1)
        return Entry(200, b'{"ok": true}')

    def validate(entry: Entry) -> None:
        if not entry.body.startswith(b'{"ok"'):
            raise UpstreamBadResponse(LAGO)

    entry = await cache.fetch(scope, "customer", {"id": "x"}, fetch, validate=validate)
    assert entry.body == b'{"ok": true}'
    assert fetched == [1]
