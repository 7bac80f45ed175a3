"""relay-compiler accepts schema.graphql for a `@connection` list and a `@refetchable` Customer.

tests/relay/ is a tiny Relay project (package.json pins relay-compiler); .ci/run installs it
with npm. `--validate` compiles the fragments against schema.graphql and fails when the
committed artifacts (src/__generated__/) are not what the schema gives today.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.services import require

PROJECT = Path(__file__).resolve().parent / "relay"
COMPILER = PROJECT / "node_modules" / ".bin" / "relay-compiler"


def _compiler() -> Path:
    require("node")
    if not COMPILER.exists():
        message = (
            "relay-compiler is not installed: run `npm ci --prefix tests/relay` (.ci/run does)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return COMPILER


def test_relay_compiler_validates_the_schema() -> None:
    compiler = _compiler()
    result = subprocess.run(  # noqa: S603 - the pinned local compiler
        [str(compiler), "--validate"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
