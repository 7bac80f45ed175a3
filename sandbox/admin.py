"""`/_dev/faults` on the sandbox: set or clear a simulator's fault while it runs.

`GET` lists the active faults; `POST {"provider": "lago", "fault": "error:503"}` sets one,
`"fault": null` clears it. The sandbox only ever listens on loopback.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.faults import PROVIDERS, Faults, FaultSpecError, parse_fault

FAULTS_PATH = "/_dev/faults"


class FaultAdmin:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                body = orjson.loads(await request.body())
                provider, fault = body["provider"], body.get("fault")
                if provider not in PROVIDERS:
                    raise FaultSpecError(f"provider must be one of {', '.join(PROVIDERS)}")
                parsed = parse_fault(f"{provider}={fault}")[1] if fault else None
            except (orjson.JSONDecodeError, KeyError, TypeError, FaultSpecError) as exc:
                return JSONResponse(
                    {"error": str(exc) or "send {provider, fault}"}, status_code=400
                )
            self.faults.set(provider, parsed)
        return JSONResponse({p: str(f) for p, f in sorted(self.faults.active.items())})


__all__ = ["FAULTS_PATH", "FaultAdmin"]
