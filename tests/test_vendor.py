"""A clone passes its tests with nothing beside it: the third-party files the tests read are
vendored under tests/vendor, each listed with its source and licence in tests/vendor/SOURCES.md
and kept byte for byte as taken."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import VENDOR

ROOT = Path(__file__).resolve().parents[1]
SOURCES = VENDOR / "SOURCES.md"
# A row of SOURCES.md's table: the file, then (last) its git blob id.
_ROW = re.compile(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{40})` \|$", re.M)
# Tests that between them read every vendored file (both OpenAPI files, the three reference
# pages), run again from a copy of the repository standing alone.
READERS = (
    "tests/sandbox/test_contract.py::test_adapter_requests_match_the_specs",
    "tests/test_documented_examples.py::test_sandbox_serves_the_documented_examples_verbatim",
)


def git_blob(path: Path) -> str:
    """The id git gives the file's bytes: what SOURCES.md records, and what upstream has."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_every_vendored_file_is_listed_with_its_unmodified_bytes() -> None:
    listed = dict(_ROW.findall(SOURCES.read_text(encoding="utf-8")))
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {
        "SOURCES.md"
    }
    assert present == set(listed)
    assert {name: git_blob(VENDOR / name) for name in present} == listed


def test_lagos_agpl_licence_is_kept_beside_its_openapi_file() -> None:
    licence = (VENDOR / "specs" / "lago" / "LICENSE").read_text(encoding="utf-8")
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in licence
    assert "Version 3, 19 November 2007" in licence
    sources = SOURCES.read_text(encoding="utf-8")
    assert all(words in sources for words in ("AGPL", "unmodified", "only as test data"))


def test_no_test_reads_a_path_outside_the_repository() -> None:
    """`Path(__file__)...parents[N]` must stay inside the repository, and nothing may name the
    shared folder beside it (docs may, as prose)."""
    escapes = []
    for source in sorted((ROOT / "tests").rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        for match in re.finditer(r"parents\[(\d+)\]", text):
            if not source.parents[int(match.group(1))].is_relative_to(ROOT):
                escapes.append(f"{source.relative_to(ROOT)}: {match.group(0)}")
        for match in re.finditer(r"""["'](?:\.\./)+shared\b|/ ["']shared["']""", text):
            escapes.append(f"{source.relative_to(ROOT)}: {match.group(0)}")
    assert escapes == []
    assert VENDOR.is_relative_to(ROOT)


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.mark.timeout(300)
def test_a_copy_with_nothing_beside_it_passes_the_tests_that_read_vendored_files(
    tmp_path: Path,
) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to copy the repository's files by")
    clone = tmp_path / "alone" / "customer-gateway"
    for name in _tracked_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target)
    assert [p.name for p in clone.parent.iterdir()] == ["customer-gateway"]
    env = {**os.environ, "PYTHONPATH": str(clone)}
    run = subprocess.run(  # noqa: S603 - this interpreter, on the copy's own tests
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *READERS],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"{len(READERS)} passed" in run.stdout, run.stdout[-2000:]
