"""GraphiQL in a real browser runs a subscription: over graphql-transport-ws to the page's own
host, with the API key from its header editor in `connection_init`, under the page's CSP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.services import SANDBOX_ENV, free_port, gateway_process, sandbox_config
from tests.test_live_relay import signed_delivery
from tests.test_webhooks import JOHN

pytestmark = pytest.mark.timeout(180)
KEY = "acme-graphiql-key-0123456789"
SUBSCRIPTION = "subscription Changes { customerChanged { id kind } }"
# GraphiQL's editors are CodeMirror instances: read and write them through their own API.
QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
HEADER_EDITOR = (
    "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"
    ".CodeMirror"
)
RESULT = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
# Every CSP violation the page meets, recorded before any of its scripts runs.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def test_graphiql_runs_a_subscription_with_the_key_from_its_header_editor(
    browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    sandbox_port, port = free_port(), free_port()
    sandbox, base = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{port}"
    config = tmp_path / "gateway.toml"
    keyed = sandbox_config(sandbox, tenant='api_keys = ["${ACME_KEY}"]', webhooks=True)
    config.write_text(keyed, encoding="utf-8")
    sockets: list[str] = []
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        sockets.append(ws.url)
        ws.on("framesent", lambda frame: sent.append(json.loads(frame)))
        ws.on("framereceived", lambda frame: received.append(json.loads(frame)))

    with (
        gateway_process(
            ["sandbox", "--port", str(sandbox_port)], f"{sandbox}/lago/api/v1/customers"
        ),
        gateway_process(
            ["serve", "--config", str(config), "--port", str(port)],
            f"{base}/healthz",
            {**SANDBOX_ENV, "ACME_KEY": KEY},
        ),
    ):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("websocket", watch)
        page.goto(f"{base}/graphql", wait_until="networkidle")
        page.evaluate(f"() => {QUERY_EDITOR}.setValue({json.dumps(SUBSCRIPTION)})")
        headers = json.dumps({"Authorization": f"Bearer {KEY}"})
        page.evaluate(f"() => {HEADER_EDITOR}.setValue({json.dumps(headers)})")
        # GraphiQL reads the operation's name from the editor a moment after an edit (and
        # stores it): run once it names this document's operation, not the example's.
        named = "() => localStorage.getItem('graphiql:operationName') === 'Changes'"
        page.wait_for_function(named, timeout=10_000)
        page.locator(".graphiql-execute-button").click()
        for _ in range(100):
            if any(m["type"] == "connection_ack" for m in received):
                break
            page.wait_for_timeout(100)  # lets Playwright hand over the socket's frames
        # The subscription is registered once the gateway has read it, a moment after the
        # ack: deliver until a change shows (each delivery is a new, signed message).
        for _ in range(10):
            delivered = signed_delivery(f"{base}/webhooks/layer?tenant=acme")
            assert delivered.status_code == 200
            try:
                shown = f"() => ({RESULT}).includes('customerChanged')"
                page.wait_for_function(shown, timeout=2000)
            except PlaywrightTimeout:
                continue
            break
        text = page.evaluate(f"() => {RESULT}")
        violations = page.evaluate("() => window.violations")
        page.screenshot(path=str(artifacts / "graphiql-subscription.png"))
        context.close()
    assert "customerChanged" in text, text
    assert json.loads(text) == {"data": {"customerChanged": {"id": JOHN, "kind": "UPDATED"}}}
    assert sockets == [f"ws://127.0.0.1:{port}/graphql"]
    init = next(m for m in sent if m["type"] == "connection_init")
    assert init["payload"] == {"Authorization": f"Bearer {KEY}"}
    assert violations == []
