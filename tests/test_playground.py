"""The playground's assets are vendored, pinned, and the page names no other host."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from gateway.http.playground import render_graphiql

PINNED = {
    "graphiql.min.js": "22faab94067b695e5f7959619fbe686ebcc8955002a0c97d986bcbba4ad4bc2c",
    "graphiql.min.css": "b1868247f8e0502cd869e581f5f3cb55b334862e7f51b1d6cbace11059b9adc2",
    "react.production.min.js": "4b4969fa4ef3594324da2c6d78ce8766fbbc2fd121fff395aedf997db0a99a06",
    "react-dom.production.min.js": (
        "21758ed084cd0e37e735722ee4f3957ea960628a29dfa6c3ce1a1d47a2d6e4f7"
    ),
    "plugin-explorer.umd.js": "083e37e501d3e3920a60e627b82191af056009124dce82a332e8ac74db6ca38b",
    "plugin-explorer.css": "762850cb69873400d0ab1737c6158aee91f5c38195bc4a30ee02a3c5d5af4e01",
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
