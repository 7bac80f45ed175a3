"""`python -m sandbox`: the Layer, Codat and Lago simulators as a process of their own.

    python -m sandbox [--port 8100] [--fault lago=error:503 ...] [--data FILE]

serves the three simulators on 127.0.0.1 and prints their URLs and sandbox credentials, so a
configured gateway can be pointed at them as at the real providers. Faults can be changed at
run time at `/_dev/faults` (sandbox/admin.py). `--data FILE` serves customer records of your own
in each provider's wire format beside the built-in ones, in the demo account
(sandbox/seed/custom.py); a file that cannot be served stops the start with one line naming it
(exit status 2).

`customer-gateway serve` with no tenants configured starts it as

    python -m sandbox --port 0 --announce FILE --parent-pid PID

and waits for FILE: `{"base_url": ..., "tenant": {...}}` is written there (atomically, readable
by its owner only) once the port accepts connections, where `tenant` is the demo tenant in the
shape of the gateway's tenant settings. Nothing secret is printed in that mode. The sandbox
then belongs to PID: SIGINT and SIGTERM are ignored (the gateway drains its requests first,
and they need the sandbox until the end), and it stops when its standard input closes, which
the gateway does once drained, or when PID is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

import orjson

from sandbox import ACCOUNTS, CODAT_API_KEY, LAYER_CLIENT_ID, LAYER_CLIENT_SECRET, Sandbox
from sandbox.accounts import DEMO_TENANT, tenant_config
from sandbox.admin import FAULTS_PATH
from sandbox.faults import Faults, FaultSpecError, parse_fault
from sandbox.seed.custom import SandboxDataError, load_custom_records
from sandbox.server import run_on_loopback

FAULT_HELP = "PROVIDER=KIND[:ARG], e.g. lago=latency:100 (repeatable; see sandbox/faults.py)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="The Layer, Codat and Lago simulators, on loopback."
    )
    parser.add_argument("--port", type=int, default=8100, help="on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--fault", action="append", default=[], help=FAULT_HELP)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help='JSON {"layer": [...], "codat": [...], "lago": [...]} of customer records in each '
        "provider's wire format, served beside the built-in data of the demo account",
    )
    parser.add_argument(
        "--announce",
        type=Path,
        default=None,
        help="write the base URL and the demo tenant's settings (JSON) here once listening",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="belong to process PARENT_PID: ignore SIGINT and SIGTERM, and stop once standard "
        "input closes or PARENT_PID is no longer this one's parent (is gone)",
    )
    args = parser.parse_args(argv)
    faults = Faults()
    try:
        for spec in args.fault:
            faults.set(*parse_fault(spec))
    except FaultSpecError as exc:
        # A usage error (status 2), worded for whoever passed the spec on: `serve` does.
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        custom = load_custom_records(args.data) if args.data is not None else None
        app = Sandbox(faults=faults, custom=custom).app
    except SandboxDataError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2

    def on_listening(base_url: str) -> None:
        print(f"sandbox: serving on {base_url} (faults at {base_url}{FAULTS_PATH})", flush=True)
        for provider, fault in sorted(faults.active.items()):
            print(f"sandbox: fault {provider}={fault}", flush=True)
        if args.announce is not None:
            _announce(args.announce, base_url)
        else:
            _print_credentials(base_url)

    released = threading.Event()
    if args.parent_pid is not None:
        # The signals are the parent's to answer: a stop of the whole process group or
        # service (systemd sends SIGTERM to every process of it) must not cut the calls of
        # the requests the gateway is still draining. The gateway closes our stdin after.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=_release_at_eof, args=(released,), daemon=True).start()

    def keep_running() -> bool:
        if args.parent_pid is None:
            return True
        return not released.is_set() and os.getppid() == args.parent_pid

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_on_loopback(
                    app,
                    args.port,
                    on_listening,
                    keep_running,
                    on_signals=args.parent_pid is None,
                )
            )
    except OSError as exc:
        print(f"sandbox: cannot serve on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _release_at_eof(released: threading.Event) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdin.buffer.read()
    released.set()


def _announce(path: Path, base_url: str) -> None:
    """Write the announcement whole or not at all: the reader sees the file only once complete."""
    body = orjson.dumps({"base_url": base_url, "tenant": tenant_config(DEMO_TENANT, base_url)})
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    os.replace(partial, path)


def _print_credentials(base_url: str) -> None:
    print(f"sandbox: Layer {base_url}/layer (token URL {base_url}/layer-auth/oauth2/token)")
    print(f"sandbox: Codat {base_url}/codat   Lago {base_url}/lago/api/v1")
    print(f"sandbox: Layer client {LAYER_CLIENT_ID} / {LAYER_CLIENT_SECRET}")
    print(f"sandbox: Codat key {CODAT_API_KEY}")
    for account in ACCOUNTS:
        print(
            f"sandbox: account Layer business {account.layer_business_id}, "
            f"Codat company {account.codat_company_id}, Lago key {account.lago_api_key}"
        )
    sys.stdout.flush()


__all__ = ["main"]
