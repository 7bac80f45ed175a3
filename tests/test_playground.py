"""The playground's assets are vendored, pinned, and the page names no other host."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

from gateway.http.playground import render_graphiql
from tests.support import gateway_client

PINNED = {
    "graphiql.min.js": "22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c",
    "graphiql.min.css": "b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2",
    "react.production.min.js": "4b4969fa4ef3594324da2c6d78ce8766fbbc2fd121fff395aedf997db0a99a06",
    "react-dom.production.min.js": (
        "21758ed084cd0e37e735722ee4f3957ea960628a29dfa6c3ce1a1d47a2d6e4f7"
    ),
    "plugin-explorer.umd.js": "083e37e501d3e3920a60e627b82191af056009124dce82a332e8ac74db6ca38b",
    "plugin-explorer.css": "762850cb69873400d0ab1737c6158aee91f5c38195bc4a30ee02a3c5d5af4e01",
    "graphql-ws.min.js": "b360334f95f810bba665e75e8e855b82d86a1fd0fa8146774e603c50e01240aa",
}


def test_vendored_assets_are_the_pinned_npm_files() -> None:
    folder = resources.files("gateway.http").joinpath("graphiql")
    for name, digest in PINNED.items():
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == digest, name


def test_page_loads_everything_from_the_gateway() -> None:
    page = render_graphiql("/graphql", needs_key=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(s.startswith("/graphiql-assets/") for s in sources)
    assert "Bearer <your gateway API key>" in page


def test_config_cannot_break_out_of_its_script_tag() -> None:
    page = render_graphiql("/graphql</script><script>alert(1)//", needs_key=False)
    assert "</script><script>alert(1)" not in page


async def test_the_page_may_run_only_its_own_files_and_talk_only_to_its_own_host() -> None:
    async with gateway_client() as gateway:
        page = await gateway.http.get("/graphql", headers={"accept": "text/html"})
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        served = [(await gateway.http.get(source)).status_code for source in sources]
    directives = page.headers["content-security-policy"].split("; ")
    policy = dict(directive.split(" ", 1) for directive in directives)
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        # 'self' is also ws:/wss: to the page's host: GraphiQL's subscriptions.
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    # No inline script or style for the policy to refuse: the page's own code is files too.
    assert "<style" not in page.text
    assert re.findall(r"<script>", page.text) == []
    assert "/graphiql-assets/playground.js" in sources
    assert "/graphiql-assets/graphql-ws.min.js" in sources
    assert set(served) == {200}


def test_the_vendored_graphql_ws_is_the_version_the_client_tests_pin() -> None:
    live = Path(__file__).resolve().parent / "live" / "package.json"
    version = json.loads(live.read_text(encoding="utf-8"))["devDependencies"]["graphql-ws"]
    vendor = resources.files("gateway.http").joinpath("graphiql", "VENDOR.md").read_text("utf-8")
    assert f"| `graphql-ws.min.js` | `graphql-ws@{version}` |" in vendor
