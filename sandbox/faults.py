"""Faults the sandbox can put in front of any simulator, for tests, benchmarks and demos.

`PROVIDER=KIND[:ARG]`, e.g. `lago=latency:100`:

- `latency:MS`     answer MS milliseconds late
- `error:STATUS`   answer STATUS with the provider's own error body
- `timeout`        accept the request and never answer
- `slowbody:MS`    send the real answer in small pieces, MS milliseconds apart
- `ratelimit:SEC`  429 with the provider's rate-limit headers, come back in SEC seconds
- `malformed`      200 with truncated JSON (`malformed:html`: 200 with an HTML page;
                   `malformed:shape`: 200 with valid JSON that fits no wire model)
- `reset`          start the real answer, then drop the connection
- `flaky:PERCENT`  that share of requests get a 503
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.codat import error_body as codat_error

PROVIDERS = ("layer", "codat", "lago")
KINDS = ("latency", "error", "timeout", "slowbody", "ratelimit", "malformed", "reset", "flaky")
_WITH_NUMBER = frozenset({"latency", "error", "slowbody", "ratelimit", "flaky"})


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    arg: str | None = None

    @property
    def number(self) -> float:
        return float(self.arg or 0)

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg is not None else self.kind


def parse_fault(spec: str) -> tuple[str, Fault]:
    """`"lago=error:503"` → `("lago", Fault("error", "503"))`."""
    provider, _, rest = spec.partition("=")
    kind, _, arg = rest.partition(":")
    provider, kind = provider.strip().lower(), kind.strip().lower()
    if provider not in PROVIDERS:
        raise FaultSpecError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    if kind not in KINDS:
        raise FaultSpecError(f"unknown fault {kind!r}: use one of {', '.join(KINDS)}")
    if kind in _WITH_NUMBER:
        try:
            float(arg)
        except ValueError:
            raise FaultSpecError(f"{kind} needs a number, as in {kind}:100") from None
    if kind == "malformed" and arg not in ("", "json", "html", "shape"):
        raise FaultSpecError("malformed takes json, html or shape")
    return provider, Fault(kind, arg or None)


class Faults:
    """The fault, if any, each provider currently suffers. Changes apply to the next request."""

    def __init__(self, rng: Callable[[], float] | None = None) -> None:
        self.active: dict[str, Fault] = {}
        self.rng = rng or random.Random(20261122).random

    def set(self, provider: str, fault: Fault | None) -> None:
        if fault is None:
            self.active.pop(provider, None)
        else:
            self.active[provider] = fault


def _error_body(provider: str, status: int) -> dict[str, Any]:
    if provider == "codat":
        return codat_error(status, "Injected failure")
    if provider == "lago":
        return {"status": status, "error": "Injected failure"}
    return {"errors": [{"type": "InjectedFailure", "description": "Injected failure"}]}


def _rate_limit_headers(provider: str, seconds: float) -> list[tuple[bytes, bytes]]:
    wait = str(math.ceil(seconds)).encode()
    if provider == "lago":
        # Lago documents no Retry-After: clients back off by X-RateLimit-Reset.
        return [
            (b"x-ratelimit-limit", b"50"),
            (b"x-ratelimit-remaining", b"0"),
            (b"x-ratelimit-reset", wait),
        ]
    if provider == "codat":
        return [
            (b"x-rate-limit-limit", b"2000"),
            (b"x-rate-limit-remaining", b"0"),
            (b"retry-after", wait),
        ]
    return [
        (b"x-ratelimit-limit", b"100"),
        (b"x-ratelimit-remaining", b"0"),
        (b"retry-after", wait),
    ]


class FaultInjector:
    """ASGI middleware: `FaultInjector(simulator_app, "lago", faults)`."""

    def __init__(self, app: ASGIApp, provider: str, faults: Faults) -> None:
        self.app = app
        self.provider = provider
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.faults.active.get(self.provider)
        if scope["type"] != "http" or fault is None:
            await self.app(scope, receive, send)
            return
        kind = fault.kind
        if kind == "latency":
            await asyncio.sleep(fault.number / 1000)
            await self.app(scope, receive, send)
        elif kind == "error":
            await _json(send, int(fault.number), _error_body(self.provider, int(fault.number)))
        elif kind == "flaky":
            if self.faults.rng() * 100 < fault.number:
                await _json(send, 503, _error_body(self.provider, 503))
            else:
                await self.app(scope, receive, send)
        elif kind == "timeout":
            await _never_answer(receive)
        elif kind == "ratelimit":
            refusal = _error_body(self.provider, 429)
            await _json(send, 429, refusal, _rate_limit_headers(self.provider, fault.number))
        elif kind == "malformed":
            status, headers, body = await _capture(self.app, scope, receive)
            if fault.arg == "html":
                page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                await _raw(send, 200, [(b"content-type", b"text/html")], page)
            elif fault.arg == "shape":
                # Parses as JSON, fits none of the provider's wire models.
                await _json(send, 200, {"unexpected": ["shape"]})
            else:
                await _raw(
                    send, 200, [(b"content-type", b"application/json")], body[: len(body) // 2]
                )
        elif kind == "slowbody":
            status, headers, body = await _capture(self.app, scope, receive)
            gone = asyncio.create_task(_never_answer(receive))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            for start in range(0, len(body), 256):
                await asyncio.sleep(fault.number / 1000)
                if gone.done():
                    # The client gave up: stop trickling into a closed connection.
                    return
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[start : start + 256],
                        "more_body": True,
                    }
                )
            await send({"type": "http.response.body", "body": b""})
            gone.cancel()
        elif kind == "reset":
            status, headers, body = await _capture(self.app, scope, receive)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            # The server drops the connection when an app fails mid-body.
            raise ConnectionResetError("sandbox fault: reset")


async def _never_answer(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return started["status"], list(started.get("headers", [])), b"".join(chunks)


async def _json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _raw(
        send, status, [(b"content-type", b"application/json"), *(headers or [])], orjson.dumps(body)
    )


async def _raw(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "KINDS",
    "PROVIDERS",
    "Fault",
    "FaultInjector",
    "FaultSpecError",
    "Faults",
    "parse_fault",
]
