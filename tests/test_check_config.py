"""`customer-gateway check-config FILE`: one line for a good file, every problem of a bad one at
once (each at its dotted place, with the valid choices), never a secret or a traceback; and
`serve --config` refusing a bad file with the same report."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from sandbox import CODAT_API_KEY, DEMO_ACCOUNT, LAYER_CLIENT_ID, LAYER_CLIENT_SECRET
from tests.services import free_port, gateway_process, redis_server

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

GOOD = """
mode = "production"
cursor_key = "${CURSOR_KEY}"

[[tenants]]
id = "acme"
api_keys = ["${ACME_KEY}"]

[tenants.layer]
business_id = "b-1"
client_id = "${LAYER_CLIENT_ID}"
client_secret = "${LAYER_CLIENT_SECRET}"

[tenants.codat]
company_id = "c-1"
api_key = "${CODAT_API_KEY}"

[[tenants.lago]]
api_key = "${LAGO_EU_KEY}"
organization_id = "eu"

[[tenants.lago]]
api_key = "${LAGO_US_KEY}"
organization_id = "us"
"""
ENV = {
    "CURSOR_KEY": "cursor-secret-1",
    "ACME_KEY": "acme-secret-2",
    "LAYER_CLIENT_ID": "layer-id-secret-3",
    "LAYER_CLIENT_SECRET": "layer-secret-4",
    "CODAT_API_KEY": "codat-secret-5",
    "LAGO_EU_KEY": "lago-secret-6",
    "LAGO_US_KEY": "lago-secret-7",
}

BAD = """
mode = "prod"
limitz = 3

[limits]
max_depth = 1
lagoo = { concurrency = 3 }

[cache.lago]
ttl_secs = 5

[persisted]
mode = "requir"
manifest_path = "/nonexistent/manifest.json"

[auth.jwt]
jwks_url = "https://login.example.com/jwks.json"
issuer = "https://login.example.com/"

[[tenants]]
id = "acme"
api_keys = ["${ACME_KEY}"]

[tenants.lago]
api_key = "lago-inline-secret"

[tenants.lagoo]
api_key = "${LAGO_API_KEY}"

