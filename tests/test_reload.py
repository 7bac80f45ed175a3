"""Tenants, API keys and `[auth]` reload without a restart: when the settings file changes and
on SIGHUP, with no request dropped; a bad new configuration is refused and the old one kept."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings.load import load_settings
from sandbox import CODAT_API_KEY, DEMO_ACCOUNT, LAYER_CLIENT_ID, LAYER_CLIENT_SECRET
from tests.services import free_port, gateway_process
from tests.support import IN_PROCESS_SANDBOX, gateway_client

QUERY = "query { customers(first: 3) { edges { node { id provider } } } }"


def write_config(
    path: Path,
    secrets: Path,
    keys: dict[str, str],
    *,
    base: str = IN_PROCESS_SANDBOX,
    interval: float = 0.1,
    extra: str = "",
) -> None:
    """acme on the sandbox, its API keys (name -> value) and provider credentials in secret
    files under `secrets`, referenced as `${file:...}`."""
    secrets.mkdir(exist_ok=True)
    values = {
        **keys,
        "layer_client_id": LAYER_CLIENT_ID,
        "layer_client_secret": LAYER_CLIENT_SECRET,
        "codat_api_key": CODAT_API_KEY,
        "lago_api_key": DEMO_ACCOUNT.lago_api_key,
    }
    for name, value in values.items():
        (secrets / name).write_text(value + "\n", encoding="utf-8")
    refs = ", ".join(f'"${{file:{secrets / name}}}"' for name in keys)
    path.write_text(
        f"""
reload_interval_seconds = {interval}
{extra}
[[tenants]]
id = "acme"
api_keys = [{refs}]

[tenants.layer]
business_id = "{DEMO_ACCOUNT.layer_business_id}"
client_id = "${{file:{secrets / "layer_client_id"}}}"
client_secret = "${{file:{secrets / "layer_client_secret"}}}"
base_url = "{base}/layer"
token_url = "{base}/layer-auth/oauth2/token"

[tenants.codat]
company_id = "{DEMO_ACCOUNT.codat_company_id}"
api_key = "${{file:{secrets / "codat_api_key"}}}"
base_url = "{base}/codat"

