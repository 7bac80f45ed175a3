"""`customer-gateway serve | sandbox | export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import MutableMapping
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from gateway.errors import ConfigError
from gateway.observability.logs import logging_config
from gateway.settings import Settings, load_settings
from sandbox import ACCOUNTS, CODAT_API_KEY, LAYER_CLIENT_ID, LAYER_CLIENT_SECRET, Sandbox
from sandbox.faults import Faults, FaultSpecError, parse_fault
from sandbox.server import serve_on_loopback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customer-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway (on the sandbox with no --config)")
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default 8000")
    serve.add_argument("--config", type=Path, default=None, help="a TOML settings file")
    serve.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (default 1)"
    )
    fault_help = "PROVIDER=KIND[:ARG], e.g. lago=latency:100 (repeatable; see sandbox/faults.py)"
    serve.add_argument("--sandbox-fault", action="append", default=[], help=fault_help)
    sandbox = commands.add_parser("sandbox", help="run only the Layer, Codat and Lago simulators")
    sandbox.add_argument("--port", type=int, default=8100)
    sandbox.add_argument("--fault", action="append", default=[], help=fault_help)
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", type=Path, default=Path("schema.graphql"))
    args = parser.parse_args(argv)

    try:
        if args.command == "serve":
            faults = _faults(args.sandbox_fault)
            if args.workers > 1:
                return _serve_workers(args, faults)
            return _serve(args.config, args.host, args.port, faults)
        if args.command == "sandbox":
            return _sandbox(args.port, _faults(args.fault))
    except FaultSpecError as exc:
        parser.error(str(exc))
    return _export(args.output)


def _faults(specs: list[str]) -> Faults:
    faults = Faults()
    for spec in specs:
        faults.set(*parse_fault(spec))
    return faults


def _serve(config: Path | None, host: str | None, port: int | None, faults: Faults) -> int:
    from gateway.app import create_app

    try:
        settings = load_settings(config)
        if faults.active and not settings.uses_sandbox:
            print(
                "customer-gateway: --sandbox-fault needs the sandbox (no tenants)", file=sys.stderr
            )
            return 2
        app = create_app(
            settings, sandbox=Sandbox(faults=faults) if settings.uses_sandbox else None
        )
    except ConfigError as exc:
        print(f"customer-gateway: {exc}", file=sys.stderr)
        return 2
    host = host or settings.host
    port = port or settings.port
    if settings.uses_sandbox:
        print("customer-gateway: no tenants configured, serving the demo tenant on the sandbox")
        for provider, fault in sorted(faults.active.items()):
            print(f"customer-gateway: sandbox fault {provider}={fault}")
    if settings.graphiql_enabled:
        print(f"customer-gateway: GraphiQL at http://{host}:{port}/graphql")
    uvicorn.run(app, host=host, port=port, log_config=logging_config())
    return 0


# How `serve --workers N` hands its arguments to the worker processes uvicorn starts.
_CONFIG_ENV = "CUSTOMER_GATEWAY_CONFIG"
_FAULTS_ENV = "CUSTOMER_GATEWAY_SANDBOX_FAULTS"
# The variable `Settings.cursor_key` is read from.
CURSOR_KEY_ENV = "GATEWAY_CURSOR_KEY"


def share_cursor_key(settings: Settings, environ: MutableMapping[str, str]) -> None:
    """With no cursor key configured, draw one for all the workers about to start: they read
    it back from the environment they inherit, so a cursor one issues, another accepts. The
    key is never printed or logged; it ends with this `serve`."""
    configured = settings.cursor_key
    if configured is None or not configured.get_secret_value():
        environ[CURSOR_KEY_ENV] = secrets.token_urlsafe(32)


def _serve_workers(args: argparse.Namespace, faults: Faults) -> int:
    """Several worker processes: each builds its own app (and, with no tenants, its own
    sandbox on the same seed); share a Redis cache between them with `cache.url`."""
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"customer-gateway: {exc}", file=sys.stderr)
        return 2
    if args.config is not None:
        os.environ[_CONFIG_ENV] = str(args.config.resolve())
    share_cursor_key(settings, os.environ)
    os.environ[_FAULTS_ENV] = ";".join(f"{p}={f}" for p, f in faults.active.items())
    uvicorn.run(
        "gateway.cli:worker_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=logging_config(),
    )
    return 0


def worker_app() -> Starlette:
    """The app of one `serve --workers N` process."""
    from gateway.app import create_app

    config = os.environ.get(_CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    specs = [s for s in os.environ.get(_FAULTS_ENV, "").split(";") if s]
    sandbox = Sandbox(faults=_faults(specs)) if settings.uses_sandbox else None
    return create_app(settings, sandbox=sandbox)


def _sandbox(port: int, faults: Faults) -> int:
    async def run() -> None:
        async with serve_on_loopback(Sandbox(faults=faults).app, port) as base_url:
            print(f"sandbox: Layer {base_url}/layer (token URL {base_url}/layer-auth/oauth2/token)")
            print(f"sandbox: Codat {base_url}/codat   Lago {base_url}/lago/api/v1")
            print(f"sandbox: Layer client {LAYER_CLIENT_ID} / {LAYER_CLIENT_SECRET}")
            print(f"sandbox: Codat key {CODAT_API_KEY}")
            for account in ACCOUNTS:
                print(
                    f"sandbox: account Layer business {account.layer_business_id}, "
                    f"Codat company {account.codat_company_id}, Lago key {account.lago_api_key}"
                )
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _export(output: Path) -> int:
    from resolvers.schema import build_schema

    output.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    print(f"customer-gateway: wrote {output}")
    return 0


__all__ = ["CURSOR_KEY_ENV", "main", "share_cursor_key", "worker_app"]

if __name__ == "__main__":
    raise SystemExit(main())
