"""schemathesis fuzzes the running gateway from schema.graphql: no server error, ever."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import free_port, gateway_process

pytestmark = pytest.mark.timeout(300)
SCHEMA = Path(__file__).resolve().parents[1] / "schema.graphql"
RUN_SCHEMATHESIS = "from schemathesis.cli import schemathesis; schemathesis()"


def test_schemathesis_finds_no_server_error(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gateway_process(["serve", "--port", str(port)], f"{base}/healthz"):
        result = subprocess.run(  # noqa: S603 - a fixed command line
            [
                sys.executable,
                "-c",
                RUN_SCHEMATHESIS,
                "run",
                str(SCHEMA),
                "--url",
                f"{base}/graphql",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "70",
                "--seed",
                "20261122",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
            cwd=tmp_path,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output
    # At least 300 operations, every one of them passing.
    assert int(generated.group(1)) >= 300
    assert generated.group(1) == generated.group(2)
