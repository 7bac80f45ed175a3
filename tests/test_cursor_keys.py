"""Cursor keys and bounds: the key signs and never shows, `serve --workers N` shares one key,
a cursor's length is bounded whatever a provider sends as its page token."""

from __future__ import annotations

import os

import httpx
import pytest
from pydantic import SecretStr

from gateway.cli import CURSOR_KEY_ENV, share_cursor_key
from gateway.cursor import (
    MAX_CURSOR_LENGTH,
    MAX_TOKEN_LENGTH,
    Cursor,
    CursorKey,
    StreamPosition,
    decode_cursor,
    encode_cursor,
)
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.errors import InvalidCursor, UpstreamBadResponse
from gateway.federation import list_customers
from gateway.providers.base import Page
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from gateway.settings.load import load_settings
from gateway.settings.model import MAX_ACCOUNT_LENGTH, MAX_CONNECTIONS_PER_TENANT
from tests.providers.fakes import ListingSource
from tests.services import free_port, gateway_process
from tests.support import demo_sources


class LongTokens(ListingSource):
    """A provider whose next-page token is longer than a cursor may carry."""

    def __init__(self, customer: Customer) -> None:
        super().__init__()
        self.customer = customer

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        self.calls += 1
        return Page((self.customer,) * 3, "t" * (MAX_TOKEN_LENGTH + 1))


async def test_a_provider_token_too_long_for_a_cursor_is_a_bad_response(
    sandbox_http: httpx.AsyncClient,
) -> None:
    lago = demo_sources(sandbox_http)[LAGO]
    customer = (await lago.list_page(EMPTY_FILTER, None)).items[0]
    source = LongTokens(customer)
    page = await list_customers([source], EMPTY_FILTER, 2, None)
    assert [(type(e), e.provider) for e in page.errors] == [(UpstreamBadResponse, LAGO)]
    assert page.edges == ()
    assert source.calls == 1


def test_the_longest_cursor_fits_the_bound() -> None:
    # The longest token a provider may send, every character escaped in JSON, for as many
    # accounts with ids as long as a tenant may connect.
    longest = StreamPosition('"' * MAX_TOKEN_LENGTH, 10**12, 10**12, False)
    streams = [
        (provider, f"{index:02d}" + '"' * (MAX_ACCOUNT_LENGTH - 2))
        for index in range(MAX_CONNECTIONS_PER_TENANT)
        for provider in (LAYER, CODAT, LAGO)
    ][:MAX_CONNECTIONS_PER_TENANT]
    cursor = Cursor("f" * 32, dict.fromkeys(streams, longest))
    text = encode_cursor(cursor, CursorKey.random())
    assert len(text) <= MAX_CURSOR_LENGTH


def test_the_key_is_never_shown() -> None:
    key = CursorKey.of(SecretStr("do-not-print-me"))
    assert "do-not-print-me" not in repr(key)
    assert "do-not-print-me" not in str(key)


def test_serve_with_workers_hands_every_worker_one_drawn_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CURSOR_KEY_ENV, raising=False)
    environ: dict[str, str] = {}
    share_cursor_key(load_settings(None, {}), environ)
    drawn = environ[CURSOR_KEY_ENV]
    assert len(drawn) >= 32
    # Each worker loads its settings from the environment it inherited.
    monkeypatch.setenv(CURSOR_KEY_ENV, drawn)
    one, two = (CursorKey.of(load_settings(None).cursor_key) for _ in range(2))
    cursor = Cursor("f" * 32, {(LAGO, "org"): StreamPosition("2", 0, 5, False)})
    assert decode_cursor(encode_cursor(cursor, one), two) == cursor
    # Another `serve` draws another key.
    monkeypatch.delenv(CURSOR_KEY_ENV)
    other: dict[str, str] = {}
    share_cursor_key(load_settings(None, {}), other)
    assert other[CURSOR_KEY_ENV] != drawn


def test_a_configured_key_is_left_to_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CURSOR_KEY_ENV, "configured-by-the-operator")
    environ = dict(os.environ)
    share_cursor_key(load_settings(None), environ)
    assert environ[CURSOR_KEY_ENV] == "configured-by-the-operator"


def test_a_cursor_decodes_only_under_its_key() -> None:
    cursor = Cursor("f" * 32, {(CODAT, "company"): StreamPosition("3", 1, 201, False)})
    text = encode_cursor(cursor, CursorKey.of(SecretStr("k1")))
    assert decode_cursor(text, CursorKey.of(SecretStr("k1"))) == cursor
    with pytest.raises(InvalidCursor):
        decode_cursor(text, CursorKey.of(SecretStr("k2")))


@pytest.mark.timeout(120)
def test_every_worker_of_serve_accepts_every_workers_cursors() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    query = (
        "query($after: String) { customers(first: 2, after: $after) { pageInfo { endCursor } } }"
    )
    # Traced, so no worker answers from its response cache.
    headers = {"x-gateway-trace": "upstream"}
    with gateway_process(["serve", "--port", str(port), "--workers", "2"], f"{base}/healthz"):
        first = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers, timeout=30)
        after = first.json()["data"]["customers"]["pageInfo"]["endCursor"]
        # Each call opens its own connection, so the calls land on both workers.
        bodies = [
            httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": {"after": after}},
                headers=headers,
                timeout=30,
            ).json()
            for _ in range(24)
        ]
    assert [b.get("errors") for b in bodies] == [None] * 24
