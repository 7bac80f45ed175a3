"""Serving an ASGI app on a loopback port: inside a running event loop (tests: the process's
signals and logging left alone), or as the whole of a process until it is told to stop
(`python -m sandbox`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG


@contextlib.asynccontextmanager
async def serve_on_loopback(app: ASGIApp, port: int = 0) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (`port` 0 picks a free one) and yield its base URL."""
    async with _serving(app, port) as (_server, _task, base_url):
        yield base_url


async def run_on_loopback(
    app: ASGIApp,
    port: int,
    on_listening: Callable[[str], None],
    keep_running: Callable[[], bool] = lambda: True,
    *,
    on_signals: bool = True,
) -> None:
    """Serve `app` on 127.0.0.1:`port` until `keep_running()`, asked twice a second, says no,
    or (`on_signals`) until SIGINT or SIGTERM, uvicorn's own handling; without `on_signals`
    the process's signal handling is left as it is. `on_listening(base_url)` is called once
    the port accepts connections."""
    async with _serving(app, port, on_signals=on_signals, whole_process=True) as (
        server,
        task,
        base_url,
    ):
        on_listening(base_url)
        while not task.done():
            if not keep_running():
                server.should_exit = True
            await asyncio.wait({task}, timeout=0.5)


class _SignalsLeftAlone(uvicorn.Server):
    """A server that installs no signal handlers: whoever runs it decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def _serving(
    app: ASGIApp, port: int, *, on_signals: bool = False, whole_process: bool = False
) -> AsyncIterator[tuple[uvicorn.Server, asyncio.Task[None], str]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        config = uvicorn.Config(
            app,
            log_level="warning",
            # uvicorn's logging setup replaces the process's: only where the sandbox is the
            # whole process, never inside someone else's (a test's, with its log capture).
            log_config=LOGGING_CONFIG if whole_process else None,
            lifespan="off",
            access_log=False,
            # Requests left hanging (the `timeout` fault) must not hold up shutdown.
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config) if on_signals else _SignalsLeftAlone(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                raise OSError(f"could not serve on 127.0.0.1:{port}")
            await asyncio.sleep(0.01)
        try:
            yield server, task, f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
    finally:
        sock.close()


__all__ = ["run_on_loopback", "serve_on_loopback"]