[tenants.lago]
api_key = "${{file:{secrets / "lago_api_key"}}}"
base_url = "{base}/lago/api/v1"
""",
        encoding="utf-8",
    )
    # A change within one clock tick must still be seen as a change.
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def wait_until(predicate: Any) -> None:
    """Until `predicate()` holds; five seconds at most."""
    async with asyncio.timeout(5):
        while not await predicate():  # noqa: ASYNC110 - polls what the app's own task changes
            await asyncio.sleep(0.02)


async def test_an_api_key_rotates_through_the_file_with_no_request_dropped(tmp_path: Path) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"old": "key-old"})
    async with gateway_client(load_settings(config), config_path=config) as gateway:

        async def status(key: str) -> int:
            response = await gateway.http.post(
                "/graphql", json={"query": QUERY}, headers=bearer(key)
            )
            return response.status_code

        stop = asyncio.Event()
        statuses: list[int] = []

        async def clients() -> None:
            while not stop.is_set():
                statuses.extend(await asyncio.gather(*(status("key-old") for _ in range(4))))

        load = asyncio.create_task(clients())
        # Rotation: the new key beside the old one, reloaded several times under load.
        for round_ in range(5):
            write_config(config, secrets, {"old": "key-old", "new": f"key-new-{round_}"})

            async def new_key_works(key: str = f"key-new-{round_}") -> bool:
                return await status(key) == 200

            await wait_until(new_key_works)
        stop.set()
        await load
        # Clients have moved: the old key goes.
        write_config(config, secrets, {"new": "key-new-4"})

        async def old_key_refused() -> bool:
            return await status("key-old") == 401

        await wait_until(old_key_refused)
        assert await status("key-new-4") == 200
    assert len(statuses) >= 20
    assert set(statuses) == {200}


async def test_a_bad_new_configuration_is_refused_and_the_old_one_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"old": "key-old"})
    async with gateway_client(load_settings(config), config_path=config) as gateway:
        good = config.read_text()
        with caplog.at_level(logging.ERROR, logger="gateway.reload"):
            config.write_text(good.replace('id = "acme"', 'id = "acme"\nlimitz = 3'))
            for _ in range(100):
                if "reload refused" in caplog.text:
                    break
                await asyncio.sleep(0.02)
        response = await gateway.http.post(
            "/graphql", json={"query": QUERY}, headers=bearer("key-old")
        )
    assert "configuration reload refused, still serving the previous one" in caplog.text
    assert "limitz" in caplog.text
    assert response.status_code == 200


async def test_an_unchanged_tenant_keeps_its_connections_across_a_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"old": "key-old"})
    caplog.set_level(logging.INFO, logger="gateway.reload")
    async with gateway_client(load_settings(config), config_path=config) as gateway:
        before = gateway.app.state.tenants.tenants["acme"]

        async def reloaded() -> bool:
            return "configuration reloaded: 1 tenants" in caplog.text

        # Only a restart-only setting changes: the tenant is the same object, its pools open.
        write_config(config, secrets, {"old": "key-old"}, extra="graphiql = true")
        await wait_until(reloaded)
        after = gateway.app.state.tenants.tenants["acme"]
        write_config(config, secrets, {"old": "key-old", "new": "key-new"})

        async def rebuilt() -> bool:
            return gateway.app.state.tenants.tenants["acme"] is not before

        await wait_until(rebuilt)
    assert after is before
    assert "changes to graphiql take effect on restart" in caplog.text
    assert "(0 rebuilt)" in caplog.text
    assert "(1 rebuilt)" in caplog.text


@pytest.fixture
def standalone_sandbox() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gateway_process(["sandbox", "--port", str(port)], f"{base}/lago/api/v1/customers"):
        yield base


def test_sighup_reloads_a_running_gateway(tmp_path: Path, standalone_sandbox: str) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    # A long interval: only the signal can make this reload happen within the test.
    write_config(config, secrets, {"old": "key-old"}, base=standalone_sandbox, interval=3600)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    with gateway_process(
        ["serve", "--port", str(port), "--config", str(config)],
        f"http://127.0.0.1:{port}/healthz",
        secrets=("key-old", "key-new", LAYER_CLIENT_SECRET),
    ) as process_url:
        del process_url
        before = httpx.post(url, json={"query": QUERY}, headers=bearer("key-new"), timeout=30)
        write_config(config, secrets, {"new": "key-new"}, base=standalone_sandbox, interval=3600)
        pid = _listening_pid(port)
        os.kill(pid, signal.SIGHUP)
        for _ in range(100):
            after = httpx.post(url, json={"query": QUERY}, headers=bearer("key-new"), timeout=30)
            if after.status_code == 200:
                break
            time.sleep(0.05)
        old = httpx.post(url, json={"query": QUERY}, headers=bearer("key-old"), timeout=30)
    assert before.status_code == 401
    assert after.status_code == 200
    assert {e["node"]["provider"] for e in after.json()["data"]["customers"]["edges"]}
    assert old.status_code == 401


def _listening_pid(port: int) -> int:
    """The process serving `port` (the gateway, not the `python -m gateway` wrapper's parent)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inode = fields[9]
            break
    else:
        raise AssertionError(f"nothing listens on {port}")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fd_dir = Path("/proc", pid, "fd")
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return int(pid)
    raise AssertionError(f"no process holds the socket of {port}")


async def test_field_scopes_and_token_settings_reload_with_the_file(tmp_path: Path) -> None:
    from tests.idp import IdentityProvider

    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    taxes = "query { customers(first: 2) { edges { node { id taxes { name } } } } }"
    with IdentityProvider() as idp:
        jwt = (
            f'[auth.jwt]\njwks_url = "{idp.settings().jwks_url}"\n'
            f'issuer = "{idp.issuer}"\naudience = "{idp.audience}"\n'
        )
        write_config(config, secrets, {"old": "key-old"}, extra=jwt)
        async with gateway_client(load_settings(config), config_path=config) as gateway:

            async def taxes_for(token: str) -> Any:
                response = await gateway.http.post(
                    "/graphql", json={"query": taxes}, headers=bearer(token)
                )
                return response.json()

            before = await taxes_for(idp.token())
            scoped = jwt + '[auth.field_scopes]\n"Customer.taxes" = ["customers:tax"]\n'
            write_config(config, secrets, {"old": "key-old"}, extra=scoped)

            async def forbidden() -> bool:
                return "errors" in await taxes_for(idp.token())

            await wait_until(forbidden)
            after = await taxes_for(idp.token())
            allowed = await taxes_for(idp.token({"scope": "customers:tax"}))
            # A new audience: tokens for the old one stop verifying.
            moved = jwt.replace(idp.audience, "another-audience")
            write_config(config, secrets, {"old": "key-old"}, extra=moved)

            async def old_audience_refused() -> bool:
                response = await gateway.http.post(
                    "/graphql", json={"query": QUERY}, headers=bearer(idp.token())
                )
                return response.status_code == 401

            await wait_until(old_audience_refused)
            fresh = await gateway.http.post(
                "/graphql",
                json={"query": QUERY},
                headers=bearer(idp.token({"aud": "another-audience"})),
            )
    assert "errors" not in before
    assert {e["extensions"]["code"] for e in after["errors"]} == {"FORBIDDEN"}
    assert all(e["node"]["taxes"] is None for e in after["data"]["customers"]["edges"])
    assert "errors" not in allowed
    assert fresh.status_code == 200


async def test_a_secret_rotated_in_its_file_is_picked_up_without_touching_the_settings(
    tmp_path: Path,
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"key": "key-before"})
    async with gateway_client(load_settings(config), config_path=config) as gateway:

        async def status(key: str) -> int:
            response = await gateway.http.post(
                "/graphql", json={"query": QUERY}, headers=bearer(key)
            )
            return response.status_code

        before = await status("key-before")
        # The secret store rewrites the file; the settings file is untouched.
        (secrets / "key").write_text("key-after\n", encoding="utf-8")

        async def rotated() -> bool:
            return await status("key-after") == 200

        await wait_until(rotated)
        revoked = await status("key-before")
    assert before == 200
    assert revoked == 401


