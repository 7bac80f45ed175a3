from __future__ import annotations

from pathlib import Path

from gateway.cli import main
from resolvers.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `customer-gateway export-schema`"
    )


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    output = tmp_path / "out.graphql"
    assert main(["export-schema", "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert "interface Customer implements Node" in text
    assert "type LagoCustomer implements Customer & Node" in text
