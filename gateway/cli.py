"""`customer-gateway serve | sandbox | check-config | export-schema`.

With no tenant configured, `serve` starts the sandbox as a process of its own on a loopback port
(gateway/sandbox_process.py), serves its demo tenant, and stops it when the gateway stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypedDict

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from gateway import __version__
from gateway.errors import ConfigError
from gateway.observability.logs import lean_log_records, logging_config
from gateway.observability.multiprocess import metrics_directory
from gateway.sandbox_process import (
    SandboxError,
    read_announcement,
    running_sandbox,
    sandbox_command,
    with_demo_tenant,
)
from gateway.settings.check import check_config
from gateway.settings.load import load_settings
from gateway.settings.model import Settings


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the problem, and exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"customer-gateway: {message}\n")


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _port_or_any(text: str) -> int:
    port = _number(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0 for any free one)")
    return port


def _at_least_zero(text: str) -> int:
    count = _number(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"{count} is not at least 0")
    return count


# Far above what a machine can use (one event loop a core), far below what exhausts it.
MAX_WORKERS = 64


def _workers(text: str) -> int:
    count = _number(text)
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{count} is not 1 to {MAX_WORKERS} workers")
    return count


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="customer-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"customer-gateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the gateway (on the sandbox with no --config)")
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument(
        "--port", type=_port_or_any, default=None, help="default 8000; 0: any free one"
    )
    serve.add_argument("--config", type=Path, default=None, help="a TOML settings file")
    serve.add_argument(
        "--workers", type=_workers, default=1, help="uvicorn worker processes (default 1)"
    )
    serve.add_argument(
        "--log-format",
        choices=("json", "console"),
        default=None,
        help="log lines as JSON objects or for a terminal (default: the log_format setting, json)",
    )
    serve.add_argument(
        "--drain-seconds",
        type=_at_least_zero,
        default=None,
        help="on SIGTERM, how long in-flight requests may take to finish (default: the "
        "drain_seconds setting, 20)",
    )
    serve.add_argument(
        "--sandbox-fault",
        action="append",
        default=[],
        help="PROVIDER=KIND[:ARG], e.g. lago=latency:100 (repeatable; see sandbox/faults.py)",
    )
    serve.add_argument(
        "--sandbox-port",
        type=_port_or_any,
        default=0,
        help="the sandbox's port on 127.0.0.1 when no tenants are configured (default: a free one)",
    )
    serve.add_argument(
        "--sandbox-data",
        type=Path,
        default=None,
        help="a JSON file of customer records in each provider's own wire format, served by "
        "the sandbox beside its built-in data (see README)",
    )
    sandbox = commands.add_parser("sandbox", help="run only the Layer, Codat and Lago simulators")
    sandbox.add_argument("--port", type=_port_or_any, default=8100)
    sandbox.add_argument(
        "--fault",
        action="append",
        default=[],
        help="PROVIDER=KIND[:ARG], e.g. lago=latency:100 (repeatable; see sandbox/faults.py)",
    )
    sandbox.add_argument(
        "--sandbox-data",
        type=Path,
        default=None,
        help="a JSON file of customer records in each provider's own wire format, served "
        "beside the built-in data (see README)",
    )
    check = commands.add_parser(
        "check-config", help="validate a settings file: a summary, or every problem at once"
    )
    check.add_argument("file", type=Path, help="a TOML settings file")
    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", type=Path, default=Path("schema.graphql"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    if args.command == "serve":
        return _serve_until_stopped(args)
    if args.command == "sandbox":
        return _sandbox(args.port, args.fault, args.sandbox_data)
    if args.command == "check-config":
        return check_config(args.file)
    return _export(args.output)


class _Terminated(Exception):
    """SIGTERM before the server runs, raised where the process is, so that what it started
    (the sandbox) is stopped on the way out."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    def terminated(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    # While it serves, the server's own handlers take over (_DrainingServer; uvicorn's
    # supervisor with --workers) and put this one back when it has stopped.
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_until_stopped(args: argparse.Namespace) -> int:
    try:
        with _sigterm_unwinds():
            return _serve(args)
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        pass
    # Stopped while starting, with everything it started: end of SIGTERM, as the process
    # would have without the handler. (Once serving, SIGTERM drains and `serve` exits 0.)
    signal.raise_signal(signal.SIGTERM)
    return 143


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, with SIGTERM (or SIGINT) answered by draining: the app turns
    unready (/readyz 503), the port stops accepting, in-flight requests get the config's
    `timeout_graceful_shutdown` to finish, the app's lifespan closes its pools, and `run`
    returns, so the process stops what it started and exits 0. uvicorn's own handling
    would raise the signal again afterwards and end the process of it."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.gateway = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.gateway.state.draining = True
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import create_app

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"customer-gateway: {exc}", file=sys.stderr)
        return 2
    if args.sandbox_fault and not settings.uses_sandbox:
        print("customer-gateway: --sandbox-fault needs the sandbox (no tenants)", file=sys.stderr)
        return 2
    if args.sandbox_data is not None and not settings.uses_sandbox:
        print("customer-gateway: --sandbox-data needs the sandbox (no tenants)", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    served = _Served(
        log_config=logging_config(log_format=args.log_format or settings.log_format),
        access_log=False,  # the gateway's own (gateway/http/access_log.py) replaces it
        timeout_graceful_shutdown=settings.drain_seconds
        if args.drain_seconds is None
        else args.drain_seconds,
    )
    with contextlib.ExitStack() as stack:
        announcement: Path | None = None
        if settings.uses_sandbox:
            try:
                sandbox = stack.enter_context(
                    running_sandbox(args.sandbox_fault, args.sandbox_port, data=args.sandbox_data)
                )
            except (SandboxError, ConfigError) as exc:
                print(f"customer-gateway: {exc}", file=sys.stderr)
                return 2 if isinstance(exc, SandboxError) and exc.exit_status == 2 else 1
            settings = with_demo_tenant(settings, sandbox.tenant)
            announcement = sandbox.announcement
            print(
                "customer-gateway: no tenants configured, serving the demo tenant on the "
                f"sandbox at {sandbox.base_url}",
                flush=True,
            )
        stack.enter_context(metrics_directory(args.workers, os.environ))
        if args.workers > 1:
            return _serve_workers(args, settings, announcement, host, port, served)
        lean_log_records()
        try:
            app = create_app(settings, config_path=args.config)
        except ConfigError as exc:
            print(f"customer-gateway: {exc}", file=sys.stderr)
            return 2
        if settings.graphiql_enabled:
            print(f"customer-gateway: GraphiQL at http://{host}:{port}/graphql", flush=True)
        config = uvicorn.Config(app, host=host, port=port, **served)
        server = _DrainingServer(config, app)
        server.run()
        if not server.started:
            return 3  # uvicorn.run's status for a server that never started
    return 0


class _Served(TypedDict):
    """What every uvicorn server `serve` runs is given, one worker or several."""

    log_config: dict[str, Any]
    access_log: bool
    timeout_graceful_shutdown: int


# How `serve --workers N` hands its arguments to the worker processes uvicorn starts.
_CONFIG_ENV = "CUSTOMER_GATEWAY_CONFIG"
_SANDBOX_ENV = "CUSTOMER_GATEWAY_SANDBOX_ANNOUNCEMENT"
# The variable `Settings.cursor_key` is read from.
CURSOR_KEY_ENV = "GATEWAY_CURSOR_KEY"


def share_cursor_key(settings: Settings, environ: MutableMapping[str, str]) -> None:
    """With no cursor key configured, draw one for all the workers about to start: they read
    it back from the environment they inherit, so a cursor one issues, another accepts. The
    key is never printed or logged; it ends with this `serve`."""
    configured = settings.cursor_key
    if configured is None or not configured.get_secret_value():
        environ[CURSOR_KEY_ENV] = secrets.token_urlsafe(32)


def _serve_workers(
    args: argparse.Namespace,
    settings: Settings,
    announcement: Path | None,
    host: str,
    port: int,
    served: _Served,
) -> int:
    """Several worker processes, each building its own app from the same settings; with no
    tenants, all of them on the one sandbox started for this `serve` (they read its
    announcement). Share a Redis cache between them with `cache.url`."""
    if args.config is not None:
        os.environ[_CONFIG_ENV] = str(args.config.resolve())
    if announcement is not None:
        os.environ[_SANDBOX_ENV] = str(announcement)
    share_cursor_key(settings, os.environ)
    config = uvicorn.Config(
        "gateway.cli:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        **served,
    )
    # What uvicorn.run does for workers, with a supervisor that lets go of the port first.
    _Supervisor(config, sockets=[config.bind_socket()]).run()
    return 0


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, which closes its copy of the listening socket before it
    stops the workers: otherwise the kernel would go on queueing connections that no worker
    accepts any more, left hanging until the supervisor exits, instead of refusing them."""

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()

    def handle_hup(self) -> None:
        """SIGHUP reloads each worker's configuration in place (gateway/reload.py): no worker
        is replaced and no request dropped, and a bad file leaves every worker on the one it
        serves (uvicorn's own SIGHUP would start new workers, which a bad file stops)."""
        for worker in self.processes:
            pid = worker.process.pid
            if pid is not None and worker.process.is_alive():
                os.kill(pid, signal.SIGHUP)


def worker_app() -> Starlette:
    """The app of one `serve --workers N` process."""
    from gateway.app import create_app

    config = os.environ.get(_CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    announcement = os.environ.get(_SANDBOX_ENV)
    if announcement and settings.uses_sandbox:
        settings = with_demo_tenant(settings, read_announcement(Path(announcement)).tenant)
    lean_log_records()
    app = create_app(settings, config_path=Path(config) if config else None)
    _unready_on_signals(app)
    return app


def _unready_on_signals(app: Starlette) -> None:
    """A worker's server (uvicorn's own: its supervisor starts it) has taken SIGTERM and
    SIGINT by the time it builds the app; before its graceful shutdown, mark the app as
    draining too, so /readyz says so."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):
            signal.signal(sig, _draining_first(app, handler))


def _draining_first(
    app: Starlette, handler: Callable[[int, FrameType | None], Any]
) -> Callable[[int, FrameType | None], None]:
    def drain(sig: int, frame: FrameType | None) -> None:
        app.state.draining = True
        handler(sig, frame)

    return drain


def _sandbox(port: int, faults: list[str], data: Path | None) -> int:
    """`python -m sandbox` in this process's place: its output, its signals, its exit status."""
    args = ["--port", str(port)]
    for fault in faults:
        args += ["--fault", fault]
    if data is not None:
        args += ["--data", str(data)]
    command, env = sandbox_command(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)  # noqa: S606 - our own entry point, no shell


def _export(output: Path) -> int:
    from resolvers.schema import build_schema

    try:
        output.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"customer-gateway: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"customer-gateway: wrote {output}")
    return 0


__all__ = ["CURSOR_KEY_ENV", "main", "share_cursor_key", "worker_app"]

if __name__ == "__main__":
    raise SystemExit(main())
