"""GraphiQL in a real browser: it loads from the gateway alone and runs the example query."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.services import free_port, gateway_process

pytestmark = pytest.mark.timeout(180)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


def test_graphiql_runs_the_example_query_offline(browser: Any, artifacts: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gateway_process(["serve", "--port", str(port)], f"{base}/healthz"):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{base}/graphql", wait_until="networkidle")
        page.locator(".graphiql-execute-button").click()
        # The result pane is a CodeMirror editor, which renders only the lines in view: read
        # its whole text through its own API.
        read_result = (
            "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
        )
        page.wait_for_function(f"() => ({read_result}).includes('LAGO')", timeout=30_000)
        text = page.evaluate(f"() => {read_result}")
        page.screenshot(path=str(artifacts / "graphiql.png"))
        context.close()
    for provider in ("LAYER", "CODAT", "LAGO"):
        assert f'"{provider}"' in text
    assert '"errors"' not in text
    assert requested
    off_machine = [
        u
        for u in requested
        if urlparse(u).scheme in ("http", "https") and urlparse(u).hostname not in LOOPBACK
    ]
    assert off_machine == []
    # The page fetched its assets and the query from the gateway itself.
    assert any(u.endswith("/graphiql-assets/graphiql.min.js") for u in requested)
    assert any(u == f"{base}/graphql" for u in requested)
