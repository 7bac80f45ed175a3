"""The soak's standalone sandbox: the three simulators with a fault switch that works at run time.

Run: python3 -m bench.soak_sandbox --port P

`customer-gateway sandbox --fault ...` fixes its faults when it starts and has no admin route;
the soak flaps one provider while it runs, so this process serves the same `Sandbox` plus
the `FaultAdmin` route the gateway mounts in sandbox mode, at `/_dev/sandbox/faults`
(`POST {"provider": "lago", "fault": "error:503"}`, `"fault": null` clears). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from sandbox import Sandbox
from sandbox.admin import FaultAdmin
from sandbox.server import serve_on_loopback

FAULTS_PATH = "/_dev/sandbox/faults"


def sandbox_app(sandbox: Sandbox) -> Starlette:
    """The simulators at their usual mount points, and the fault switch beside them."""
    admin = FaultAdmin(sandbox.faults)
    return Starlette(
        routes=[
            Route(FAULTS_PATH, admin.handle, methods=["GET", "POST"]),
            Mount("/", app=sandbox.app),
        ]
    )


async def _serve(port: int) -> None:
    async with serve_on_loopback(sandbox_app(Sandbox()), port) as base_url:
        print(f"soak sandbox: {base_url} (faults at {base_url}{FAULTS_PATH})", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


__all__ = ["FAULTS_PATH", "sandbox_app"]

if __name__ == "__main__":
    main()