[[tenants.layer]]
business_id = "b-1"
client_id = "${LAYER_CLIENT_ID}"
client_secret = "${NOT_SET_ANYWHERE}"
"""
# Each problem of BAD, in the order reported (by place), each on its own line.
BAD_REPORT = [
    "auth.jwt.audience: required, and not given",
    "cache.lago.ttl_secs: unknown key 'ttl_secs'; valid: stale_if_error_seconds, "
    "stale_while_revalidate_seconds, ttl_seconds",
    "limits.lagoo: no provider of that name is registered (known: codat, lago, layer)",
    "limits.max_depth: must be greater than or equal to 2",
    "limitz: unknown key 'limitz'; valid: auth, cache, cors_origins, cursor_key, drain_seconds, "
    "graphiql, host, introspection, limits, log_format, mode, performance, persisted, port, "
    "reload_interval_seconds, resilience, tenants, tracing, webhooks",
    "mode: 'prod' is not allowed; valid: 'development' or 'production'",
    "persisted.manifest_path: /nonexistent/manifest.json does not exist",
    "persisted.mode: 'requir' is not allowed; valid: 'off', 'allow' or 'require'",
    'tenants.0.lago.api_key: holds a literal secret; write it as "${ENV_VAR}" and set the '
    "variable in the environment",
    "tenants.0.lagoo: no provider of that name is registered (known: codat, lago, layer)",
    "tenants.0.layer.0.client_secret: refers to ${NOT_SET_ANYWHERE}, which is not set in the "
    "environment",
]


def write(tmp_path: Path, text: str, name: str = "gateway.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(
    path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_good_file_is_one_line_naming_what_it_configures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = check(write(tmp_path, GOOD), ENV, monkeypatch, capsys)
    assert status == 0, err
    assert err == ""
    assert out == (
        "ok: 1 tenant, 4 provider accounts (layer 1, codat 1, lago 2); production mode; "
        "cache memory; persisted queries off; auth api keys; cors 0 origins\n"
    )


def test_a_bad_file_lists_every_problem_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"ACME_KEY": "acme-secret-2", "LAYER_CLIENT_ID": "layer-id-secret-3"}
    path = write(tmp_path, BAD)
    status, out, err = check(path, env, monkeypatch, capsys)
    assert status == 2
    assert out == ""
    first, *listed = err.splitlines()
    assert first == f"customer-gateway: {path}: {len(BAD_REPORT)} problems"
    assert [line.removeprefix("  ") for line in listed] == BAD_REPORT
    for secret in ("lago-inline-secret", *env.values()):
        assert secret not in err


def test_a_value_from_the_environment_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A secret that is set, in a table with an invalid neighbour: the report names the
    # neighbour, never the secret's value.
    text = GOOD.replace('company_id = "c-1"', "company_id = 7")
    status, _, err = check(write(tmp_path, text), ENV, monkeypatch, capsys)
    assert status == 2
    assert err.rstrip("\n").endswith("tenants.0.codat.company_id: must be a string")
    for secret in ENV.values():
        assert secret not in err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("limits = 5", "limits: must be a table"),
        ("cors_origins = 5", "cors_origins: must be an array"),
        ("[[tenants]]\nid = 'a'\nlago = 5", "tenants.0.lago: must be a table"),
        ("[limits]\nmax_depth = 'deep'", "limits.max_depth: must be a whole number"),
        ("[cache.lago]\nttl_seconds = 'long'", "cache.lago.ttl_seconds: must be a number"),
        ("tracing = 'maybe'", "tracing: must be true or false"),
        ("[persisted]\nmanifest_path = 5", "persisted.manifest_path: must be a path (a string)"),
    ],
)
def test_a_value_of_the_wrong_type_says_what_it_must_be_in_tomls_words(
    text: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path, text + "\n")
    status, _, err = check(path, {}, monkeypatch, capsys)
    assert status == 2
    assert err == f"customer-gateway: {path}: {said}\n"


def test_a_gateway_variable_that_is_not_json_is_named_without_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"GATEWAY_CORS_ORIGINS": "https://not-json.example.com"}
    path = write(tmp_path, 'mode = "development"\n')
    status, _, err = check(path, env, monkeypatch, capsys)
    assert status == 2
    assert err == (
        f"customer-gateway: {path}: GATEWAY_CORS_ORIGINS in the environment is not valid JSON "
        "(arrays and tables are JSON there)\n"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("mode = [unclosed\n", "not valid TOML: Invalid value (at line 1, column 9)"),
        (
            'mode = "production"\nport = 80\nport = 81\n',
            "Cannot overwrite a value (at line 3, column 10)",
        ),
        (b"\xff\xfe mode".decode("latin-1"), "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_toml_is_one_line_with_where(
    text: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(text.encode("latin-1"))
    status, _, err = check(path, {}, monkeypatch, capsys)
    assert status == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"customer-gateway: {path}: ")
    assert said in err


@pytest.mark.parametrize(
    ("name", "said"), [("missing.toml", "no such file"), (".", "is a directory")]
)
def test_a_file_that_cannot_be_read_is_one_line(
    name: str,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = check(tmp_path / name, {}, monkeypatch, capsys)
    assert status == 2
    assert err == f"customer-gateway: {tmp_path / name}: {said}" + (
        "\n" if said == "no such file" else ", not a settings file\n"
    )


def test_the_manifest_path_must_be_a_readable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = '[persisted]\nmanifest_path = "{}"\n'
    status, _, err = check(write(tmp_path, config.format(tmp_path)), {}, monkeypatch, capsys)
    assert status == 2
    assert err.endswith(f"persisted.manifest_path: {tmp_path} is not a file\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}", encoding="utf-8")
    status, out, _ = check(write(tmp_path, config.format(manifest)), {}, monkeypatch, capsys)
    assert status == 0
    assert "persisted queries allow" in out


def run_gateway(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_serve_refuses_a_bad_file_with_the_same_report(tmp_path: Path) -> None:
    env = {"ACME_KEY": "acme-secret-2", "LAYER_CLIENT_ID": "layer-id-secret-3"}
    path = write(tmp_path, BAD)
    checked = run_gateway("check-config", str(path), env=env)
    served = run_gateway("serve", "--port", "0", "--config", str(path), env=env)
    assert served.returncode == checked.returncode == 2
    assert served.stderr == checked.stderr
    assert "Traceback" not in served.stderr + served.stdout
    assert served.stderr.count("\n") == len(BAD_REPORT) + 1


def test_serve_with_a_missing_config_is_one_line() -> None:
    served = run_gateway("serve", "--config", "/nonexistent/gateway.toml")
    assert served.returncode == 2
    assert served.stderr == "customer-gateway: /nonexistent/gateway.toml: no such file\n"


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def example_environment(path: Path, tmp_path: Path) -> dict[str, str]:
    """A dummy value for every `${VAR}` an example names; a real file for the manifest."""
    text = path.read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{(\w+)\}", " ".join(strings(tomllib.loads(text)))))
    env = {name: f"dummy-{name.lower()}" for name in names}
    if "GATEWAY_MANIFEST_PATH" in env:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(
            '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": []}',
            encoding="utf-8",
        )
        env["GATEWAY_MANIFEST_PATH"] = str(manifest)
    if "GATEWAY_REDIS_URL" in env:
        # A URL's shape is checked; a placeholder is none.
        env["GATEWAY_REDIS_URL"] = "rediss://:dummy-password@redis.internal:6380/0"
    return env


@pytest.mark.parametrize(
    ("example", "summary"),
    [
        (
            "production.toml",
            "ok: 2 tenants, 5 provider accounts (layer 1, codat 1, lago 3); production mode; "
            "cache redis; persisted queries require; auth api keys, jwt; cors 2 origins\n",
        ),
        (
            "sandbox-redis.toml",
            "ok: 1 tenant, 3 provider accounts (layer 1, codat 1, lago 1); development mode; "
            "cache redis; persisted queries off; auth api keys; cors 0 origins\n",
        ),
    ],
)
def test_the_examples_pass_check_config(example: str, summary: str, tmp_path: Path) -> None:
    path = EXAMPLES / example
    env = example_environment(path, tmp_path)
    result = run_gateway("check-config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == summary
    for name, value in env.items():
        if name != "GATEWAY_MANIFEST_PATH":
            assert value not in result.stdout + result.stderr
    # Without the environment every reference is named, and nothing else is wrong.
    bare = run_gateway("check-config", str(path))
    assert bare.returncode == 2
    problems = bare.stderr.splitlines()[1:]
    assert len(problems) == len(env)
    assert all("which is not set in the environment" in line for line in problems)


def test_the_sandbox_redis_example_serves_the_sandbox_through_redis(tmp_path: Path) -> None:
    """The example as written, with only its ports moved to free ones."""
    sandbox_port, gateway_port = free_port(), free_port()
    with redis_server() as redis:
        text = (EXAMPLES / "sandbox-redis.toml").read_text(encoding="utf-8")
        text = text.replace("127.0.0.1:8100", f"127.0.0.1:{sandbox_port}")
        text = text.replace("redis://127.0.0.1:6379/0", redis.url)
        config = write(tmp_path, text)
        env = {
            "DEMO_GATEWAY_KEY": "demo-gateway-key",
            "LAYER_CLIENT_ID": LAYER_CLIENT_ID,
            "LAYER_CLIENT_SECRET": LAYER_CLIENT_SECRET,
            "CODAT_API_KEY": CODAT_API_KEY,
            "LAGO_API_KEY": DEMO_ACCOUNT.lago_api_key,
        }
        base = f"http://127.0.0.1:{sandbox_port}"
        gateway = f"http://127.0.0.1:{gateway_port}"
        with (
            gateway_process(
                ["sandbox", "--port", str(sandbox_port)], f"{base}/lago/api/v1/customers"
            ),
            gateway_process(
                ["serve", "--port", str(gateway_port), "--config", str(config)],
                f"{gateway}/healthz",
                env,
                secrets=(LAYER_CLIENT_SECRET, CODAT_API_KEY, DEMO_ACCOUNT.lago_api_key),
            ),
        ):
            answer = httpx.post(
                f"{gateway}/graphql",
                json={"query": "{ customers(first: 9) { edges { node { provider } } } }"},
                headers={"authorization": "Bearer demo-gateway-key"},
                timeout=30,
            )
            ready = httpx.get(f"{gateway}/readyz", timeout=10).json()
    edges = answer.json()["data"]["customers"]["edges"]
    assert {e["node"]["provider"] for e in edges} == {"LAYER", "CODAT", "LAGO"}
    assert ready["status"] == "ready"
    assert (ready["cache"]["backend"], ready["cache"]["reachable"]) == ("redis", True)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (
            '[[tenants]]\nid = "a"\n[[tenants]]\nid = "a"\n',
            "tenant ids must differ; given more than once: a",
        ),
        (
            '[[tenants]]\nid = "a"\napi_keys = ["${K}"]\n'
            '[[tenants]]\nid = "b"\napi_keys = ["${K}"]\n',
            "an API key is listed twice",
        ),
        (
            '[cache]\nurl = "notaurl"\n',
            "cache.url: must be a redis://host:port/db or rediss:// URL",
        ),
        ('[cache]\nurl = "redis://h:99999/0"\n', "cache.url: must be a redis://"),
        ("reload_interval_seconds = 0.000001\n", "reload_interval_seconds"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, problem: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(config, encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("K", "the-same-key")
        status = main(["check-config", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert problem in err
    assert "Traceback" not in err
    assert "the-same-key" not in err
