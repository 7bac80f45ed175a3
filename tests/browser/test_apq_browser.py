"""A page on another origin, using Apollo Client's persisted-query link unchanged, against the
gateway over CORS: miss, register, then hash-only hits over GET."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import free_port, gateway_process

pytestmark = pytest.mark.timeout(180)
STATIC = Path(__file__).parent / "static"


@pytest.fixture
def page_origin() -> Iterator[str]:
    """Serves tests/browser/static (the page and its Apollo Client bundle) on loopback."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(STATIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_apollo_client_apq_round_trip(browser: Any, page_origin: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"GATEWAY_CORS_ORIGINS": f'["{page_origin}"]'}
    with gateway_process(["serve", "--port", str(port)], f"{base}/healthz", env):
        context = browser.new_context()
        page = context.new_page()
        calls: list[tuple[str, str, int]] = []
        page.on(
            "response",
            lambda r: (
                calls.append((r.request.method, r.url, r.status))
                if r.url.startswith(f"{base}/graphql")
                else None
            ),
        )
        page.goto(f"{page_origin}/apq.html")
        page.wait_for_function("() => typeof window.runApq === 'function'")
        result = page.evaluate("url => window.runApq(url)", f"{base}/graphql")
        context.close()
    first, second = result["first"], result["second"]
    assert first == second
    assert {e["node"]["provider"] for e in first["customers"]["edges"]} == {
        "LAYER",
        "CODAT",
        "LAGO",
    }
    exchanges = [(m, u) for m, u, _ in calls if m != "OPTIONS"]
    # 1: the hash alone, over GET: unknown. 2: the query with its hash: registered.
    # 3: the hash alone again: served.
    assert [m for m, _ in exchanges] == ["GET", "POST", "GET"]
    assert "query=" not in exchanges[0][1]
    assert "persistedQuery" in exchanges[0][1]
    assert "query=" not in exchanges[2][1]
    assert all(status == 200 for m, _, status in calls if m != "OPTIONS")