async def test_a_reload_leaves_restart_only_settings_as_the_process_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"key": "k"}, extra="introspection = false")
    caplog.set_level(logging.INFO, logger="gateway.reload")
    introspect = "{ __schema { queryType { name } } }"
    # A selection of a little over 100 fields: under the default max_fields, over 100.
    wide = "{ customers(first: 20) { edges { node { id provider account displayName } } } }"
    async with gateway_client(load_settings(config), config_path=config) as gateway:
        # Introspection and a limit change, with a field rule, which rebuilds the schema.
        changed = """introspection = true
[limits]
max_fields = 100
[auth.field_scopes]
"Customer.taxes" = ["t"]
"""
        write_config(config, secrets, {"key": "k"}, extra=changed)

        async def reloaded() -> bool:
            return "configuration reloaded" in caplog.text

        await wait_until(reloaded)
        introspected = await gateway.http.post(
            "/graphql", json={"query": introspect}, headers=bearer("k")
        )
        paged = await gateway.http.post("/graphql", json={"query": wide}, headers=bearer("k"))
    assert "changes to limits, introspection take effect on restart" in caplog.text
    assert introspected.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    assert "errors" not in paged.json()


async def test_per_user_limits_reload_with_the_auth_settings(tmp_path: Path) -> None:
    from tests.idp import IdentityProvider

    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    with IdentityProvider() as idp:
        jwt = (
            f'[auth.jwt]\njwks_url = "{idp.settings().jwks_url}"\n'
            f'issuer = "{idp.issuer}"\naudience = "{idp.audience}"\n'
        )
        write_config(config, secrets, {"key": "k"}, extra=jwt)
        async with gateway_client(load_settings(config), config_path=config) as gateway:

            async def status(sub: str) -> int:
                token = idp.token({"sub": sub})
                response = await gateway.http.post(
                    "/graphql", json={"query": QUERY}, headers=bearer(token)
                )
                return response.status_code

            unlimited = [await status("ann") for _ in range(3)]
            limited = "[auth]\nsubject_requests_per_second = 0.001\nsubject_burst = 1\n" + jwt
            write_config(config, secrets, {"key": "k"}, extra=limited)

            async def limits_apply() -> bool:
                return await status("bob") == 429

            await wait_until(limits_apply)
    assert unlimited == [200, 200, 200]


def test_sighup_to_serve_with_workers_reloads_each_worker_in_place(
    tmp_path: Path, standalone_sandbox: str
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"old": "key-old"}, base=standalone_sandbox, interval=3600)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    with gateway_process(
        ["serve", "--port", str(port), "--config", str(config), "--workers", "2"],
        f"http://127.0.0.1:{port}/healthz",
        secrets=("key-old", "key-new", LAYER_CLIENT_SECRET),
    ):
        supervisor = _listening_pid(port)
        workers_before = _children(supervisor)
        # A bad file first: refused by every worker, which keep serving the old one.
        good = config.read_text()
        config.write_text(good.replace('id = "acme"', 'id = "acme"\nlimitz = 1'))
        os.kill(supervisor, signal.SIGHUP)
        time.sleep(1)
        still = [
            httpx.post(url, json={"query": QUERY}, headers=bearer("key-old"), timeout=30)
            for _ in range(6)
        ]
        write_config(config, secrets, {"new": "key-new"}, base=standalone_sandbox, interval=3600)
        os.kill(supervisor, signal.SIGHUP)
        answers: list[int] = []
        for _ in range(200):
            # A new connection each time, so both workers are asked.
            answers.append(
                httpx.post(
                    url, json={"query": QUERY}, headers=bearer("key-new"), timeout=30
                ).status_code
            )
            if answers[-6:] == [200] * 6:
                break
            time.sleep(0.05)
        workers_after = _children(supervisor)
    assert [r.status_code for r in still] == [200] * 6
    assert answers[-6:] == [200] * 6
    assert workers_before == workers_after


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid`: the supervisor's workers."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry))
    return found


async def test_an_emptied_file_is_refused_and_every_tenant_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, secrets = tmp_path / "gateway.toml", tmp_path / "secrets"
    write_config(config, secrets, {"key": "k"})
    async with gateway_client(load_settings(config), config_path=config) as gateway:
        with caplog.at_level(logging.ERROR, logger="gateway.reload"):
            # An editor saving in place truncates the file before it writes it.
            config.write_text("", encoding="utf-8")

            async def refused() -> bool:
                return "names no tenants" in caplog.text

            await wait_until(refused)
        response = await gateway.http.post("/graphql", json={"query": QUERY}, headers=bearer("k"))
    assert response.status_code == 200


def test_sighup_without_a_settings_file_is_logged_not_fatal() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gateway_process(["serve", "--port", str(port)], f"{base}/healthz") as process_url:
        del process_url
        os.kill(_listening_pid(port), signal.SIGHUP)
        time.sleep(0.5)
        alive = httpx.get(f"{base}/livez", timeout=10)
    assert alive.status_code == 200
