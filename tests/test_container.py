"""The container: the Dockerfile, compose.yaml and the lock files checked as text here; the image
itself built and started by `.ci/container` (podman), which points CUSTOMER_GATEWAY_IMAGE at it
for the smoke tests at the end (skipped without it)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
IMAGE = os.environ.get("CUSTOMER_GATEWAY_IMAGE")
ENGINE = os.environ.get("CONTAINER_ENGINE", "podman")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(DOCKERFILE):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


FINAL = stages()[-1]


def final(keyword: str) -> list[str]:
    return [rest for k, rest in FINAL if k == keyword]


def command() -> list[str]:
    (cmd,) = final("CMD")
    words: list[str] = json.loads(cmd)
    return words


def env_defaults() -> dict[str, str]:
    defaults: dict[str, str] = {}
    for rest in final("ENV"):
        for word in shlex.split(rest):
            name, _, value = word.partition("=")
            defaults[name] = value
    return defaults


def readme_block(heading: str) -> str:
    section = re.split(rf"\n#+ {heading}\n", README, maxsplit=1)[1].split("\n#", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"no sh block under {heading}"
    return match.group(1)


def test_the_image_is_built_in_two_stages_and_ships_only_the_runtime() -> None:
    built = stages()
    assert len(built) >= 2
    assert re.search(r"\bAS build\b", built[0][0][1], re.I)
    assert any(k == "COPY" and rest.startswith("--from=build /opt/venv") for k, rest in FINAL)
    # Nothing of the source tree reaches the final stage but through the built venv.
    assert [rest for k, rest in FINAL if k in ("COPY", "ADD") and "--from=" not in rest] == []


def test_the_image_runs_as_a_non_root_numeric_user() -> None:
    (user,) = final("USER")
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) > 0
    assert any(f"--uid {uid}" in rest for k, rest in FINAL if k == "RUN")


def test_the_healthcheck_probes_livez_on_the_served_port() -> None:
    (check,) = final("HEALTHCHECK")
    assert "/livez" in check
    assert "GATEWAY_PORT" in check
    assert final("EXPOSE") == [env_defaults()["GATEWAY_PORT"]]


def test_the_command_is_the_readme_serve_on_all_interfaces_with_workers_from_the_env() -> None:
    words = command()
    assert words[:2] == ["sh", "-c"]
    argv = shlex.split(words[2])
    assert argv[0] == "exec"  # the gateway is PID 1 and receives SIGTERM itself
    # The README's own first command, `customer-gateway serve`, with the container's flags.
    first = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first
    assert first.group(1).splitlines()[0].endswith("&& customer-gateway serve")
    assert argv[1:3] == ["customer-gateway", "serve"]
    flags = dict(zip(argv[3::2], argv[4::2], strict=False))
    assert flags["--host"] == "0.0.0.0"  # noqa: S104 - the container's port must be reachable
    assert flags["--port"] == "$GATEWAY_PORT"
    assert flags["--workers"] == "$GATEWAY_WORKERS"
    assert env_defaults()["GATEWAY_WORKERS"] == "1"
    assert "${GATEWAY_CONFIG:+--config" in words[2]


def test_the_readme_container_commands_match_the_image() -> None:
    block = readme_block("Container")
    assert "docker build -t customer-gateway ." in block
    published = set(re.findall(r"-p \d+:(\d+)", block))
    assert published == set(final("EXPOSE"))
    consumed = set(re.findall(r"\$\{?(GATEWAY_[A-Z_]+)", command()[2])) | set(env_defaults())
    passed = set(re.findall(r"-e (GATEWAY_[A-Z_]+)", block))
    # Every GATEWAY_ variable the README passes is one the image reads, in its command or as
    # a setting (GATEWAY_CURSOR_KEY).
    assert passed - consumed <= {"GATEWAY_CURSOR_KEY"}
    assert {"GATEWAY_CONFIG", "GATEWAY_WORKERS"} <= passed
    assert "docker compose up" in block


def test_the_image_installs_the_hashed_lock_files() -> None:
    runs = " ".join(rest for k, rest in stages()[0] if k == "RUN")
    assert "--require-hashes --only-binary=:all: -r requirements.lock" in runs
    assert "--require-hashes --only-binary=:all: -r requirements-build.lock" in runs
    assert "--no-build-isolation" in runs
    assert "--no-deps" in runs
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    # An allow-list: tests (and their vendored third-party files) never enter the image.
    assert ignored[ignored.index("*")] == "*"
    assert "!tests/" not in ignored
    assert {"!requirements.lock", "!requirements-build.lock", "!gateway/", "!sandbox/"} <= set(
        ignored
    )


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    # A list: a universal lock may pin two versions of one package, each for some Pythons.
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, re.M)
    # Every pin carries its hashes.
    hashed = re.findall(r"^[A-Za-z0-9_.\-]+==[^\n]*\\\n    --hash=sha256:", text, re.M)
    assert len(hashed) == len(pins)
    return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ;]", r)[0]).lower() for r in requirements}


def test_the_lock_files_pin_every_dependency_and_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = _locked("requirements.lock")
    dev = _locked("requirements-dev.lock")
    extras = project["project"]["optional-dependencies"]
    assert _requirement_names(project["project"]["dependencies"]) <= set(runtime)
    assert _requirement_names(extras["test"] + extras["bench"]) <= set(dev)
    # The dev lock was resolved within the runtime lock: the image and CI run the same versions.
    assert {name: dev[name] for name in runtime if name in dev} == runtime
    assert "hatchling" in _locked("requirements-build.lock")


def test_compose_runs_two_gateways_sharing_one_redis() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert "redis" in services
    gateways = {name: s for name, s in services.items() if s.get("build") == "."}
    assert len(gateways) == 2
    urls = {s["environment"]["GATEWAY_CACHE__URL"] for s in gateways.values()}
    assert urls == {"redis://redis:6379/0"}
    keys = {s["environment"]["GATEWAY_CURSOR_KEY"] for s in gateways.values()}
    assert len(keys) == 1
    assert keys.pop().startswith("${GATEWAY_CURSOR_KEY:?")
    for gateway in gateways.values():
        assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    ports = [p for s in gateways.values() for p in s["ports"]]
    assert len(set(ports)) == 2
    assert all(p.endswith(":8000") for p in ports)


# --- the image itself (CUSTOMER_GATEWAY_IMAGE, set by .ci/container) -------------------------


@pytest.fixture
def needs_image() -> None:
    """The smoke tests need the image `.ci/container` builds (`.ci/run` builds it before the
    suite and names it in CUSTOMER_GATEWAY_IMAGE): without it they skip, and fail under CI."""
    if IMAGE is None:
        message = "CUSTOMER_GATEWAY_IMAGE is not set: .ci/container builds the image"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def engine(*args: str, check: bool = True) -> str:
    run = subprocess.run(  # noqa: S603 - the container engine, with our own arguments
        [ENGINE, *args], capture_output=True, text=True, check=False, timeout=120
    )
    if check:
        assert run.returncode == 0, f"{ENGINE} {' '.join(args)}: {run.stderr}"
    return run.stdout.strip()


@contextlib.contextmanager
def container(*options: str) -> Iterator[tuple[str, str]]:
    """A started container of the image: its id and the base URL its port 8000 is published on."""
    assert IMAGE is not None
    if shutil.which(ENGINE) is None:
        pytest.fail(f"CUSTOMER_GATEWAY_IMAGE is set but {ENGINE} is not installed")
    cid = engine("run", "-d", "-p", "127.0.0.1::8000", *options, IMAGE)
    try:
        host_port = engine("port", cid, "8000").splitlines()[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{host_port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/livez", timeout=2).status_code == 200:
                    break
            if (
                time.monotonic() > deadline
                or engine("inspect", "-f", "{{.State.Running}}", cid) != "true"
            ):
                pytest.fail(f"the container never answered /livez:\n{engine('logs', cid)}")
            time.sleep(0.3)
        yield cid, base
    finally:
        engine("rm", "-f", "-t", "0", cid, check=False)


QUERY = "{ customers(first: 3) { edges { node { __typename provider displayName } } } }"


@pytest.mark.usefixtures("needs_image")
def test_the_image_serves_graphql_on_the_sandbox_as_a_non_root_user() -> None:
    # As compose runs it: a read-only root file system with a scratch /tmp.
    scratch = ("--tmpfs", "/tmp")  # noqa: S108 - the container's own /tmp, not ours
    with container("--read-only", "--read-only-tmpfs=false", *scratch) as (cid, base):
        assert httpx.get(f"{base}/livez", timeout=5).json() == {"status": "alive"}
        answer = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30)
        assert answer.status_code == 200
        body = answer.json()
        assert "errors" not in body
        edges = body["data"]["customers"]["edges"]
        assert len(edges) == 3
        assert {e["node"]["provider"] for e in edges} == {"LAYER", "CODAT", "LAGO"}
        assert engine("exec", cid, "id", "-u") == "10001"
        # The image's own HEALTHCHECK, run once now (kept by building with --format docker).
        engine("healthcheck", "run", cid)
        # SIGTERM stops it (the gateway and the sandbox it started) well inside the grace time.
        engine("stop", "-t", "20", cid)
        assert engine("inspect", "-f", "{{.State.ExitCode}}", cid) in {"0", "143"}


@pytest.mark.usefixtures("needs_image")
def test_the_image_starts_the_workers_its_environment_asks_for() -> None:
    with container("-e", "GATEWAY_WORKERS=3") as (cid, base):
        answer = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30)
        assert answer.status_code == 200
        assert "errors" not in answer.json()
        processes = engine("exec", cid, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; :")
        # uvicorn's workers are spawned interpreters: one per GATEWAY_WORKERS.
        assert processes.count("multiprocessing.spawn") == 3, processes


@pytest.mark.usefixtures("needs_image")
def test_the_image_refuses_a_missing_settings_file_with_a_clear_message() -> None:
    run = subprocess.run(  # noqa: S603
        [ENGINE, "run", "--rm", "-e", "GATEWAY_CONFIG=/nowhere/gateway.toml", IMAGE or ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2
    assert "customer-gateway: /nowhere/gateway.toml: no such file" in run.stderr
